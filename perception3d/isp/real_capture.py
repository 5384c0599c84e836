"""Scenes from real KITTI frames, so that the sensor model's conditions can be applied to them.

A real ``image_2`` is 8-bit sRGB out of the camera's own pipeline (KITTI: Point Grey Flea2,
Sony ICX267 CCD). :func:`linearize_display` inverts it to linear values with Brooks et al.'s
unprocessing steps (CVPR 2019: inverse smoothstep tone curve, then gamma expansion): the
exact inverse of the display our experiments render (``smoothstep(srgb_oetf(x))``, the
synthetic camera's curve, :mod:`perception3d.sim.tonemap`), with the sRGB transfer function
where Brooks et al. use its ``x^2.2`` approximation, so that an ideal capture of the result
developed and displayed again returns ``image_2`` to the code. The inverse colour matrix,
inverse white balance and the mosaic are the sensor model's
(:func:`perception3d.isp.sensor.capture`), as for the synthetic scenes: the linear image
plays the scene radiance (relative units, 1.0 = the code-255 white of the real camera's
exposure, so the frame's exposure is 1).

Depth (haze needs it) comes from the LiDAR sweep: projected into ``image_2`` and completed by
:func:`perception3d.geometry.depth_completion.complete_depth` (Ku et al. 2018). The
HDL-64E's upper beam looks 2 degrees up, so the top third or so of a KITTI image has no
return: there the completion copies each column's top-most value upwards (right for trees,
poles and facades rising above it), except on pixels :func:`sky_mask` takes for sky, which
get an infinite depth (transmission 0: pure airlight under haze).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from perception3d.data.kitti import read_image, read_velodyne
from perception3d.geometry.calib import Calibration
from perception3d.geometry.depth_completion import (
    complete_depth,
    holdout_error,
    sparse_depth_map,
    top_return_rows,
)
from perception3d.isp.color import inverse_smoothstep, srgb_to_linear

SKY_MIN_LUMA = 0.45  # sRGB luma of sky candidates (KITTI daylight skies: 0.5-1.0)
SKY_MAX_STD = 0.03  # their local standard deviation, sRGB (about 8 codes): untextured
SKY_WINDOW = 9  # pixels of the local statistics window


def linearize_display(srgb: torch.Tensor) -> torch.Tensor:
    """Linear values (..., 3, H, W) of a displayed image in [0, 1]: inverse smoothstep, then
    the inverse sRGB transfer function; the inverse of ``smoothstep(linear_to_srgb(x))``.

    Example:
        >>> from perception3d.isp.color import linear_to_srgb, smoothstep
        >>> x = torch.tensor([0.0, 0.01, 0.2, 0.6]).view(1, 4, 1).expand(3, 4, 1)
        >>> y = linearize_display(smoothstep(linear_to_srgb(x)))
        >>> bool(torch.allclose(y, x, atol=1e-5))
        True

    Near 1 the smoothstep's flat top makes the float32 inverse less precise (5e-4 at 1.0),
    still far below an 8-bit step: every code comes back exactly (tests).
    """
    return srgb_to_linear(inverse_smoothstep(srgb.clamp(0.0, 1.0))).clamp_min(0.0)


def sky_mask(srgb: np.ndarray, top_rows: np.ndarray, margin: int = 4) -> np.ndarray:
    """(H, W) bool: pixels taken for sky in ``srgb`` (3, H, W) float in [0, 1].

    A classical rule, not a learned segmentation: a sky pixel lies above the top-most LiDAR
    return of its column (``top_rows`` (W,), from
    :func:`perception3d.geometry.depth_completion.top_return_rows`) by ``margin`` rows, is
    bright (sRGB luma >= ``SKY_MIN_LUMA``) and untextured (local standard deviation <=
    ``SKY_MAX_STD`` over ``SKY_WINDOW`` pixels), and belongs to a region of such pixels that
    touches the top of the image (after closing gaps of a few pixels: wires, thin branches).
    Bright, plain facades above the LiDAR's reach are mistaken for sky
    (:func:`depth_trust` counts how often this happens on measured surfaces).
    """
    if srgb.ndim != 3 or srgb.shape[0] != 3:
        raise ValueError(f"srgb must be (3, H, W), got {srgb.shape}")
    h, w = srgb.shape[1:]
    if top_rows.shape != (w,):
        raise ValueError(f"top_rows must be ({w},), got {top_rows.shape}")
    luma = (0.2126 * srgb[0] + 0.7152 * srgb[1] + 0.0722 * srgb[2]).astype(np.float64)
    mean = ndimage.uniform_filter(luma, SKY_WINDOW, mode="nearest")
    var = ndimage.uniform_filter(luma**2, SKY_WINDOW, mode="nearest") - mean**2
    above = np.arange(h)[:, None] < (top_rows[None, :] - margin)
    candidate = above & (luma >= SKY_MIN_LUMA) & (np.sqrt(var.clip(0)) <= SKY_MAX_STD)
    # closing erodes at the image border: keep the original candidates there
    candidate = (candidate | ndimage.binary_closing(candidate, np.ones((5, 5), bool))) & above
    labels, _ = ndimage.label(candidate)
    top_labels = np.unique(labels[0][labels[0] > 0])
    return np.isin(labels, top_labels)


@dataclasses.dataclass
class RealScene:
    """A real frame as a scene: ``radiance`` (3, H, W) float32 linear (1.0 = the real camera's
    white), ``depth_m`` (H, W) float32 metres along camera 2's axis (``inf`` = sky),
    ``sparse_depth_m`` (H, W) the projected returns (0 = none), ``sky`` (H, W) bool, and
    ``top_rows`` (W,) the top-most LiDAR return of each column."""

    name: str
    radiance: np.ndarray
    depth_m: np.ndarray
    sparse_depth_m: np.ndarray
    sky: np.ndarray
    top_rows: np.ndarray

    @property
    def extended(self) -> np.ndarray:
        """(H, W) bool: pixels above the LiDAR's reach that are not sky (depth copied up)."""
        h = self.depth_m.shape[0]
        return (np.arange(h)[:, None] < self.top_rows[None, :]) & ~self.sky


