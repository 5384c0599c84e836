"""Adaptation without labels: pseudo-labelled real sweeps (self-training, as ST3D, Yang et al.
CVPR 2021, does it for domain shifts), mixed into a synthetic training set.

1. Every unlabelled real sweep is turned about the sensor's z axis by each of
   ``rotations_deg`` (a full sweep holds four or more camera-sized views; KITTI's camera
   calibration, 000008's, is written for all of them) and written to a KITTI-layout root.
2. A teacher detector runs on each view's camera field of view. Its detections become label
   rows: at or above the class's ``positive_score``, an object of that class (a real car as the
   real sensor sees it); between ``ignore_score`` and that, a DontCare row with the detection's
   3D box: a region where the student's background anchors get no loss
   (`perception3d.models.anchors.IGNORE_REGION`; KITTI's own DontCare rows carry no 3D box);
   everything else is background, so real hedges, fences and walls teach what is not a car.
3. :func:`mix_roots` links the synthetic frames and the pseudo-labelled views into one root, the
   views repeated ``repeat`` times in ``ImageSets/train.txt`` (each repetition draws its own
   augmentation); ``val.txt`` stays synthetic.

No label of a real frame is read: the roots given must be unlabelled ones (a ``label_2``
folder is refused).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text, replace_symlink
from perception3d.data.kitti import KittiObject, read_velodyne, write_label_file, write_velodyne
from perception3d.geometry.boxes import rotate_points_z

__all__ = ["PseudoConfig", "label_rows", "make_pseudo_root", "mix_roots", "write_turned_views"]


# The views of a full sweep: turned by multiples of 45 degrees (a sweep holds four or more
# camera-sized views), full sweeps only (KITTI's hold 110k-130k points).
VIEW_ROTATIONS_DEG = (0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0)
FULL_SWEEP_MIN_POINTS = 20000


@dataclass(frozen=True)
class PseudoConfig:
    """How real sweeps become pseudo-labelled training views."""

    rotations_deg: tuple[float, ...] = VIEW_ROTATIONS_DEG
    positive_score: dict[str, float] = field(
        default_factory=lambda: {"Car": 0.6, "Pedestrian": 0.5, "Cyclist": 0.5}
    )
    ignore_score: float = 0.2
    min_points: int = FULL_SWEEP_MIN_POINTS

    def __post_init__(self) -> None:
        if not self.rotations_deg:
            raise ValueError("rotations_deg needs at least one angle")
        if any(not 0 < v <= 1 for v in self.positive_score.values()):
            raise ValueError(f"positive_score values must be in (0, 1], got {self.positive_score}")
        if not 0 <= self.ignore_score <= min(self.positive_score.values()):
            raise ValueError(
                f"ignore_score must be in [0, min(positive_score)], got {self.ignore_score}"
            )


def refuse_used_root(out: Path) -> None:
    """Refuse an output root that already holds label files: a second run into it would leave
    the first run's labels of other ids beside the new ones."""
    labels = out / "training" / "label_2"
    old = sorted(labels.glob("*.txt")) if labels.is_dir() else []
    if old:
        raise ValueError(
            f"{out}: already holds {len(old)} label files (an earlier pseudo-label run); "
            "choose an empty or new folder"
        )


def write_turned_views(
    real_roots: list[Path],
    out: Path,
    rotations_deg: tuple[float, ...],
    min_points: int,
    heldout: tuple[str, ...] = (),
) -> list[str]:
    """Write every sweep of the unlabelled ``real_roots`` with at least ``min_points`` points,
    turned about the sensor's z axis by each of ``rotations_deg``, to the KITTI-layout root
    ``out`` (velodyne and KITTI 000008's calibration; ids ``r<root>v<view>_<frame>``); return
    the ids. Sweeps whose frame id is in ``heldout`` are left out (kept unseen for evaluation).
    A root with a ``label_2`` folder is refused: no real label may be read; so is a ``heldout``
    id that none of the roots has."""
    from perception3d.sim.camera import kitti_default_calibration

    roots = [Path(root) for root in real_roots]
    for root in roots:
        if (root / "training" / "label_2").is_dir():
            raise ValueError(f"{root}: has label_2; pseudo-labels are made from unlabelled roots")
    sweeps = [sorted((root / "training" / "velodyne").glob("*.bin")) for root in roots]
    missing = set(heldout) - {path.stem for paths in sweeps for path in paths}
    if missing:
        raise ValueError(
            f"heldout sweeps {sorted(missing)} are not in {[str(r) for r in roots]} "
            "(training/velodyne/<id>.bin)"
        )
    calib_text = kitti_default_calibration().to_text()
    ids = []
    for r, paths in enumerate(sweeps):
        for path in paths:
            if path.stem in heldout:
                continue
            points = read_velodyne(path)
            if len(points) < min_points:
                continue
            for k, angle in enumerate(rotations_deg):
                fid = f"r{r}v{k}_{path.stem}"
                turned = rotate_points_z(points, np.radians(angle)).astype(np.float32)
                write_velodyne(out / "training" / "velodyne" / f"{fid}.bin", turned)
                atomic_write_text(out / "training" / "calib" / f"{fid}.txt", calib_text)
                ids.append(fid)
    return ids


