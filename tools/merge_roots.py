"""One KITTI-layout root made of links to the frames of several others: a training set grown
from several synthetic runs (docs/sim2real.md, "Row 53"), or synthetic frames beside others.

Usage:
    python tools/merge_roots.py OUT --part ROOT SPLIT OFFSET [--part ROOT SPLIT OFFSET ...]
        [--split-name train]

Each ``--part`` takes the frames of ``ROOT``'s split ``SPLIT`` (an ImageSets name or a ``.txt``
split file) and renames frame ``i`` to ``i + OFFSET`` (six digits, as KITTI's). Every folder of
``ROOT/training`` is linked file by file (absolute symbolic links; the frames are not copied).
OUT gets ``ImageSets/<split-name>.txt`` (the parts' frames in order) and ``merge.json`` (each
part: root, split, offset, frame count). Two parts giving the same new id, a frame without a
sweep or a label, and an OUT that already exists are refused by name. OUT is built beside
itself and renamed into place at the end, so an interrupted run leaves no partial root.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from perception3d.atomic import replace_symlink
from perception3d.data.kitti import read_split_file, split_path

REQUIRED = ("velodyne", "label_2")  # every frame of a part must have these


@dataclass(frozen=True)
class Part:
    """Frames ``split`` of ``root``, renamed by ``offset``."""

    root: Path
    split: str
    offset: int


def _frame_files(folder: Path) -> dict[str, Path]:
    """``{frame id: file}`` of one ``training/<sub>`` folder (the stem is the frame id)."""
    return {p.stem: p for p in folder.iterdir() if p.is_file() or p.is_symlink()}


def merge_roots(out: Path, parts: list[Part], split_name: str = "train") -> list[str]:
    """Write OUT as a root of links to the parts' frames; returns the new frame ids in order.

    Raises:
        FileExistsError: OUT exists.
        ValueError: a frame id out of KITTI's six digits after its offset, two parts giving the
            same id, or a frame without a sweep or label (the file and frame are named).
    """
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; merge_roots writes a new root")
    seen: dict[str, Part] = {}
    plan: list[tuple[Part, str, str]] = []  # (part, old id, new id)
    for part in parts:
        for old in read_split_file(split_path(part.root, part.split)):
            new_number = int(old) + part.offset
            if not 0 <= new_number <= 999_999:
                raise ValueError(
                    f"{part.root}: frame {old} + offset {part.offset} = {new_number} is not a "
                    "six-digit KITTI frame id"
                )
            new = f"{new_number:06d}"
            if new in seen:
                raise ValueError(
                    f"frame id {new} comes from both {seen[new].root} (split {seen[new].split}) "
                    f"and {part.root} (split {part.split}, frame {old}); give the parts "
                    "offsets that keep their ids apart"
                )
            seen[new] = part
            plan.append((part, old, new))

    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        folders: dict[Path, dict[str, dict[str, Path]]] = {}  # root -> folder -> id -> file
        for part in parts:
            if part.root in folders:
                continue
            subs = sorted(p.name for p in (part.root / "training").iterdir() if p.is_dir())
            missing = [s for s in REQUIRED if s not in subs]
            if missing:
                raise ValueError(f"{part.root / 'training'}: no {', '.join(missing)} folder")
            folders[part.root] = {s: _frame_files(part.root / "training" / s) for s in subs}
        for part, old, new in plan:
            for sub, by_id in folders[part.root].items():
                src = by_id.get(old)
                if src is None:
                    if sub in REQUIRED:
                        raise ValueError(
                            f"{part.root / 'training' / sub}: no file for frame {old} of split "
                            f"{part.split}"
                        )
                    continue
                replace_symlink(src, tmp / "training" / sub / f"{new}{src.suffix}")
        (tmp / "ImageSets").mkdir()
        new_ids = [new for _, _, new in plan]
        (tmp / "ImageSets" / f"{split_name}.txt").write_text("\n".join(new_ids) + "\n")
        record = [
            {
                "root": str(p.root.resolve()),
                "split": p.split,
                "offset": p.offset,
                "frames": sum(1 for q, _, _ in plan if q is p),
            }
            for p in parts
        ]
        (tmp / "merge.json").write_text(json.dumps({"parts": record}, indent=2) + "\n")
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return new_ids


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="the new root (must not exist)")
    ap.add_argument(
        "--part", nargs=3, action="append", required=True, metavar=("ROOT", "SPLIT", "OFFSET"),
        help="frames of ROOT's SPLIT, ids shifted by OFFSET (repeatable)",
    )  # fmt: skip
    ap.add_argument("--split-name", default="train", help="ImageSets name of the merged list")
    args = ap.parse_args(argv)
    parts = []
    for root, split, offset in args.part:
        try:
            parts.append(Part(Path(root), split, int(offset)))
        except ValueError:
            ap.error(f"--part {root} {split} {offset}: OFFSET must be an integer")
    ids = merge_roots(args.out, parts, args.split_name)
    print(f"{args.out}: {len(ids)} frames in ImageSets/{args.split_name}.txt")


if __name__ == "__main__":
    main()
