"""``python tools/record_training_frames.py [--check]``: write (or, with ``--check``, compare)
the ``training_frames`` record of every shipped weight file's JSON
(``perception3d/assets/weights/<name>.json``; ``perception3d.data.training_frames``).

The table below is the one place that says which synthetic frames each shipped file was trained
on (from perception3d/assets/weights/README.md and docs/isp.md); the ids of a split are drawn
here with the generator's own per-frame rule (``perception3d.sim.frame.frame_split``) and
stored exactly in the JSON, so a later change of that rule cannot change a record silently.
A new weight file: add its row, run this, commit the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from perception3d.atomic import atomic_write_text
from perception3d.data.training_frames import RECORD_KEY, source_record
from perception3d.sim.frame import frame_split

WEIGHTS = Path(__file__).resolve().parents[1] / "perception3d" / "assets" / "weights"


def split(seed: int, frames: int, val_fraction: float, name: str = "train") -> dict:
    """The ``name`` split of ``perception3d synth --frames FRAMES --seed SEED --set
    val_fraction=V``."""
    ids = [i for i in range(frames) if frame_split(seed, i, val_fraction) == name]
    rule = f"{name} split of perception3d synth --frames {frames} --seed {seed}"
    rule += "" if val_fraction == 0.5 else f" --set val_fraction={val_fraction:g}"
    return source_record(seed, frames, ids, rule)


def first_of_split(seed: int, frames: int, val_fraction: float, n: int) -> dict:
    """The first ``n`` frames of the train split (``data.max_train_frames: n``)."""
    ids = [i for i in range(frames) if frame_split(seed, i, val_fraction) == "train"][:n]
    rule = (f"the first {n} frames of the train split of perception3d synth --frames {frames} "
            f"--seed {seed} --set val_fraction={val_fraction:g}")  # fmt: skip
    return source_record(seed, frames, ids, rule)


def first(seed: int, frames: int, n: int, note: str = "") -> dict:
    """Frames 0 .. n-1 of a set of ``frames`` frames."""
    rule = f"frames 000000-{n - 1:06d} of perception3d synth --frames {frames} --seed {seed}"
    return source_record(seed, frames, range(n), rule + (f" ({note})" if note else ""))


# The synthetic set every detector, the segmentation net and Frustum PointNet trained on
# (2,097 train / 303 val frames).
SEED1000_OLD = split(1000, 2400, 0.125)
PROCEDURAL = "procedural street scenes (perception3d/isp/scenes.py)"
RECORDS = {
    # Retrained on the issue-15 generator, the same 2,097 frame ids (20 epochs, then in session
    # 11 six more reading no intensity, with upper-part dropout: docs/sim2real.md row 25; then
    # in session 15 six more on the same ids generated with crowds: row 42).
    "pointpillars_lite_synth": (
        [SEED1000_OLD],
        "row 42 of docs/sim2real.md (session 15): row 20's 20 epochs, 6 geometry-only epochs "
        "on the same frames (row 25), then 6 on the same frame ids generated with "
        "objects.crowd_probability=0.2",
    ),
    "segnet_synth": ([SEED1000_OLD], ""),
    "segnet_mnv2_synth": (
        [SEED1000_OLD],
        "session 10, the frames as today's generator makes them; ImageNet MobileNetV2 encoder "
        "weights (frozen)",
    ),
    "pointpainting_lite_synth": (
        [SEED1000_OLD],
        "fine-tuned from row 21's pointpillars_lite_synth.pt (same frames), session 9; then in "
        "session 18 six more epochs on the same frame ids generated with "
        "objects.crowd_probability=0.2 (row 42's frames)",
    ),
    "pointpillars_lite_ft_synth": (
        [SEED1000_OLD],
        "fine-tuned from row 21's pointpillars_lite_synth.pt (same frames), session 9; then in "
        "session 18 six more epochs on the same frame ids generated with "
        "objects.crowd_probability=0.2 (row 42's frames)",
    ),
    # PointPainting painted from NanoDet's 2D boxes (docs/fusion.md, session 10): fine-tuned
    # from session 9's pointpainting_lite_synth.pt (its 2,097 frames above) on the first 1,000
    "pointpainting_lite_boxes_synth": (
        [first_of_split(1000, 2400, 0.125, 1000)],
        "fine-tuned from session 9's pointpainting_lite_synth.pt (the 2,097 train frames of the "
        "same set), session 10; painted from the COCO-pretrained NanoDet's boxes (no synthetic "
        "2D label)",
    ),
    "frustum_detector2d_synth": ([SEED1000_OLD], ""),
    "frustum_pointnet_synth": (
        [SEED1000_OLD],
        "session 19: the same frame ids generated with objects.crowd_probability=0.2 (row 42's "
        "frames), each object's 2D box the dense 2D detector's matching detection",
    ),
    "frustum_detector2d_dr": (
        [first(5100, 600, 600), first(7, 600, 497), first(1818, 1400, 70)],
        "ImageNet MobileNetV2 encoder weights (frozen)",
    ),
    "frustum_detector2d_zoom": (
        [first_of_split(1000, 2400, 0.125, 1400)],
        "ImageNet MobileNetV2 encoder weights (frozen)",
    ),
    "frustum_detector2d_dense": (
        [first_of_split(1000, 2400, 0.125, 1400)],
        "ImageNet MobileNetV2 encoder weights (frozen)",
    ),
    "isp_raw": (
        [split(0, 48, 0.5)],
        f"{PROCEDURAL}; the two sample KITTI photographs, unprocessed",
    ),
    "isp_hdr": (
        [split(0, 48, 0.5), first(7, 600, 540, "the response estimator; 400 for the highlights")],
        PROCEDURAL,
    ),
    "isp_dehaze": (
        [split(0, 400, 0.5)],
        f"{PROCEDURAL}; the two sample KITTI photographs, unprocessed",
    ),
    # The SR networks: crops of the first 200 train frames of the 2,400-frame set (docs/sr.md).
    "sr_espcn_x2": ([first_of_split(1000, 2400, 0.125, 200)], ""),
    "sr_srcnn_x2": ([first_of_split(1000, 2400, 0.125, 200)], ""),
    "sr_espcn_x4": ([first_of_split(1000, 2400, 0.125, 200)], ""),
    # the low-light enhancer (docs/isp.md): the 2,097 train frames of the 2,400-frame set of
    # seed 1000 as today's generator renders it (glass and cabin; docs/sim2real.md rows 19-22)
    "isp_lowlight": ([SEED1000_OLD], "the generator of session 7 (car glass and cabin)"),
    # the temporal stage (docs/isp.md): started from isp_raw.pt, so its frames are inherited
    "isp_temporal": (
        [split(0, 48, 0.5)],
        "started from isp_raw.pt (its frames above, procedural scenes, the two sample "
        "photographs); crops of the 4 drives x 40 frames of perception3d synth-drive --seed 0 "
        "--set scene.night_probability=0 (drive frames, not perception3d synth frames)",
    ),
}


def record(name: str) -> dict:
    sources, other = RECORDS[name]
    out = {"sources": sources}
    if other:
        out["other"] = other
    return out


def _dump(doc: dict, like: str) -> str:
    """``doc`` as JSON in the layout of the file's text ``like`` (its indent, its final
    newline), so that adding the record changes no other line."""
    old = json.loads(like) if like else None
    indent = next((i for i in (2, 1, 4) if old is not None and json.dumps(old, indent=i) ==
                   like.rstrip("\n")), 1)  # fmt: skip
    return json.dumps(doc, indent=indent) + ("\n" if not like or like.endswith("\n") else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    missing = sorted(p.stem for p in WEIGHTS.glob("*.pt") if p.stem not in RECORDS)
    if missing:
        print(f"no row for {missing}: add them to RECORDS", file=sys.stderr)
        return 1
    stale = []
    for name in RECORDS:
        path = WEIGHTS / f"{name}.json"
        text = path.read_text() if path.is_file() else ""
        doc = json.loads(text) if text else {"file": f"{name}.pt"}
        if doc.get(RECORD_KEY) == record(name):
            continue
        stale.append(name)
        if not args.check:
            doc[RECORD_KEY] = record(name)
            atomic_write_text(path, _dump(doc, text))
            print(f"wrote {path}")
    if args.check and stale:
        print(f"records differ from the table: {stale}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
