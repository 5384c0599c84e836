"""Pseudo-labels from a camera teacher: a 2D image detector lifted to 3D boxes by a Frustum
PointNet (`perception3d.engine.frustum_infer`), run on unlabelled real sweeps that have their
own ``image_2`` and ``calib``.

Unlike the LiDAR teacher of :mod:`perception3d.experiments.sim2real.pseudo`, this teacher finds
objects in the image, so what it labels does not depend on how the synthetic LiDAR scenes look
(the frustum stage still reads the real points). It sees only the camera's view: each sweep is
labelled once, in its own camera field of view and with its own calibration (no turned views).
Its 3D boxes become label rows exactly as the LiDAR teacher's do
(:func:`perception3d.experiments.sim2real.pseudo.label_rows`): at or above the class's
``positive_score`` an object, between ``ignore_score`` and that a DontCare row carrying the 3D
box, below nothing. No label of a real frame is read: a root with ``label_2`` is refused.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from perception3d.atomic import atomic_write_text, replace_symlink
from perception3d.data.kitti import KittiObject, write_label_file, write_result_file
from perception3d.data.kitti_labels import RESULT_DECIMALS
from perception3d.experiments.sim2real.pseudo import PseudoConfig, label_rows, refuse_used_root

__all__ = ["camera_frames", "label_with_camera_teacher", "make_camera_pseudo_root"]

_FILES = (("velodyne", "bin"), ("calib", "txt"), ("image_2", "png"))


def camera_frames(real_roots: list[Path]) -> list[tuple[int, str]]:
    """``(root index, frame id)`` of every frame of the unlabelled ``real_roots`` that has a
    velodyne sweep, a calibration and a left image; a root with ``label_2`` is refused."""
    frames = []
    for r, root in enumerate(real_roots):
        split = Path(root) / "training"
        if (split / "label_2").is_dir():
            raise ValueError(f"{root}: has label_2; pseudo-labels are made from unlabelled roots")
        if not (split / "velodyne").is_dir():
            raise FileNotFoundError(f"{split / 'velodyne'}: no velodyne folder")
        for path in sorted((split / "velodyne").glob("*.bin")):
            if all((split / d / f"{path.stem}.{s}").is_file() for d, s in _FILES[1:]):
                frames.append((r, path.stem))
    return frames


def label_with_camera_teacher(
    root: str | Path, ids: list[str], det2d: str | Path, model3d: str | Path | None = None
) -> dict[str, list[KittiObject]]:
    """The teacher's scored 3D detections (KITTI objects, camera frame) of frames ``ids`` of
    the KITTI-layout ``root``: the 2D detector ``det2d`` (a checkpoint or a detector2d YAML
    such as ``configs/frustum/detector2d_nanodet.yaml``) on the whole image, no horizon
    windows, lifted by the frustum stage ``model3d`` (None: the shipped one)."""
    from perception3d.data.kitti import KittiObjectDataset
    from perception3d.engine.frustum_infer import (
        SHIPPED_FRUSTUM,
        load_detector2d,
        load_frustum_model,
        predict_frustum,
    )

    model2d = load_detector2d(det2d)[0]
    model = load_frustum_model(model3d or SHIPPED_FRUSTUM)
    out = {}
    for frame in KittiObjectDataset(root, "training", ids=ids):
        if frame.image is None:
            raise FileNotFoundError(f"{root}: frame {frame.frame_id} has no image_2")
        out[frame.frame_id] = predict_frustum(
            model2d, model, frame.image, frame.points, frame.calib, tiles=None
        )
    return out


def make_camera_pseudo_root(
    real_roots: list[Path],
    out: str | Path,
    cfg: PseudoConfig,
    det2d: str | Path,
    model3d: str | Path | None = None,
    heldout: tuple[str, ...] = (),
) -> dict:
    """Write the camera teacher's pseudo-labels of every frame of ``real_roots`` that has an
    image and a calibration to the KITTI-layout root ``out``: links to its velodyne, calib and
    image_2 (ids ``c<root>_<frame>``), ``label_2`` rows by ``cfg`` (its rotations are unused),
    the teacher's scored detections in ``teacher/``, ``ImageSets/train.txt`` (all frames
    but ``heldout`` ones, given as frame ids), ``ImageSets/heldout.txt`` and
    ``pseudo_labels.json`` (counts per frame and settings); return that summary."""
    roots, out = [Path(r) for r in real_roots], Path(out)
    refuse_used_root(out)
    frames = camera_frames(roots)
    if not frames:
        raise ValueError(f"{[str(r) for r in roots]}: no frame with velodyne, calib and image_2")
    missing = set(heldout) - {fid for _, fid in frames}
    if missing:
        raise ValueError(f"heldout frames {sorted(missing)} are not among the labelled frames")
    ids = []
    for r, fid in frames:
        ids.append(f"c{r}_{fid}")
        for folder, suffix in _FILES:
            src = roots[r] / "training" / folder / f"{fid}.{suffix}"
            replace_symlink(src, out / "training" / folder / f"{ids[-1]}.{suffix}")
    detections = label_with_camera_teacher(out, ids, det2d, model3d)
    per_frame: dict[str, dict[str, int]] = {}
    for fid in ids:
        # the teacher's rows as `frustum infer` writes them; its labels at the same precision
        write_result_file(out / "teacher" / f"{fid}.txt", detections[fid])
        rows = label_rows(detections[fid], cfg)
        write_label_file(out / "training" / "label_2" / f"{fid}.txt", rows, RESULT_DECIMALS)
        per_frame[fid] = {}
        for row in rows:
            per_frame[fid][row.type] = per_frame[fid].get(row.type, 0) + 1
    held = [i for i, (_, fid) in zip(ids, frames, strict=True) if fid in heldout]
    train = [i for i in ids if i not in held]
    atomic_write_text(out / "ImageSets" / "train.txt", "".join(f"{i}\n" for i in train))
    atomic_write_text(out / "ImageSets" / "heldout.txt", "".join(f"{i}\n" for i in held))
    rows_total: dict[str, int] = {}
    for counts in per_frame.values():
        for kind, n in counts.items():
            rows_total[kind] = rows_total.get(kind, 0) + n
    summary = {
        "teacher": {"det2d": str(det2d), "model3d": str(model3d or "shipped")},
        "real_roots": [str(r) for r in roots],
        "views": len(train),
        "heldout": held,
        "rows": rows_total,
        "rows_per_frame": per_frame,
        "config": {k: v for k, v in asdict(cfg).items() if k != "rotations_deg"},
    }
    atomic_write_text(out / "pseudo_labels.json", json.dumps(summary, indent=1) + "\n")
    return summary
