"""PointPainting (Vora et al., "PointPainting: Sequential Fusion for 3D Object Detection",
CVPR 2020): every LiDAR point gets the semantic class scores of the image_2 pixel it projects
to, and the painted points ``[x, y, z, intensity, s_0 .. s_{C-1}]`` feed a LiDAR detector
(PointPillars here, through ``model.point_features = 4 + C``).

Projection: LiDAR -> rectified camera -> image_2 with the frame's calibration
(:meth:`~perception3d.geometry.calib.Calibration.lidar_to_image`). Pixel centres sit at integer
coordinates (KITTI's P2 convention and the synthetic camera's rays), so a point takes the pixel
nearest its projection, ``(row, col) = (round(v), round(u))`` clipped to the image. A point is
*in the image* when its depth is positive and ``0 <= u < W``, ``0 <= v < H`` (the same test as
the detection data's FOV crop, :func:`perception3d.data.dataset.crop_to_fov`, so every point
the detector keeps is painted). Points behind the camera or outside the image get all-zero
scores (``fill``): a zero vector is not a valid softmax output, so the detector can tell
"not seen by the camera" from "background".

Storage of a painted split (``perception3d fusion paint``): a KITTI-layout root with
``training/velodyne_painted/<id>.npy`` float32 (N, 4 + C), ``training/velodyne/<id>.bin`` (the
same points' first 4 columns, so every KITTI tool reads the root), ``calib``, ``label_2`` and
the painted split's ``ImageSets`` file copied, and ``painting.json`` (classes, weights, images).
A detector config reads it with ``data.point_source: velodyne_painted``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from perception3d.atomic import atomic_write, atomic_write_bytes, atomic_write_text
from perception3d.data.kitti import (
    Frame,
    KittiObjectDataset,
    read_image,
    read_split_file,
    write_velodyne,
)
from perception3d.geometry.calib import Calibration
from perception3d.models.segnet import SEG_CLASSES, load_segnet, predict_scores
from perception3d.runtime import torch_threads

PAINTED_DIR = "velodyne_painted"


def project_to_pixels(
    points_lidar: np.ndarray, calib: Calibration, image_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel of each point and whether it is in the image.

    Args:
        points_lidar: (N, 3+) LiDAR frame, metres.
        calib: the frame's calibration.
        image_hw: (H, W) of image_2.

    Returns:
        ``rows_cols`` (N, 2) int64 ``[row, col]`` (clipped into the image; meaningless where
        not inside) and ``inside`` (N,) bool.

    Example:
        >>> from perception3d.data.kitti import KittiObjectDataset
        >>> f = KittiObjectDataset("tests/data/kitti_samples", ids=["000008"]).frame(8)
        >>> rc, inside = project_to_pixels(f.points, f.calib, (375, 1242))
        >>> int(inside.sum()) > 0, bool((rc[inside] >= 0).all())
        (True, True)
    """
    if points_lidar.ndim != 2 or points_lidar.shape[1] < 3:
        raise ValueError(f"points_lidar must be (N, 3+), got {points_lidar.shape}")
    h, w = image_hw
    uv_img, depth_m = calib.lidar_to_image(points_lidar[:, :3])
    with np.errstate(invalid="ignore"):
        inside = (
            (depth_m > 0)
            & (uv_img[:, 0] >= 0)
            & (uv_img[:, 0] < w)
            & (uv_img[:, 1] >= 0)
            & (uv_img[:, 1] < h)
        )
    uv = np.where(inside[:, None], uv_img, 0.0)
    cols = np.clip(np.floor(uv[:, 0] + 0.5), 0, w - 1).astype(np.int64)
    rows = np.clip(np.floor(uv[:, 1] + 0.5), 0, h - 1).astype(np.int64)
    return np.stack([rows, cols], 1), inside


