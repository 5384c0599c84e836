"""The augmentation ablation of docs/augmentation.md, end to end, through the CLI.

PointPillars-lite trained three times with the same model, data, budget and seed, differing
only in the ``augmentation:`` section (configs/experiments/ablation_augment_*.yaml):
(a) none, (b) naive paste + global transforms, (c) the physically consistent set + global
transforms (``--arms`` can add global_only and physical_paste_only); each evaluated (official
KITTI protocol) on the val split and on a foggy copy of it (fog of MOR ``--fog-mor`` metres,
`perception3d weather`). Steps already done (database, foggy
copy, checkpoints, predictions) are reused, so an interrupted run resumes.

    nice -n 10 python tools/ablation_augment.py --data-root data/synthkitti \\
        --out outputs/ablation_augment [--set train.epochs=4 --set data.max_train_frames=400]

Writes ``OUT/ablation.json`` and ``OUT/ablation.md`` (3D and BEV AP, R40, moderate).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from perception3d.cli import main as cli

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "experiments"
ARMS = ("none", "naive_paste", "physical")  # also: global_only, physical_paste_only
OVERLAP = {"Car": "0.7", "Pedestrian": "0.5", "Cyclist": "0.5"}  # the benchmark's set


def run(argv: list[str]) -> None:
    print("$ perception3d " + " ".join(argv), flush=True)
    if cli(argv) != 0:
        raise SystemExit(f"perception3d {argv[0]} failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, required=True, help="KITTI-layout root")
    parser.add_argument("--out", type=Path, default=Path("outputs/ablation_augment"))
    parser.add_argument("--fog-mor", type=float, default=50.0, help="foggy val MOR, m")
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated arms")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override for every arm (e.g. train.epochs=4)")  # fmt: skip
    args = parser.parse_args(argv)
    root, out = args.data_root.resolve(), args.out.resolve()
    database = root / "gt_database" / "train"
    if not (database / "index.json").is_file():
        run(["create-db", "--data-root", str(root), "--split", "train"])
    foggy = out / f"val_fog{args.fog_mor:g}"
    if not (foggy / "weather.json").is_file():
        run(["weather", "--data-root", str(root), "--out", str(foggy), "--split", "val",
             "--fog-mor", str(args.fog_mor)])  # fmt: skip
    table: dict = {}
    for arm in args.arms.split(","):
        config = CONFIGS / f"ablation_augment_{arm}.yaml"
        pastes = (
            (yaml.safe_load(config.read_text())["augmentation"].get("physical") or {})
            .get("paste", {})
            .get("database")
        )
        sets = [f"augmentation.physical.paste.database={database}"] if pastes else []
        sets += args.set
        set_args = [a for s in sets for a in ("--set", s)]
        arm_dir = out / arm
        checkpoint = arm_dir / "latest.pt"
        if not checkpoint.is_file():
            run(["train", str(config), "--data-root", str(root), "--out", str(arm_dir),
                 "--no-progress", *set_args])  # fmt: skip
        for name, data in (("val", root), (f"val_fog{args.fog_mor:g}", foggy)):
            pred, metrics = arm_dir / f"pred_{name}", arm_dir / f"metrics_{name}.json"
            if not metrics.is_file():
                run(["infer", str(config), str(checkpoint), "--data-root", str(data), "--split",
                     "val", "--out", str(pred), "--overwrite", *set_args])  # fmt: skip
                run(["eval", "kitti", "--gt-dir", str(data), "--pred-dir", str(pred), "--split",
                     str(data / "ImageSets" / "val.txt"), "--out", str(metrics)])  # fmt: skip
            result = json.loads(metrics.read_text())
            table.setdefault(arm, {})[name] = {
                cls: {metric: result[cls]["R40"][f"{metric}@{OVERLAP[cls]}"][1]
                      for metric in ("3d", "bev")}
                for cls in OVERLAP if cls in result
            }  # fmt: skip
    lines = _markdown(table, args)
    (out / "ablation.json").write_text(json.dumps({"ap_r40_moderate": table, "set": args.set},
                                                  indent=2) + "\n")  # fmt: skip
    (out / "ablation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def _markdown(table: dict, args) -> list[str]:
    sets = list(next(iter(table.values())).keys()) if table else []
    classes = list(OVERLAP)
    head = "| arm | " + " | ".join(f"{s} {c} 3D / BEV" for s in sets for c in classes) + " |"
    lines = [f"AP R40, moderate (3D / BEV, %); overrides: {args.set or 'none'}", "", head,
             "|" + "---|" * (1 + len(sets) * len(classes))]  # fmt: skip
    for arm, by_set in table.items():
        cells = []
        for s in sets:
            for c in classes:
                v = by_set[s].get(c)
                cells.append("-" if v is None else f"{v['3d']:.2f} / {v['bev']:.2f}")
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    sys.exit(main())