def real_scene(image_path: Path, velodyne_path: Path, calib_path: Path) -> RealScene:
    """Read a real frame (``image_2`` PNG, velodyne ``.bin``, calib ``.txt``) as a scene."""
    srgb = read_image(image_path)
    h, w = srgb.shape[1:]
    points = read_velodyne(velodyne_path)
    sparse = sparse_depth_map(points, Calibration.from_file(calib_path), h, w)
    if not (sparse > 0).any():
        raise ValueError(f"{velodyne_path}: no LiDAR return projects into {image_path}")
    top = top_return_rows(sparse)
    sky = sky_mask(srgb, top)
    depth = complete_depth(sparse)
    depth[sky] = np.inf
    radiance = linearize_display(torch.from_numpy(srgb)).numpy().astype(np.float32)
    return RealScene(Path(image_path).stem, radiance, depth, sparse, sky, top)


def real_scene_from_root(root: Path, frame_id: str) -> RealScene:
    """:func:`real_scene` of ``root/training/{image_2,velodyne,calib}/<frame_id>``."""
    base = Path(root) / "training"
    paths = (
        base / "image_2" / f"{frame_id}.png",
        base / "velodyne" / f"{frame_id}.bin",
        base / "calib" / f"{frame_id}.txt",
    )
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found (a real frame needs image_2, velodyne, calib)")
    return real_scene(*paths)


def depth_trust(scene: RealScene, seed: int = 0, fraction: float = 0.1) -> dict:
    """How far ``scene``'s depth is trusted, from its own LiDAR returns:

    - ``holdout``: a random ``fraction`` of the returns held out and predicted by the
      completion from the others (interpolation inside the LiDAR's coverage);
    - ``top``: each column's six top-most returns held out, so the completion must extend
      upwards to reach them (the error of the upward extension, over about 1.5 degrees);
    - ``false_sky``: share of those top returns (real surfaces) that :func:`sky_mask` would
      call sky with the LiDAR's reach lowered by six rows;
    - ``share``: the share of pixels measured-and-filled (below the top return), extended
      upwards, and sky.
    """
    rng = np.random.default_rng(seed)
    sparse = scene.sparse_depth_m
    lowered = sparse.copy()
    rows, cols = np.nonzero(sparse > 0)
    held = rows < scene.top_rows[cols] + 6
    lowered[rows[held], cols[held]] = 0.0
    srgb = _display(scene.radiance)
    sky_low = sky_mask(srgb, top_return_rows(lowered))
    h = sparse.shape[0]
    below = np.arange(h)[:, None] >= scene.top_rows[None, :]
    n = float(sparse.size)
    return {
        "returns": int(rows.size),
        "holdout": holdout_error(sparse, rng, fraction, "random"),
        "top": holdout_error(sparse, rng, fraction, "top", top_rows=6),
        "false_sky": float(sky_low[rows[held], cols[held]].mean()) if held.any() else 0.0,
        "share": {
            "measured": float(below.sum() / n),
            "extended": float(scene.extended.sum() / n),
            "sky": float(scene.sky.sum() / n),
        },
    }


def _display(linear: np.ndarray) -> np.ndarray:
    """The displayed sRGB (3, H, W) of a linear image (``smoothstep(srgb_oetf(x))``)."""
    from perception3d.isp.color import linear_to_srgb, smoothstep

    return smoothstep(linear_to_srgb(torch.from_numpy(linear).clamp(0, 1))).numpy()


__all__ = [
    "RealScene",
    "depth_trust",
    "linearize_display",
    "real_scene",
    "real_scene_from_root",
    "sky_mask",
]