def label_rows(objects: list[KittiObject], cfg: PseudoConfig) -> list[KittiObject]:
    """Label rows of a teacher's scored detections: an object of its class at or above the
    class's ``positive_score``, a DontCare row carrying the 3D box from ``ignore_score``,
    nothing below (rows unscored, not truncated, not occluded)."""
    from dataclasses import replace

    from perception3d.models.anchors import IGNORE_REGION

    rows = []
    for o in objects:
        if o.score >= cfg.positive_score.get(o.type, 1.1):
            kind = o.type
        elif o.score >= cfg.ignore_score:
            kind = IGNORE_REGION
        else:
            continue
        rows.append(replace(o, type=kind, truncated=0.0, occluded=0, score=None))
    return rows


def make_pseudo_root(
    checkpoint: str | Path,
    real_roots: list[Path],
    out: str | Path,
    cfg: PseudoConfig,
    heldout: tuple[str, ...] = (),
) -> dict:
    """Write the pseudo-labelled views of ``real_roots`` to ``out`` (KITTI layout, ids
    ``r<root>v<view>_<frame>``, ``ImageSets/train.txt``, ``pseudo_labels.json`` with the counts
    and the settings); return that summary. The sweeps ``heldout`` (frame ids) are left out."""
    import torch

    from perception3d.engine.infer import load_detector, predict
    from perception3d.lidar.dataset import LidarDetectionDataset

    out = Path(out)
    refuse_used_root(out)
    ids = write_turned_views(
        [Path(r) for r in real_roots], out, cfg.rotations_deg, cfg.min_points, tuple(heldout)
    )
    model, exp = load_detector(checkpoint, device="cpu")
    ds = LidarDetectionDataset(out, "training", exp.model.voxel, fov_only=True, ids=ids)
    counts: dict[str, int] = {}
    for fid, objects in predict(model, ds, torch.device("cpu"), progress=False):
        rows = label_rows(objects, cfg)
        write_label_file(out / "training" / "label_2" / f"{fid}.txt", rows)
        for row in rows:
            counts[row.type] = counts.get(row.type, 0) + 1
    atomic_write_text(out / "ImageSets" / "train.txt", "\n".join(ids) + "\n")
    summary = {
        "checkpoint": str(checkpoint),
        "real_roots": [str(r) for r in real_roots],
        "views": len(ids),
        "heldout": sorted(heldout),
        "rows": counts,
        "config": asdict(cfg),
    }
    atomic_write_text(out / "pseudo_labels.json", json.dumps(summary, indent=1) + "\n")
    return summary


def mix_roots(synthetic_root: str | Path, pseudo_root: str | Path, out: str | Path,
              repeat: int = 1) -> dict:  # fmt: skip
    """One root linking a synthetic set's frames and a pseudo-labelled root's views: train =
    the synthetic train ids + the views ``repeat`` times; val = the synthetic val ids."""
    synth, pseudo, out = Path(synthetic_root), Path(pseudo_root), Path(out)
    if repeat < 0:
        raise ValueError(f"repeat must be >= 0, got {repeat}")
    read = lambda p: [s for s in p.read_text().split() if s]  # noqa: E731
    train, val = read(synth / "ImageSets" / "train.txt"), read(synth / "ImageSets" / "val.txt")
    views = read(pseudo / "ImageSets" / "train.txt")
    if set(views) & set(train + val):
        raise ValueError("pseudo view ids collide with synthetic frame ids")
    for root, frame_ids in ((synth, train + val), (pseudo, views)):
        for fid in frame_ids:
            for folder, suffix in (("velodyne", "bin"), ("calib", "txt"), ("label_2", "txt"),
                                   ("image_2", "png")):  # fmt: skip
                src = root / "training" / folder / f"{fid}.{suffix}"
                if src.is_file():
                    replace_symlink(src, out / "training" / folder / src.name)
    atomic_write_text(out / "ImageSets" / "train.txt", "\n".join(train + views * repeat) + "\n")
    atomic_write_text(out / "ImageSets" / "val.txt", "\n".join(val) + "\n")
    return {"train": len(train) + len(views) * repeat, "synthetic": len(train), "views": len(views)}
