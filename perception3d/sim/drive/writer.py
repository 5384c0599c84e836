"""Writing synthetic drives in the KITTI raw layout (``perception3d synth-drive``).

Layout under ``out/`` (docs/synthetic.md, "Drives")::

    drive_config.yaml                        the config used
    DATE/calib_cam_to_cam.txt, calib_velo_to_cam.txt, calib_imu_to_velo.txt
    DATE/DATE_drive_NNNN_sync/               drive d is NNNN = d + 1
        image_02/data/%010d.png, timestamps.txt          8-bit sRGB
        velodyne_points/data/%010d.bin                   float32 (N, 4), the sweep as recorded
        velodyne_points/timestamps{,_start,_end}.txt     facing forward, sweep start, end
        oxts/data/%010d.txt, timestamps.txt, dataformat.txt
        tracklet_labels.xml
        radiance_02/data/%010d.npy   float16 (3, H, W) linear radiance (sim/lighting.py units)
        depth_02/data/%010d.npy      float32 (H, W) metres along the optical axis, inf = sky
        flow_02/data/%010d.npy       float32 (3, H, W) [du px, dv px, depth in frame k+1 m],
                                     frames 0 .. N-2 (sim/drive/flow.py)
        velodyne_instance/data/%010d.npy  int32 (N,) tracklet index + 1 per point (0: other)
        synth_drive.json             units, timing, actors and tracklets (written last)

Every file is written atomically. Frames run in parallel processes (``workers``); the bytes
do not depend on the worker count.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from perception3d.atomic import atomic_write_bytes, atomic_write_text
from perception3d.config import to_dict
from perception3d.data.kitti import write_velodyne
from perception3d.data.kitti_raw_write import (
    OXTS_FIELDS,
    format_oxts,
    write_raw_calibration,
    write_timestamps,
)
from perception3d.data.kitti_tracklets import Tracklet, write_tracklets
from perception3d.sim.camera import camera_calibration
from perception3d.sim.drive.config import DriveConfig
from perception3d.sim.drive.frame import DriveFrame, generate_drive_frame
from perception3d.sim.drive.oxts import oxts_packets
from perception3d.sim.drive.plan import DrivePlan, plan_drive
from perception3d.sim.drive.tracks_out import RAW_TYPE, frame_tracklet_poses
from perception3d.sim.half import to_float16
from perception3d.sim.stage_clock import mean_stage_seconds
from perception3d.sim.workers import run_in_workers
from perception3d.sim.writer import npy_bytes, png_bytes

__all__ = ["DriveExistsError", "drive_dir", "generate_drives"]

META_NAME = "synth_drive.json"
_PRELOAD = ["perception3d.sim.drive.writer", "open3d"]  # what the workers' fork server imports
_CALIB_TIME = "01-Jan-2011 00:00:00"
_START_OF_DAY = "13:00:00"
_plans: dict[int, DrivePlan] = {}  # per worker process: the plans of the drives it renders


class DriveExistsError(FileExistsError):
    """A drive folder exists already (and ``overwrite`` was not given)."""


def drive_dir(root: str | Path, cfg: DriveConfig, drive: int) -> Path:
    """``root/DATE/DATE_drive_NNNN_sync`` of drive ``drive`` (0-based; NNNN = drive + 1)."""
    return Path(root) / cfg.date / f"{cfg.date}_drive_{drive + 1:04d}_sync"


def _plan(cfg: DriveConfig, drive: int) -> DrivePlan:
    plan = _plans.get(drive)
    if plan is None or plan.cfg != cfg:
        _plans.clear()  # one drive at a time per worker: plans hold whole worlds
        plan = _plans[drive] = plan_drive(cfg, drive)
    return plan


def _tracklet_ids(plan: DrivePlan) -> np.ndarray:
    """(A + 1,) int32: 0 -> 0, actor i -> its tracklet index + 1 (0 without a tracklet)."""
    ids = np.zeros(len(plan.actors) + 1, np.int32)
    k = 0
    for i, span in enumerate(plan.tracklet_frames):
        if span is not None:
            k += 1
            ids[i + 1] = k
    return ids


def _write_frame(d: Path, plan: DrivePlan, frame: DriveFrame) -> None:
    name = f"{frame.index:010d}"
    atomic_write_bytes(d / "image_02" / "data" / f"{name}.png", png_bytes(frame.image_srgb))
    write_velodyne(d / "velodyne_points" / "data" / f"{name}.bin", frame.sweep.points)
    point_ids = _tracklet_ids(plan)[frame.point_actor]
    atomic_write_bytes(d / "velodyne_instance" / "data" / f"{name}.npy", npy_bytes(point_ids))
    radiance = to_float16(frame.camera.radiance)
    atomic_write_bytes(d / "radiance_02" / "data" / f"{name}.npy", npy_bytes(radiance))
    depth = frame.camera.depth_m.astype(np.float32)
    atomic_write_bytes(d / "depth_02" / "data" / f"{name}.npy", npy_bytes(depth))
    if frame.flow is not None:
        atomic_write_bytes(d / "flow_02" / "data" / f"{name}.npy", npy_bytes(frame.flow))


def _run_frames(cfg: DriveConfig, root: str, drive: int, frames: list[int]) -> list[dict]:
    """Generate and write ``frames`` of ``drive``; per frame its tracklet poses and timing."""
    plan = _plan(cfg, drive)
    d = drive_dir(root, cfg, drive)
    out = []
    for k in frames:
        frame = generate_drive_frame(plan, k)
        _write_frame(d, plan, frame)
        out.append(
            {
                "drive": drive,
                "frame": k,
                "poses": frame_tracklet_poses(plan, frame),
                "seconds": frame.seconds,
                "points": len(frame.sweep.points),
                "night": bool(plan.sky.night),
                "exposure": float(f"{frame.exposure:.6g}"),
            }
        )
    return out


def _times(cfg: DriveConfig, drive: int, offset_s: float = 0.0) -> list[np.datetime64]:
    start = np.datetime64(f"{cfg.date.replace('_', '-')}T{_START_OF_DAY}", "ns")
    start += np.timedelta64(600 * drive, "s")  # drives 10 minutes apart
    step_ns = round(cfg.frame_period_s * 1e9)
    off = np.timedelta64(round(offset_s * 1e9), "ns")
    return [start + np.timedelta64(k * step_ns, "ns") + off for k in range(cfg.frames)]


def _write_drive_files(root: Path, plan: DrivePlan, results: list[dict]) -> dict:
    """Timestamps, OXTS, tracklets and the meta file of one drive (after its frames)."""
    cfg, d = plan.cfg, drive_dir(root, plan.cfg, plan.index)
    times = _times(cfg, plan.index)
    half = cfg.frame_period_s / 2
    for folder in ("image_02", "oxts", "velodyne_points"):
        write_timestamps(d / folder / "timestamps.txt", times)
    write_timestamps(d / "velodyne_points" / "timestamps_start.txt", _times(cfg, plan.index, -half))
    write_timestamps(d / "velodyne_points" / "timestamps_end.txt", _times(cfg, plan.index, half))
    for k, row in enumerate(oxts_packets(plan)):
        atomic_write_text(d / "oxts" / "data" / f"{k:010d}.txt", format_oxts(row))
    atomic_write_text(d / "oxts" / "dataformat.txt", "".join(f"{n}\n" for n in OXTS_FIELDS))
    by_frame = {r["frame"]: r["poses"] for r in results}
    tracklets, listing = [], []
    for i, span in enumerate(plan.tracklet_frames):
        if span is None:
            continue
        actor = plan.actors[i]
        rows = np.array([by_frame[k][i] for k in range(span[0], span[1] + 1)], np.float64)
        l, w, h = actor.size_lwh_m
        label = actor.model.label
        tracklets.append(
            Tracklet(
                RAW_TYPE.get(label, label),
                np.array([h, w, l]),
                span[0],
                rows[:, :6],
                np.full(len(rows), 2),
                rows[:, 6].astype(int),
                rows[:, 6].astype(int),
                rows[:, 7].astype(int),
            )
        )
        listing.append(
            {"tracklet": len(tracklets) - 1, "actor": i, "type": label,
             "kind": actor.model.kind, "motion": actor.mode}
        )  # fmt: skip
    write_tracklets(d / "tracklet_labels.xml", tracklets)
    meta = {
        "drive": plan.index,
        "frames": cfg.frames,
        "frame_rate_hz": cfg.frame_rate_hz,
        "night": bool(plan.sky.night),
        "exposure": [r["exposure"] for r in sorted(results, key=lambda r: r["frame"])],
        "radiance_units": "1.0 = a white diffuse surface facing the clear-day sun",
        "lidar_timing": "clockwise spin, facing forward (azimuth 0) at the frame time; a return "
        "at azimuth a (rad) fired at t - a / (2 pi) * period; points in the sensor frame of "
        "their firing",
        "flow_02": "[du px, dv px, depth in frame k+1 m] from frame k to k+1",
        "velodyne_instance": "tracklet index + 1 per point, 0 for the static world and "
        "untracked road users",
        "tracklets": listing,
        "actors": len(plan.actors),
    }
    atomic_write_text(d / META_NAME, json.dumps(meta, indent=1) + "\n")
    return meta


def _prepare(root: Path, cfg: DriveConfig, overwrite: bool) -> None:
    for drive in range(cfg.drives):
        d = drive_dir(root, cfg, drive)
        if d.exists():
            if not overwrite:
                raise DriveExistsError(f"{d} exists; pass overwrite (--overwrite) to replace it")
            if not (d / META_NAME).is_file():
                raise DriveExistsError(f"{d} exists and was not written by synth-drive: refusing")
            shutil.rmtree(d)


def generate_drives(
    out: str | Path, cfg: DriveConfig, workers: int = 1, overwrite: bool = False,
    progress: bool = True,
) -> dict:  # fmt: skip
    """Write ``cfg.drives`` drives of ``cfg.frames`` frames (seed ``cfg.seed``) into ``out``.

    Args:
        out: the raw-layout root (holds the date folder).
        cfg: the drives' config.
        workers: parallel processes (1: this process); the output does not depend on it.
        overwrite: replace drive folders a previous run wrote.
        progress: show a progress bar.

    Returns:
        Summary: drives and frames written, mean seconds per stage, mean points, tracklets.

    Raises:
        DriveExistsError: a drive folder exists (without ``overwrite``), or was not written by
            this generator.
        ValueError: ``workers`` < 1.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    root = Path(out)
    _prepare(root, cfg, overwrite)
    root.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(to_dict(cfg), sort_keys=False, width=100)
    atomic_write_text(root / "drive_config.yaml", text)
    calib = camera_calibration(cfg.camera)
    h, w = cfg.camera.image_shape_hw
    write_raw_calibration(root / cfg.date, calib, (w, h), _CALIB_TIME)
    tasks = [(d, list(range(k, min(k + 8, cfg.frames)))) for d in range(cfg.drives)
             for k in range(0, cfg.frames, 8)]  # fmt: skip
    bar = tqdm(
        total=cfg.drives * cfg.frames, desc="synth-drive", unit="frame", disable=not progress
    )
    if workers == 1:
        results: list[dict] = []
        for d, frames in tasks:
            results += _run_frames(cfg, str(root), d, frames)
            bar.update(len(frames))
    else:
        tasks = [(cfg, str(root), d, frames) for d, frames in tasks]
        results = run_in_workers(_run_frames, tasks, workers, _PRELOAD, bar.update)
    bar.close()
    tracklets = 0
    for d in range(cfg.drives):
        mine = [r for r in results if r["drive"] == d]
        meta = _write_drive_files(root, _plan(cfg, d), mine)
        tracklets += len(meta["tracklets"])
    return {
        "drives": cfg.drives,
        "frames_written": len(results),
        "mean_seconds": mean_stage_seconds(results),
        "mean_points": sum(r["points"] for r in results) / max(len(results), 1),
        "tracklets": tracklets,
    }