def paint_points(
    points_lidar: np.ndarray, scores: np.ndarray, calib: Calibration, fill: float = 0.0
) -> np.ndarray:
    """Append to each point the class scores of the pixel it projects to.

    Args:
        points_lidar: (N, 4+) float32 ``[x, y, z, intensity, ...]``, LiDAR frame, metres.
        scores: (C, H, W) float per-pixel class scores of image_2 (softmax outputs).
        calib: the frame's calibration.
        fill: score value of points behind the camera or outside the image.

    Returns:
        (N, 4+ + C) float32: the input columns, then the C scores.

    Example:
        >>> from perception3d.data.kitti import KittiObjectDataset
        >>> f = KittiObjectDataset("tests/data/kitti_samples", ids=["000008"]).frame(8)
        >>> behind = f.points * np.array([-1, -1, 1, 1], "f4")  # turned 180 deg: behind
        >>> pts = np.concatenate([f.points, behind])
        >>> painted = paint_points(pts, np.ones((2, 375, 1242), "f4"), f.calib)
        >>> painted.shape, painted[:17238, 4].min(), painted[17238:, 4:].max()
        ((34476, 6), np.float32(1.0), np.float32(0.0))
    """
    if points_lidar.ndim != 2 or points_lidar.shape[1] < 4:
        raise ValueError(f"points_lidar must be (N, 4+), got {points_lidar.shape}")
    if scores.ndim != 3:
        raise ValueError(f"scores must be (C, H, W), got {scores.shape}")
    rows_cols, inside = project_to_pixels(points_lidar, calib, scores.shape[1:])
    painted = scores[:, rows_cols[:, 0], rows_cols[:, 1]].T.astype(np.float32)  # (N, C)
    painted[~inside] = fill
    return np.concatenate([points_lidar.astype(np.float32, copy=False), painted], axis=1)


def _image_dir(images: Path) -> Path:
    """The folder holding ``<id>.png``: ``images/image_2``, ``images/training/image_2`` or
    ``images`` itself."""
    for cand in (images / "image_2", images / "training" / "image_2", images):
        if cand.is_dir() and any(cand.glob("*.png")):
            return cand
    raise FileNotFoundError(f"{images}: no image_2 PNGs (looked in image_2/, training/image_2/)")


def paint_split(
    data_root: str | Path,
    images: str | Path | None,
    seg_weights: str | Path,
    out: str | Path,
    split: str = "val",
    workers: int = 1,
    fov_only: bool = False,
    ids: list[str] | None = None,
    progress: bool = True,
    max_frames: int | None = None,
) -> dict:
    """Paint a split with a segmentation net: ``out/training/velodyne_painted/<id>.npy`` from
    ``data_root``'s LiDAR and calibration and the images of ``images`` (e.g. an ISP's ``isp
    run`` output); frames already painted are kept (resumable).

    Args:
        data_root: KITTI-layout root (velodyne, calib, label_2, ImageSets).
        images: folder with the image_2 PNGs to segment (None: ``data_root``'s own).
        seg_weights: :class:`~perception3d.models.segnet.SegNet` weights.
        out: painted root to write.
        split: ImageSets name, or ``"training"`` for every frame of ``data_root``.
        workers: torch CPU threads.
        fov_only: store only the points inside the image (the detector's FOV crop drops the
            others anyway; a tenth of the bytes).
        ids: explicit frame ids (default: the split's).
        progress: show a progress bar.
        max_frames: paint only the first N frames of the split (the written ImageSets list
            only painted frames).

    Returns:
        ``{"frames": n, "painted": newly painted, "classes": [...]}``.
    """
    net = load_segnet(seg_weights)

    def paint(frame, image: np.ndarray) -> np.ndarray:
        return paint_points(frame.points, predict_scores(net, image), frame.calib)

    with torch_threads(workers):
        return paint_root(data_root, images, out, paint, {"seg_weights": str(seg_weights)},
                          split, fov_only, ids, progress, max_frames)  # fmt: skip


