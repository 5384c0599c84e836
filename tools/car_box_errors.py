"""Where a detector's boxes miss labelled objects: for every counted object of a class and
difficulty (KITTI's rules: `perception3d.data.kitti_labels.kitti_difficulty`), the prediction of
that class with the highest BEV IoU (the nearest one when none overlaps), its score, BEV and 3D IoU,
its offsets in the label box's frame (along the line of sight from the sensor, sideways, height;
size; heading), and the 3D IoU it would reach with one error removed (centre, z, size or heading
set to the label's). Analysis of labelled frames only: nothing is fitted (docs/sim2real.md, "Why
real Car 3D@0.7 stays low").

Usage:
    python tools/car_box_errors.py ROOT PRED_DIR [PRED_DIR ...] [--split val] [--cls Car]
        [--difficulty moderate] [--json OUT.json]

PRED_DIR holds KITTI result files (``<id>.txt`` with a score column, as `perception3d infer`
writes them); a frame without a file has no predictions.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from perception3d.data.kitti import read_split_file, read_velodyne, split_path
from perception3d.data.kitti_labels import KittiObject, kitti_difficulty, read_label_file
from perception3d.eval.kitti_protocol import DIFFICULTIES
from perception3d.geometry.boxes import points_in_boxes
from perception3d.geometry.calib import Calibration, boxes_cam_to_lidar
from perception3d.geometry.iou import bev_iou_cam, iou3d_cam

FIXES = ("centre", "z", "size", "heading")


@dataclass(frozen=True)
class BoxError:
    """One labelled object against its best-BEV-IoU prediction (camera frame, metres, rad).

    ``along_m`` is the predicted centre's offset from the label's along the horizontal line of
    sight (positive: farther from the sensor), ``side_m`` across it, ``dz_m`` in height (camera
    y points down, so positive = lower); ``d_lwh_m`` predicted minus label size; ``d_heading_rad``
    wrapped to [-pi, pi). ``iou3d_fixed`` maps each of ``FIXES`` to the 3D IoU with that part set
    to the label's. With no prediction of the class in the frame, ``score`` is None and every
    overlap 0."""

    frame: str
    index: int
    distance_m: float
    points: int
    score: float | None
    bev_iou: float
    iou3d: float
    along_m: float
    side_m: float
    dz_m: float
    d_lwh_m: tuple[float, float, float]
    d_heading_rad: float
    iou3d_fixed: dict[str, float]


def box_error(
    label_cam: np.ndarray, pred_cam: np.ndarray, frame: str = "", index: int = 0, points: int = 0
) -> BoxError:
    """Errors of one predicted box against one label box, both KITTI camera-frame
    ``[x, y, z (bottom centre), l, h, w, ry]``."""
    g = np.asarray(label_cam, np.float64).reshape(7)
    p = np.asarray(pred_cam, np.float64).reshape(7)
    sight = g[[0, 2]] / max(float(np.hypot(g[0], g[2])), 1e-9)  # unit vector in the x-z plane
    d = p[[0, 2]] - g[[0, 2]]
    fixed = {}
    for fix in FIXES:
        q = p.copy()
        if fix == "centre":
            q[[0, 2]] = g[[0, 2]]
        elif fix == "z":
            q[1] = g[1]
        elif fix == "size":
            q[3:6] = g[3:6]
        else:
            q[6] = g[6]
        fixed[fix] = float(iou3d_cam(g[None], q[None])[0, 0])
    return BoxError(
        frame=frame,
        index=index,
        distance_m=float(np.hypot(g[0], g[2])),
        points=points,
        score=None,
        bev_iou=float(bev_iou_cam(g[None], p[None])[0, 0]),
        iou3d=float(iou3d_cam(g[None], p[None])[0, 0]),
        along_m=float(d @ sight),
        side_m=float(d[0] * sight[1] - d[1] * sight[0]),
        dz_m=float(p[1] - g[1]),
        d_lwh_m=(float(p[3] - g[3]), float(p[4] - g[4]), float(p[5] - g[5])),
        d_heading_rad=float((p[6] - g[6] + np.pi) % (2 * np.pi) - np.pi),
        iou3d_fixed=fixed,
    )


def _counted(objects: list[KittiObject], cls: str, difficulty: int) -> list[KittiObject]:
    """The objects of ``cls`` that KITTI counts at ``difficulty`` (or an easier one)."""
    return [o for o in objects if o.type == cls and 0 <= kitti_difficulty(o) <= difficulty]


def frame_errors(
    root: Path, frame: str, pred_dir: Path, cls: str = "Car", difficulty: int = 1
) -> list[BoxError]:
    """`BoxError` of every counted ``cls`` object of ``frame`` of the KITTI root against the
    predictions of ``pred_dir``; ``points`` counts the LiDAR returns inside the label box."""
    labels = _counted(
        read_label_file(root / "training" / "label_2" / f"{frame}.txt"), cls, difficulty
    )
    if not labels:
        return []
    pred_path = pred_dir / f"{frame}.txt"
    preds = [o for o in read_label_file(pred_path) if o.type == cls] if pred_path.exists() else []
    label_cam = np.array([o.box_cam for o in labels], np.float64)
    calib = Calibration.from_file(root / "training" / "calib" / f"{frame}.txt")
    points = read_velodyne(root / "training" / "velodyne" / f"{frame}.bin")
    inside = points_in_boxes(points[:, :3], boxes_cam_to_lidar(label_cam, calib))
    counts = np.bincount(inside[inside >= 0], minlength=len(labels))
    out = []
    if preds:
        pred_cam = np.array([o.box_cam for o in preds], np.float64)
        bev = bev_iou_cam(label_cam, pred_cam)
    for k, g in enumerate(label_cam):
        if not preds:
            zero = {fix: 0.0 for fix in FIXES}
            out.append(BoxError(frame, k, float(np.hypot(g[0], g[2])), int(counts[k]), None,
                                0.0, 0.0, 0.0, 0.0, 0.0, (0.0, 0.0, 0.0), 0.0, zero))  # fmt: skip
            continue
        if bev[k].max() > 0:
            j = int(np.argmax(bev[k]))
        else:  # no overlap: the nearest prediction, so the offsets say how far off it is
            j = int(np.argmin(np.hypot(*(pred_cam[:, [0, 2]] - g[[0, 2]]).T)))
        err = box_error(g, pred_cam[j], frame, k, int(counts[k]))
        out.append(replace(err, score=preds[j].score))
    return out


def summary(errors: list[BoxError], matched_iou: float = 0.5, good_iou: float = 0.7) -> dict:
    """Over the objects matched at BEV IoU >= ``matched_iou``: how many, how many reach 3D IoU
    ``good_iou``, how many of the others each single fix lifts to it, and the median offsets."""
    m = [e for e in errors if e.bev_iou >= matched_iou]
    short = [e for e in m if e.iou3d < good_iou]
    out = {"objects": len(errors), "matched": len(m), "good": len(m) - len(short)}
    out["lifted_by"] = {f: sum(e.iou3d_fixed[f] >= good_iou for e in short) for f in FIXES}
    for key in ("along_m", "side_m", "dz_m", "d_heading_rad"):
        out[f"median_{key}"] = float(np.median([getattr(e, key) for e in m])) if m else None
    return out


def _row(e: BoxError) -> str:
    if e.score is None:
        return f"{e.frame} #{e.index} {e.distance_m:5.1f} m {e.points:5d} pts | no prediction"
    fixed = " ".join(f"{f} {e.iou3d_fixed[f]:.2f}" for f in FIXES)
    return (
        f"{e.frame} #{e.index} {e.distance_m:5.1f} m {e.points:5d} pts | score {e.score:.2f} "
        f"BEV {e.bev_iou:.2f} 3D {e.iou3d:.2f} | along {e.along_m:+.2f} side {e.side_m:+.2f} "
        f"dz {e.dz_m:+.2f} dlwh {e.d_lwh_m[0]:+.2f} {e.d_lwh_m[1]:+.2f} {e.d_lwh_m[2]:+.2f} "
        f"dyaw {e.d_heading_rad:+.2f} | 3D with one fix: {fixed}"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=Path, help="KITTI root with training/label_2 and velodyne")
    ap.add_argument("pred_dirs", type=Path, nargs="+", help="folders of KITTI result files")
    ap.add_argument(
        "--split", default="val", help="ImageSets/<split>.txt (default val), or a split file"
    )
    ap.add_argument("--cls", default="Car", help="KITTI class (default Car)")
    ap.add_argument("--difficulty", default="moderate", choices=DIFFICULTIES)
    ap.add_argument("--json", type=Path, help="also write every row and the summaries here")
    args = ap.parse_args(argv)
    split = split_path(args.root, args.split)
    if not split.is_file():
        ap.error(f"--split: {split} not found (an ImageSets name such as val, or a .txt file)")
    frames = read_split_file(split)
    difficulty = DIFFICULTIES.index(args.difficulty)
    report = {}
    for pred_dir in args.pred_dirs:
        errors = [
            e for f in frames for e in frame_errors(args.root, f, pred_dir, args.cls, difficulty)
        ]
        print(f"== {pred_dir}")
        for e in errors:
            print(_row(e))
        s = summary(errors)
        print(f"summary: {json.dumps(s)}")
        report[str(pred_dir)] = {"rows": [asdict(e) for e in errors], "summary": s}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
