"""Multi-frame raw captures of synthetic drives (``perception3d synth-drive``) for temporal ISP
stages: the drive's linear radiance seen by the sensor model in low light, frame after frame by
one camera, with the ground-truth flow that aligns consecutive frames.

A clip of T consecutive frames is captured by one camera (one exposure, one fixed pattern) at
``level`` x the drive's daylight illuminance (:func:`perception3d.isp.lowlight.exposed_camera`:
1/300 of daylight is ISO ~22000 at 1/30 s, about 10 photo-electrons per pixel on a mid-grey);
each frame's noise is drawn from a generator seeded by ``(seed, drive, frame index)``, so a
frame's raw does not depend on the clip it is part of. The exposure is the drive's auto
exposure of the clip's first frame (``synth_drive.json``), held over the clip.

Alignment comes from the drive's ``flow_02`` (forward flow of frame k to k+1 with the points'
depth in frame k+1): inverted into a backward flow of frame k+1
(:func:`perception3d.isp.flow_warp.invert_flow`), valid where the round trip closes and the
source is not occluded (:func:`perception3d.isp.flow_warp.source_visible`, with frame k+1's
``depth_02``). The temporal metric's mask is :func:`perception3d.geometry.flow.flow_visible`.

A drive without the extras (a real KITTI raw drive) is read from its 8-bit sRGB ``image_02``
(``source: image``): each frame unprocessed to linear values as the real-frame ISP-effect
experiment does (:func:`perception3d.isp.real_capture.linearize_display`, Brooks et al. 2019:
the linear image plays the radiance, exposure 1), then captured as above. It has no depth and
no ground-truth flow: ``Drive.depth`` / ``Drive.flow`` are None and the clip's ground-truth
alignment is empty (``Clip.ground_truth`` False).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from perception3d.errors import MissingFrameError
from perception3d.geometry.calib import Calibration
from perception3d.geometry.flow import flow_visible
from perception3d.isp.flow_warp import invert_flow, source_visible
from perception3d.isp.lowlight import exposed_camera
from perception3d.isp.meta import RawMeta
from perception3d.isp.sensor import SensorParams, capture

DRIVE_META = "synth_drive.json"
SOURCES = ("auto", "radiance", "image")
IMAGES = "image_02/data"


@dataclasses.dataclass
class Drive:
    """A synthetic drive's ISP extras, memory-mapped.

    Attributes:
        name: ``DATE_drive_NNNN_sync``.
        index: the drive number (NNNN - 1), part of the noise seed.
        radiance: per frame (3, H, W) float16 linear radiance (``source: image``: float32, the
            unprocessed ``image_02``).
        depth: per frame (H, W) float32 metres, inf = sky (None: ``source: image``).
        flow: per frame but the last, (3, H, W) float32 [du px, dv px, depth in frame k+1 m]
            (None: ``source: image``).
        exposure: per frame, the drive's daylight auto exposure (radiance -> image_02 linear;
            1 for ``source: image``).
        source: ``radiance`` (the synthetic extras) or ``image`` (unprocessed ``image_02``).
    """

    name: str
    index: int
    radiance: list[np.ndarray]
    depth: list[np.ndarray] | None
    flow: list[np.ndarray] | None
    exposure: list[float]
    source: str = "radiance"

    def __len__(self) -> int:
        return len(self.radiance)


def find_drives(root: str | Path) -> list[Path]:
    """The drive folders (``DATE/DATE_drive_NNNN_sync`` with a ``synth_drive.json`` or an
    ``image_02/data`` folder, as a real KITTI raw drive) under ``root``, sorted.

    Raises:
        MissingFrameError: there is none.
    """
    found = Path(root).glob("*/*_drive_*_sync")
    drives = sorted(d for d in found if (d / DRIVE_META).is_file() or (d / IMAGES).is_dir())
    if not drives:
        raise MissingFrameError(
            f"{root}: no drive (DATE/DATE_drive_NNNN_sync/ with {DRIVE_META} or image_02/data/); "
            "make one with perception3d synth-drive --out DIR --frames N --seed S"
        )
    return drives


def drive_source(path: str | Path, source: str = "auto") -> str:
    """``radiance`` or ``image``: what :func:`load_drive` reads of the drive folder ``path``
    (``auto``: the synthetic radiance when frame 0's exists, else ``image_02``).

    Raises:
        MissingFrameError: frame 0 of the chosen source (``auto``: of either) is missing.
        ValueError: ``source`` is not one of :data:`SOURCES`.
    """
    if source not in SOURCES:
        raise ValueError(f"temporal.source must be one of {SOURCES}, got {source!r}")
    path = Path(path)
    radiance = path / "radiance_02" / "data" / f"{0:010d}.npy"
    image = path / "image_02" / "data" / f"{0:010d}.png"
    wanted = {"auto": (radiance, image), "radiance": (radiance,), "image": (image,)}[source]
    for f in wanted:
        if f.is_file():
            return "radiance" if f == radiance else "image"
    raise MissingFrameError(f"{' and '.join(map(str, wanted))}: missing (temporal.source "
                            f"{source}: a drive needs radiance_02 or image_02 frames)")  # fmt: skip


def load_drive(path: str | Path, max_frames: int | None = None, source: str = "auto") -> Drive:
    """The first ``max_frames`` frames (None: all) of the drive folder ``path``, from the
    ``source`` of :func:`drive_source`.

    Raises:
        MissingFrameError: a frame's radiance, depth, flow or image file is missing.
    """
    path = Path(path)
    if drive_source(path, source) == "image":
        return _load_image_drive(path, max_frames)
    if not (path / DRIVE_META).is_file():
        raise MissingFrameError(f"{path / DRIVE_META}: missing (temporal.source radiance)")
    meta = json.loads((path / DRIVE_META).read_text())
    n = int(meta["frames"]) if max_frames is None else min(int(meta["frames"]), max_frames)

    def read(folder: str, k: int) -> np.ndarray:
        f = path / folder / "data" / f"{k:010d}.npy"
        if not f.is_file():
            raise MissingFrameError(f"{f}: missing (drive written without the ISP extras?)")
        return np.load(f, mmap_mode="r", allow_pickle=False)

    return Drive(
        name=path.name,
        index=int(meta["drive"]),
        radiance=[read("radiance_02", k) for k in range(n)],
        depth=[read("depth_02", k) for k in range(n)],
        flow=[read("flow_02", k) for k in range(n - 1)],
        exposure=[float(e) for e in meta["exposure"][:n]],
    )


def _load_image_drive(path: Path, max_frames: int | None) -> Drive:
    """A drive from its ``image_02`` PNGs, unprocessed (module docstring); the noise seed's
    drive index is NNNN - 1 of the folder name, as for synthetic drives."""
    from perception3d.data.kitti import read_image
    from perception3d.isp.real_capture import linearize_display

    n = 0
    while (max_frames is None or n < max_frames) and (
        path / "image_02" / "data" / f"{n:010d}.png"
    ).is_file():
        n += 1
    radiance = [linearize_display(torch.from_numpy(read_image(path / "image_02" / "data" /
                f"{k:010d}.png"))).numpy() for k in range(n)]  # fmt: skip
    number = path.name.split("_drive_")[-1].split("_")[0]
    index = int(number) - 1 if number.isdigit() else 0
    return Drive(path.name, index, radiance, None, None, [1.0] * n, source="image")


@dataclasses.dataclass
class DriveLidar:
    """What the reprojection alignment (:mod:`perception3d.isp.reproject`) reads of a drive,
    as a real KITTI raw drive has it: ``calib`` (image_2 through P_rect_02), per frame the
    sweep ``points`` (N, 4) float32 (LiDAR frame of each return's firing) and
    ``world_from_lidar`` (4, 4) float64 (OXTS ``T_w_imu`` composed with the inverse of
    ``calib_imu_to_velo``)."""

    calib: Calibration
    points: list[np.ndarray]
    world_from_lidar: list[np.ndarray]


def load_lidar(path: str | Path, max_frames: int | None = None) -> DriveLidar:
    """The first ``max_frames`` frames' sweeps and OXTS poses of the drive folder ``path``
    (``DATE/DATE_drive_NNNN_sync``), read through pykitti (the ``kitti-raw`` extra).

    Raises:
        MissingFrameError: the drive folder, its calibration or a sweep is missing.
    """
    from perception3d.data.kitti_raw import KittiRawDrive

    path = Path(path)
    date, number = path.parent.name, path.name.split("_drive_")[-1].split("_")[0]
    raw = KittiRawDrive(path.parent.parent, date, number)
    n = len(raw) if max_frames is None else min(len(raw), max_frames)
    return DriveLidar(raw.calib, [raw.points(k) for k in range(n)],
                      [raw.pose_world_lidar(k) for k in range(n)])  # fmt: skip


def alignment(flow_prev: np.ndarray, depth: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward flow (2, H, W) of frame k+1 into frame k and its validity (1, H, W) float,
    from frame k's ``flow_02`` (3, H, W) and frame k+1's depth (H, W)."""
    fwd = torch.from_numpy(np.array(flow_prev, dtype=np.float32))[None]
    back, ok = invert_flow(fwd[:, :2])
    d = torch.from_numpy(np.array(depth, dtype=np.float32))[None, None]
    vis = source_visible(back, d, fwd[:, 2:3])
    return back[0], (ok * vis)[0]


def visibility(flow: np.ndarray, depth_next: np.ndarray) -> torch.Tensor:
    """(1, H, W) float: pixels of frame k seen in frame k+1 (the warping error's mask)."""
    return torch.from_numpy(flow_visible(np.asarray(flow), np.asarray(depth_next)))[None].float()


@dataclasses.dataclass
class Clip:
    """T consecutive frames of a drive as captured, with what aligns and scores them.

    Attributes:
        raw: (T, 1, H, W) raw in [0, 1]; meta: its :class:`RawMeta` (batch T, one camera).
        reference: (T, 3, H, W) the ideal linear output (radiance x the capture's
            ``linear_scale``).
        display_gain: maps an ISP's linear output to the drive's daylight exposure (image_02's
            linear values; 1 unless the ISO cap left the capture under-exposed).
        backward: (T, 2, H, W) backward flow of frame t into t-1 (frame 0: zeros).
        aligned: (T, 1, H, W) float, where ``backward`` is valid (frame 0: zeros).
        forward: (T-1, 2, H, W) forward flow; visible: (T-1, 1, H, W) its mask (the metric's).
        ground_truth: False when the drive has no ground-truth flow (``source: image``):
            ``backward``, ``aligned``, ``forward`` and ``visible`` are then zeros.
    """

    raw: torch.Tensor
    meta: RawMeta
    reference: torch.Tensor
    display_gain: float
    backward: torch.Tensor
    aligned: torch.Tensor
    forward: torch.Tensor
    visible: torch.Tensor
    ground_truth: bool = True


def capture_frames(
    radiance: torch.Tensor,
    frame_ids: list[int],
    exposure: float,
    level: float,
    seed: int,
    drive: int,
    base: SensorParams | None = None,
) -> tuple[torch.Tensor, RawMeta, torch.Tensor, float]:
    """Capture (T, 3, H, W) radiance at ``level`` x daylight with one camera.

    Args:
        radiance: the frames' daylight radiance.
        frame_ids: their indices in the drive (seed the noise with ``seed`` and ``drive``).
        exposure: the daylight auto exposure held over the frames.
        level: relative illuminance, e.g. 1/300.
        base: the camera before exposure (default: the daylight camera, ``SensorParams()``).

    Returns:
        raw (T, 1, H, W), meta (batch T), reference (T, 3, H, W) (see :class:`Clip`), the
        display gain.
    """
    params = exposed_camera(exposure / level, base)
    raws, metas = [], []
    for t, k in enumerate(frame_ids):
        seq = np.random.SeedSequence([seed, drive, k]).generate_state(2, np.uint64)
        gen = torch.Generator().manual_seed(int(seq[0] >> np.uint64(1)))
        raw, meta = capture(radiance[t : t + 1] * level, params, gen)
        raws.append(raw)
        metas.append(meta)
    reference = radiance * (level * params.linear_scale)
    return torch.cat(raws), RawMeta.cat(metas), reference, exposure / (params.linear_scale * level)


def load_clip(
    drive: Drive, start: int, length: int, level: float, seed: int,
    base: SensorParams | None = None,
) -> Clip:  # fmt: skip
    """Frames ``start .. start + length - 1`` of ``drive`` captured as a :class:`Clip` (full
    frames)."""
    if start < 0 or start + length > len(drive):
        raise ValueError(f"{drive.name}: frames {start}..{start + length - 1} out of {len(drive)}")
    ids = list(range(start, start + length))
    rad = torch.from_numpy(np.stack([np.asarray(drive.radiance[k], np.float32) for k in ids]))
    raw, meta, ref, gain = capture_frames(rad, ids, drive.exposure[start], level, seed,
                                          drive.index, base)  # fmt: skip
    h, w = rad.shape[-2:]
    back, aligned = torch.zeros(length, 2, h, w), torch.zeros(length, 1, h, w)
    fwd, vis = [], []
    for t in range(1, length if drive.flow is not None else 1):
        k = start + t
        back[t], aligned[t] = alignment(drive.flow[k - 1], drive.depth[k])
        fwd.append(torch.from_numpy(np.array(drive.flow[k - 1][:2], np.float32)))
        vis.append(visibility(drive.flow[k - 1], drive.depth[k]))
    forward = torch.stack(fwd) if fwd else torch.zeros(max(length - 1, 0), 2, h, w)
    visible = torch.stack(vis) if vis else torch.zeros(max(length - 1, 0), 1, h, w)
    return Clip(raw, meta, ref, gain, back, aligned, forward, visible, drive.flow is not None)