def paint_root(
    data_root: str | Path,
    images: str | Path | None,
    out: str | Path,
    paint_frame: Callable[[Frame, np.ndarray], np.ndarray],
    source: dict,
    split: str = "val",
    fov_only: bool = False,
    ids: list[str] | None = None,
    progress: bool = True,
    max_frames: int | None = None,
) -> dict:
    """The storage of a painted split (module docstring), whatever paints the points:
    ``paint_frame(frame, image_srgb)`` returns the frame's (N, 4 + C) painted points with the
    ``SEG_CLASSES`` score columns; ``source`` (what painted them) goes into ``painting.json``.
    The other arguments are :func:`paint_split`'s."""
    from tqdm import tqdm

    data_root, out = Path(data_root), Path(out)
    kitti = KittiObjectDataset(data_root, split if ids is None else "training", ids=ids)
    if max_frames is not None:
        kitti.ids = kitti.ids[:max_frames]
    image_dir = _image_dir(Path(images) if images is not None else data_root / "training")
    dst = out / "training"
    painted = 0
    for fid in tqdm(kitti.ids, desc="paint", unit="frame", disable=not progress):
        target = dst / PAINTED_DIR / f"{fid}.npy"
        if not target.is_file():
            frame = kitti.frame(fid)
            image = read_image(image_dir / f"{fid}.png")
            points = paint_frame(frame, image)
            if points.shape != (len(frame.points), 4 + len(SEG_CLASSES)):
                raise ValueError(f"frame {fid}: painted points {points.shape}, expected "
                                 f"({len(frame.points)}, {4 + len(SEG_CLASSES)})")  # fmt: skip
            if fov_only:
                points = points[project_to_pixels(points, frame.calib, image.shape[1:])[1]]
            write_velodyne(dst / "velodyne" / f"{fid}.bin", points[:, :4])
            atomic_write(target, lambda f, p=points: np.save(f, p))  # last: frame done
            painted += 1
        for folder, suffix in (("calib", ".txt"), ("label_2", ".txt")):
            src = data_root / "training" / folder / f"{fid}{suffix}"
            if src.is_file() and not (dst / folder / f"{fid}{suffix}").is_file():
                atomic_write_bytes(dst / folder / f"{fid}{suffix}", src.read_bytes())
    if ids is None:  # ImageSets of the painted frames only, so no split names a missing one
        _write_image_sets(data_root, out, split, set(kitti.ids))
    info = {
        "classes": list(SEG_CLASSES),
        "columns": ["x", "y", "z", "intensity", *(f"score_{c}" for c in SEG_CLASSES)],
        **source,
        "images": str(image_dir),
        "lidar_root": str(data_root),
        "fov_only": fov_only,
    }
    atomic_write_text(out / "painting.json", json.dumps(info, indent=2) + "\n")
    return {"frames": len(kitti.ids), "painted": painted, "classes": list(SEG_CLASSES)}


def _write_image_sets(data_root: Path, out: Path, split: str, done: set[str]) -> None:
    names = [p.stem for p in (data_root / "ImageSets").glob("*.txt")]
    for name in names if split == "training" else [split]:
        src = data_root / "ImageSets" / f"{name}.txt"
        if src.is_file():
            kept = [i for i in read_split_file(src) if i in done]
            atomic_write_text(out / "ImageSets" / f"{name}.txt", "".join(f"{i}\n" for i in kept))


def load_painted_points(root: str | Path, frame_id: str) -> np.ndarray:
    """``root/training/velodyne_painted/<frame_id>.npy``: (N, 4 + C) float32."""
    path = Path(root) / "training" / PAINTED_DIR / f"{frame_id}.npy"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: painted points not found (run perception3d fusion paint)")
    points = np.load(path, allow_pickle=False)
    if points.ndim != 2 or points.shape[1] < 4 or points.dtype != np.float32:
        raise ValueError(f"{path}: expected (N, 4+C) float32, got {points.shape} {points.dtype}")
    return points


def load_expanded_state(
    source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """``target``'s state dict with ``source``'s weights, widening the pillar feature net's
    first layer for painted inputs.

    A pillar point is ``[x, y, z, intensity, s_0..s_{C-1}, 3 offsets to the mean, 3 offsets to
    the pillar centre]`` (:class:`~perception3d.models.pillars.PillarFeatureNet`); a LiDAR-only
    layer has no score columns. The widened layer keeps the source's columns for the point and
    offset features and starts the score columns at zero, so the painted detector initially
    computes exactly what the LiDAR-only one did. Every other tensor must match in shape.

    Raises:
        ValueError: a key is missing or a shape differs in another way.
    """
    out = {}
    for key, tensor in target.items():
        if key not in source:
            raise ValueError(f"init weights: {key!r} missing from the source checkpoint")
        src = source[key]
        if src.shape == tensor.shape:
            out[key] = src.clone()
        elif src.ndim == 2 and src.shape[0] == tensor.shape[0] and src.shape[1] < tensor.shape[1]:
            extra = tensor.shape[1] - src.shape[1]  # painted score columns
            wide = torch.zeros_like(tensor)
            wide[:, :4] = src[:, :4]
            wide[:, 4 + extra :] = src[:, 4:]
            out[key] = wide
        else:
            raise ValueError(
                f"init weights: {key!r} has shape {tuple(src.shape)} in the source and "
                f"{tuple(tensor.shape)} in the model"
            )
    return out
