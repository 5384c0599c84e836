"""Alignment of consecutive camera frames by the ego motion and the LiDAR's depth
(reprojection), for the temporal ISP (:mod:`perception3d.isp.temporal`).

Each pixel q of frame k is lifted to 3D with frame k's depth, moved by the ego motion into
frame k-1's camera and projected there: ``q + G(q)``, a backward flow in the format of
:mod:`perception3d.isp.flow_warp`. It is exact for the static world and wrong on what moves
by itself, so it comes with a validity mask:

- **bounds**: the source lies inside frame k-1;
- **depth availability**: frame k's depth rests on a LiDAR return nearby (no hole the
  completion could not fill, no sky between returns); above the LiDAR's upper beam
  (``above_lidar``) either nothing is valid, or the column's top-most depth is copied upwards
  (Ku et al.'s step 5: right for walls, trees and poles, wrong for the sky) and only the
  photometric check can accept it;
- **depth consistency** (geometric): the moved point's depth in frame k-1's camera agrees
  with frame k-1's own LiDAR depth at the source pixel within ``abs_tol_m + rel_tol x
  depth``. A point hidden in frame k-1 (occlusion) lands behind a nearer surface; a road user
  moving towards or away from the camera, or across a background at another range, lands
  where frame k-1 saw something else. It misses a mover whose static-world source lies on a
  surface at its own range: above all a vehicle passing along its own flank (a bus, a car in
  the next lane);
- **photometric consistency**: the raw frames' brightness, averaged over grid cells
  (:func:`raw_luma`), agrees between the pixel and its source within a few standard
  deviations of the sensor's noise (known from the noise model) plus a share of the
  brightness for true changes (shading, highlights). It catches the passing vehicle where it
  is textured; on a uniform surface a wrong source looks alike and passes (and does little
  harm there).

Depth: :func:`perception3d.isp.reproject_depth.frame_depth` (the sweep de-skewed, projected
and completed by Ku et al.'s morphological pipeline, CRV 2018) on a grid ``scale`` times the
image; the flow and masks are computed there and upsampled (a quarter resolution: 311 x 94 for
KITTI).

Frames: ``world_from_lidar`` poses (4, 4) LiDAR -> world (OXTS ``T_w_imu`` composed with the
inverse of ``calib_imu_to_velo``, as :meth:`perception3d.data.kitti_raw.KittiRawDrive.
pose_world_lidar` gives them); depths in metres along camera 2's optical axis, 0 = none.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from perception3d.geometry.calib import Calibration
from perception3d.isp.flow_warp import warp
from perception3d.isp.meta import RawMeta
from perception3d.isp.reproject_depth import frame_depth, grid_hw, scaled_calib
from perception3d.isp.sensor import vignetting_map

__all__ = [
    "FrameState",
    "ReprojectionParams",
    "clip_reprojection",
    "photometric_consistent",
    "raw_luma",
    "reprojection_alignment",
    "reprojection_flow",
    "reprojection_step",
]


@dataclasses.dataclass(frozen=True)
class ReprojectionParams:
    """Settings of the reprojection alignment (module docstring).

    Attributes:
        scale: the depth / flow grid relative to the image (0.25: 311 x 94 for KITTI).
        support_px: a pixel's depth counts as measured if a LiDAR return projects within
            this many image pixels of it (rows and columns; the HDL-64E's beams are 4-7 image
            rows apart below the horizon).
        rel_tol: depth consistency, relative part (share of the depth).
        abs_tol_m: depth consistency, absolute part, metres.
        deskew: undo the sweep's own motion (module docstring).
        above_lidar: pixels above the LiDAR's upper beam: ``invalid``, or ``extend``: the
            column's top-most depth copied upwards (Ku et al.'s step 5: right for walls, trees
            and poles, wrong for the sky), valid only where the photometric check passes.
        photometric: also the photometric check (module docstring) where the raw frames are
            given.
        photo_sigmas: its noise allowance, in standard deviations of the difference of the
            two frames' window means (from the sensor's noise model).
        photo_rel_tol: its allowance for true changes of appearance (shading, specular
            highlights, resampling), as a share of the window's mean.
        photo_window: its window, in grid cells.
    """

    scale: float = 0.25
    support_px: int = 8
    rel_tol: float = 0.05
    abs_tol_m: float = 0.3
    deskew: bool = True
    above_lidar: Literal["invalid", "extend"] = "extend"
    photometric: bool = True
    photo_sigmas: float = 3.0
    photo_rel_tol: float = 0.1
    photo_window: int = 3

    def __post_init__(self) -> None:
        if not 0.0 < self.scale <= 1.0:
            raise ValueError(f"reprojection scale must be in (0, 1], got {self.scale}")
        if self.above_lidar not in ("invalid", "extend"):
            raise ValueError(f"above_lidar must be invalid or extend, got {self.above_lidar!r}")
        if self.support_px < 0 or self.rel_tol < 0 or self.abs_tol_m < 0:
            raise ValueError("reprojection support_px, rel_tol, abs_tol_m must be >= 0")


def reprojection_flow(
    depth_m: torch.Tensor, calib: Calibration, lidar_prev_from_now: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward flow of the static world: each pixel of the current frame with depth
    ``depth_m`` (H, W) (camera 2's axis, on the grid ``calib`` maps into) moved by the ego
    motion ``lidar_prev_from_now`` (4, 4) and projected into the previous frame.

    Returns:
        flow (1, 2, H, W) float32 (du, dv) in this grid's pixels, and the moved point's depth
        in the previous camera (1, 1, H, W) metres (meaningless where ``depth_m`` is 0).

    Example:
        >>> p2 = np.array([[100.0, 0, 2, 0], [0, 100.0, 2, 0], [0, 0, 1, 0]])
        >>> cal = Calibration(P2=p2, R0_rect=np.eye(3),
        ...                   Tr_velo_to_cam=np.array([[0, -1.0, 0, 0], [0, 0, -1, 0],
        ...                                            [1, 0, 0, 0]]))
        >>> m = np.eye(4); m[1, 3] = 0.5  # the car moved 0.5 m to the left (LiDAR +y)
        >>> flow, d_prev = reprojection_flow(torch.full((5, 5), 10.0), cal, m)
        >>> flow[0, :, 2, 2].tolist(), float(d_prev[0, 0, 2, 2])  # the wall was 5 px further left
        ([-5.0, 0.0], 10.0)
    """
    if depth_m.dim() != 2:
        raise ValueError(f"depth_m must be (H, W), got {tuple(depth_m.shape)}")
    h, w = depth_m.shape
    rect = calib.lidar_to_rect_matrix @ np.asarray(lidar_prev_from_now, np.float64)
    rect = rect @ calib.rect_to_lidar_matrix  # rect_prev_from_rect_now
    c = torch.from_numpy(calib.P2 @ rect @ calib.image_to_rect_matrix).to(depth_m)
    d = depth_m.to(torch.float32)
    v = torch.arange(h, dtype=d.dtype).view(h, 1)
    u = torch.arange(w, dtype=d.dtype).view(1, w)
    proj = [d * (c[i, 0] * u + c[i, 1] * v + c[i, 2]) + c[i, 3] for i in range(3)]
    z = proj[2]
    safe = torch.where(z.abs() > 1e-6, z, torch.ones_like(z))
    flow = torch.stack([proj[0] / safe - u, proj[1] / safe - v])
    return flow[None], z[None, None]


