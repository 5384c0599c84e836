"""The sweeps a sim-to-real report compares: real or synthetic KITTI-layout frames, each with its
camera field-of-view mask, the beam of every point and its labels.

Every statistic of the report looks at the points in camera 2's field of view (where KITTI
labels exist and the detectors look), computed the same way for both sides: with the frame's
own calibration, or with KITTI 000008's (the synthetic camera's) for a sweep without one. Beams
are the cones of KITTI's HDL-64E (`perception3d.lidar.scanner.ScannerModel.kitti_hdl64e`), which
the generator's lasers also follow.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perception3d.data.dataset import KITTI_IMAGE_HW, _in_image_kernel
from perception3d.data.kitti import KittiObject, KittiObjectDataset, read_velodyne
from perception3d.geometry.calib import Calibration, boxes_cam_to_lidar
from perception3d.lidar.scanner import ScannerModel

__all__ = ["Sweep", "fov_mask", "load_sweeps"]

# Columns per turn of the report's range images: the HDL-64E's base firing step in KITTI,
# 0.18 deg (median azimuth step of every ring of 004139 and 000001; about 8 % of the steps are
# half steps, whose pairs share a cell).
RANGE_IMAGE_WIDTH = 2000
_SCANNER = ScannerModel.kitti_hdl64e(RANGE_IMAGE_WIDTH)


@dataclass(frozen=True, eq=False)
class Sweep:
    """One frame of a compared set.

    Attributes:
        source: display name of its set ("real", "synthetic", ...).
        frame_id: its id; root: its KITTI-layout root.
        points: (N, 4) float32 [x, y, z, intensity], LiDAR frame, the whole stored sweep.
        fov: (N,) bool, the point projects into image_2.
        rows, cols: (N,) int64 beam (0 = highest) and column of each point in the
            ``RANGE_IMAGE_WIDTH``-wide range image.
        objects: label rows (DontCare included), None for an unlabelled frame.
        boxes_lidar: (M, 7) LiDAR boxes of the non-DontCare rows; names: (M,) their classes.
        calib: the calibration used for the field of view.
        image_hw: (H, W) of image_2 used for the field of view.
    """

    source: str
    root: Path
    frame_id: str
    points: np.ndarray
    fov: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    objects: list[KittiObject] | None
    boxes_lidar: np.ndarray
    names: np.ndarray
    calib: Calibration
    image_hw: tuple[int, int]

    @property
    def labelled(self) -> bool:
        return self.objects is not None

    @property
    def fov_points(self) -> np.ndarray:
        """(K, 4) the points in the field of view."""
        return self.points[self.fov]

    @property
    def full_turn(self) -> bool:
        """The sweep covers at least 90 % of the turn (not a camera crop)."""
        return np.unique(self.cols).size >= 0.9 * RANGE_IMAGE_WIDTH


def fov_mask(points: np.ndarray, calib: Calibration, image_hw: tuple[int, int]) -> np.ndarray:
    """(N,) bool: the LiDAR points in front of camera 2 that project inside its image."""
    proj = calib.P2 @ calib.lidar_to_rect_matrix
    h, w = image_hw
    return _in_image_kernel(np.ascontiguousarray(points[:, :3]), proj, float(w), float(h))


def _calibration(path: Path) -> Calibration:
    if path.is_file():
        return Calibration.from_file(path)
    from perception3d.sim.camera import kitti_default_calibration

    return kitti_default_calibration()


def load_sweeps(
    root: str | Path,
    source: str,
    ids: list[str] | None = None,
    min_points: int = 5000,
    max_frames: int | None = None,
) -> tuple[list[Sweep], list[str]]:
    """The sweeps of a KITTI-layout root (``training/velodyne``; calib, label_2, image_2 used
    when present).

    Args:
        root: folder holding ``training/``.
        source: the set's display name.
        ids: frame ids (default: every ``velodyne/*.bin``, sorted).
        min_points: sweeps with fewer points are skipped (subsampled clouds such as
            kitti_samples' 000000, 800 points, say nothing about the sensor).
        max_frames: keep at most this many (the first, in id order).

    Returns:
        (sweeps, skipped): the loaded sweeps and "id: reason" of the skipped frames.
    """
    root = Path(root)
    split = root / "training"
    if not (split / "velodyne").is_dir():
        raise FileNotFoundError(f"{root}: no training/velodyne folder (a KITTI-layout root)")
    if ids is None:
        ids = sorted(p.stem for p in (split / "velodyne").glob("*.bin"))
    ids = [KittiObjectDataset.normalize_id(i) for i in ids]
    sweeps, skipped = [], []
    for fid in ids:
        if max_frames is not None and len(sweeps) >= max_frames:
            break
        points = read_velodyne(split / "velodyne" / f"{fid}.bin")
        if len(points) < min_points:
            skipped.append(f"{fid}: {len(points)} points (< {min_points}, a subsampled cloud)")
            continue
        calib = _calibration(split / "calib" / f"{fid}.txt")
        image = split / "image_2" / f"{fid}.png"
        if image.is_file():
            from perception3d.data.kitti import image_size_hw

            image_hw = image_size_hw(image)
        else:
            image_hw = KITTI_IMAGE_HW
        label = split / "label_2" / f"{fid}.txt"
        objects = None
        boxes, names = np.zeros((0, 7)), np.array([], dtype=object)
        if label.is_file():
            from perception3d.data.kitti import read_label_file

            objects = read_label_file(label, allow_score=False)
            cared = [o for o in objects if not o.is_dontcare]
            boxes_cam = np.array([o.box_cam for o in cared], dtype=np.float64).reshape(-1, 7)
            boxes = boxes_cam_to_lidar(boxes_cam, calib)
            names = np.array([o.type for o in cared], dtype=object)
        rows, cols, _ = _SCANNER.cells(points)
        sweeps.append(
            Sweep(
                source,
                root,
                fid,
                points,
                fov_mask(points, calib, image_hw),
                rows,
                cols,
                objects,
                boxes,
                names,
                calib,
                image_hw,
            )
        )
    if not sweeps:
        warnings.warn(f"{root}: no sweep loaded ({len(skipped)} skipped)", stacklevel=2)
    return sweeps, skipped