def raw_luma(raw: torch.Tensor, meta: RawMeta, grid: tuple[int, int]) -> torch.Tensor:
    """A raw frame's brightness on the (h, w) ``grid`` and its noise variance, (2, h, w): the
    sum of each 2 x 2 Bayer quad (R + 2 G + B, lens-shading corrected) averaged over the grid
    cell and divided by ``exposure_s x iso`` (frames of different exposures compare); the
    variance from the sensor's noise model (``shot x signal + read`` per sample, over the
    cell's quads). ``raw`` (1, 1, H, W) normalized, ``meta`` its (batch 1)."""
    if raw.dim() != 4 or raw.shape[:2] != (1, 1):
        raise ValueError(f"raw must be (1, 1, H, W), got {tuple(raw.shape)}")
    x = raw[0, 0].float()
    x = x[: x.shape[0] // 2 * 2, : x.shape[1] // 2 * 2]  # whole quads (an odd last row dropped)
    quad = (x[0::2, 0::2] + x[0::2, 1::2] + x[1::2, 0::2] + x[1::2, 1::2])[None, None]
    cell = F.interpolate(quad, size=grid, mode="area")[0, 0]
    quads = quad.shape[-2] * quad.shape[-1] / (grid[0] * grid[1])
    shot, read = float(meta.shot_noise[0]), float(meta.read_noise[0])
    var = (shot * cell.clamp_min(0.0) + 4.0 * read) / quads
    # lens shading at the cell (the fall-off is smooth), exposure: comparable across frames
    gain = 1.0 / (
        vignetting_map(*grid, float(meta.vignetting[0]))[0, 0]
        * float(meta.exposure_s[0] * meta.iso[0])
    )
    return torch.stack([cell * gain, var * gain**2])


def photometric_consistent(
    luma_now: torch.Tensor,
    luma_prev: torch.Tensor,
    flow: torch.Tensor,
    params: ReprojectionParams = ReprojectionParams(),
) -> torch.Tensor:
    """(h, w) bool: where the current frame's :func:`raw_luma` and the previous frame's,
    brought onto it by the grid's backward ``flow`` (1, 2, h, w), agree over a window of
    ``params.photo_window`` cells within ``photo_sigmas`` standard deviations of their noise
    plus ``photo_rel_tol`` of the window's mean."""
    prev_at, _ = warp(luma_prev[None], flow)  # (1, 2, h, w)
    k = params.photo_window

    def box(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x[None, None], k, 1, k // 2, count_include_pad=False)[0, 0]

    diff = box(luma_now[0] - prev_at[0, 0]).abs()
    var = box(luma_now[1] + prev_at[0, 1]) / (k * k)
    allowed = params.photo_sigmas * var.clamp_min(0.0).sqrt()
    return diff <= allowed + params.photo_rel_tol * box(luma_now[0]).abs()


def reprojection_alignment(
    depth_now_m: torch.Tensor,
    depth_prev_m: torch.Tensor,
    calib: Calibration,
    lidar_prev_from_now: np.ndarray,
    image_hw: tuple[int, int],
    params: ReprojectionParams = ReprojectionParams(),
    luma: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward flow of the current frame into the previous one and its validity, at the
    image's resolution.

    Args:
        depth_now_m, depth_prev_m: (h, w)
            :func:`~perception3d.isp.reproject_depth.frame_depth` of the two frames, on the
            grid ``calib`` maps into (0 = none).
        calib: the calibration of that grid
            (:func:`~perception3d.isp.reproject_depth.scaled_calib`).
        lidar_prev_from_now: (4, 4) the current LiDAR frame's pose in the previous one's.
        image_hw: the image's (H, W); the grid is ``params.scale`` times it.
        luma: the two frames' :func:`raw_luma` (now, previous) for the photometric check
            (None: none).

    Returns:
        backward flow (1, 2, H, W) image pixels and ``aligned`` (1, 1, H, W) float: bounds,
        depth availability, depth consistency and, with ``luma``, photometric consistency
        (module docstring); pixels next to an invalid grid cell are invalid too.
    """
    checked = luma is not None and params.photometric
    if params.above_lidar == "extend" and not checked:
        raise ValueError("above_lidar: extend needs the photometric check (luma)")
    flow, z_prev = reprojection_flow(depth_now_m, calib, lidar_prev_from_now)
    h, w = depth_now_m.shape
    gx = torch.arange(w, dtype=flow.dtype).view(1, w) + flow[0, 0]
    gy = torch.arange(h, dtype=flow.dtype).view(h, 1) + flow[0, 1]
    ui, vi = gx.round().long(), gy.round().long()
    inside = (ui >= 0) & (ui < w) & (vi >= 0) & (vi < h)
    seen = depth_prev_m[vi.clamp(0, h - 1), ui.clamp(0, w - 1)]
    z = z_prev[0, 0]
    close = (seen - z).abs() <= params.abs_tol_m + params.rel_tol * z
    ok = inside & (depth_now_m > 0) & (seen > 0) & (z > 0.1) & close
    if checked:
        ok &= photometric_consistent(luma[0], luma[1], flow, params)
    flow = flow * torch.tensor([image_hw[1] / w, image_hw[0] / h]).view(1, 2, 1, 1)
    back = F.interpolate(flow, size=image_hw, mode="bilinear", align_corners=False)
    eroded = -F.max_pool2d(-ok.float()[None, None], 3, 1, 1)  # a cell's neighbours valid too
    return back, F.interpolate(eroded, size=image_hw, mode="nearest")


@dataclasses.dataclass
class FrameState:
    """What the reprojection keeps of the previous frame: its :func:`frame_depth` and
    :func:`raw_luma` (None without the photometric check)."""

    depth_m: torch.Tensor
    luma: torch.Tensor | None


def reprojection_step(
    points_lidar: np.ndarray,
    lidar_now_from_prev: np.ndarray | None,
    calib: Calibration,
    image_hw: tuple[int, int],
    prev: FrameState | None,
    raw: tuple[torch.Tensor, RawMeta] | None = None,
    params: ReprojectionParams = ReprojectionParams(),
) -> tuple[torch.Tensor | None, torch.Tensor | None, FrameState]:
    """One frame of the alignment (streaming use): this frame's sweep, the motion since the
    previous frame (``lidar_now_from_prev`` (4, 4); None for a first frame: no de-skew),
    the image's ``calib`` and (H, W), the previous frame's state and, for the photometric
    check, this frame's (raw (1, 1, H, W), meta). Returns the backward flow (1, 2, H, W),
    ``aligned`` (1, 1, H, W) (both None without a previous frame or motion) and this frame's
    state."""
    grid = grid_hw(image_hw, params.scale)
    motion = lidar_now_from_prev if params.deskew else None
    depth = frame_depth(points_lidar, calib, image_hw, motion, params.scale, params.support_px,
                        params.above_lidar == "extend")  # fmt: skip
    luma = raw_luma(*raw, grid) if raw is not None and params.photometric else None
    state = FrameState(depth, luma)
    if prev is None or lidar_now_from_prev is None:
        return None, None, state
    both = None if luma is None or prev.luma is None else (luma, prev.luma)
    back, ok = reprojection_alignment(depth, prev.depth_m, scaled_calib(calib, image_hw, grid),
                                      np.linalg.inv(lidar_now_from_prev), image_hw, params,
                                      both)  # fmt: skip
    return back, ok, state


def clip_reprojection(
    points_lidar: list[np.ndarray],
    world_from_lidar: list[np.ndarray],
    calib: Calibration,
    image_hw: tuple[int, int],
    params: ReprojectionParams = ReprojectionParams(),
    raws: list[tuple[torch.Tensor, RawMeta]] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward flows (T, 2, H, W) and validity (T, 1, H, W) of a clip of T frames (frame
    0: zeros), as :class:`~perception3d.isp.temporal_data.Clip` holds them, from each frame's
    sweep and LiDAR -> world pose, frame by frame (:func:`reprojection_step`). The first
    frame's sweep is de-skewed with the motion to the second (constant velocity).
    ``raws``: per frame (raw (1, 1, H, W), its meta), for the photometric check."""
    if len(points_lidar) != len(world_from_lidar) or not points_lidar:
        raise ValueError(f"one pose per sweep needed, got {len(points_lidar)} sweeps and "
                         f"{len(world_from_lidar)} poses")  # fmt: skip
    t_len, (h, w) = len(points_lidar), image_hw
    poses = [np.asarray(p, np.float64) for p in world_from_lidar]
    back, aligned = torch.zeros(t_len, 2, h, w), torch.zeros(t_len, 1, h, w)
    state = None
    for t in range(t_len):
        if t > 0:
            motion = np.linalg.inv(poses[t]) @ poses[t - 1]
        else:
            motion = np.linalg.inv(poses[1]) @ poses[0] if t_len > 1 else None
        raw = None if raws is None else raws[t]
        b, ok, state = reprojection_step(points_lidar[t], motion, calib, image_hw,
                                         state if t > 0 else None, raw, params)  # fmt: skip
        if b is not None:
            back[t], aligned[t] = b[0], ok[0]
    return back, aligned
