"""Writing files in the KITTI raw layout (what ``pykitti.raw`` and the raw devkit read).

- ``DATE/calib_cam_to_cam.txt``: ``calib_time``, ``corner_dist``, then per camera NN in
  00..03: ``S_NN`` (image size, px), ``K_NN`` (3 x 3), ``D_NN`` (5 distortion coefficients),
  ``R_NN`` / ``T_NN`` (camera 0 -> camera NN, unrectified), ``S_rect_NN``, ``R_rect_NN``
  (3 x 3) and ``P_rect_NN`` (3 x 4); every line ``key: values`` (pykitti splits each line at
  the first colon).
- ``DATE/calib_velo_to_cam.txt``: ``R``, ``T`` (Velodyne -> unrectified camera 0), ``delta_f``,
  ``delta_c``; ``DATE/calib_imu_to_velo.txt``: ``R``, ``T`` (IMU -> Velodyne).
- ``timestamps.txt``: one line per frame, ``YYYY-MM-DD HH:MM:SS.fffffffff`` (nanoseconds).
- ``oxts/data/NNNNNNNNNN.txt``: one line of the 30 OXTS values (:data:`OXTS_FIELDS`).

Example:
    >>> format_timestamp(np.datetime64("2011-09-26T13:02:25.964389445", "ns"))
    '2011-09-26 13:02:25.964389445'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.geometry.calib import Calibration

__all__ = [
    "OXTS_FIELDS",
    "format_oxts",
    "format_timestamp",
    "write_raw_calibration",
    "write_timestamps",
]

# The 30 values of an OXTS line (raw devkit readme, dataformat.txt), in file order:
# lat, lon (deg), alt (m); roll (0 = level, + = left side up), pitch (+ = front down), yaw
# (0 = east, + = counter-clockwise), rad; vn, ve (north, east), vf, vl (forward, leftward,
# parallel to the earth's surface), vu (up), m/s; ax, ay, az (vehicle x front, y left, z top)
# and af, al, au (forward, leftward, upward), m/s^2, as an accelerometer reads them (gravity's
# reaction included: az ~ +9.81 at rest); wx, wy, wz (vehicle axes) and wf, wl, wu, rad/s;
# pos_accuracy (m), vel_accuracy (m/s); navstat, numsats, posmode, velmode, orimode (ints).
OXTS_FIELDS = (
    "lat", "lon", "alt", "roll", "pitch", "yaw", "vn", "ve", "vf", "vl", "vu",
    "ax", "ay", "az", "af", "al", "au", "wx", "wy", "wz", "wf", "wl", "wu",
    "pos_accuracy", "vel_accuracy", "navstat", "numsats", "posmode", "velmode", "orimode",
)  # fmt: skip
_OXTS_INTS = 5


def format_timestamp(t: np.datetime64) -> str:
    """KITTI raw timestamp text of ``t`` (nanosecond precision)."""
    ns = np.datetime64(t, "ns")
    day = str(ns.astype("datetime64[s]")).replace("T", " ")
    frac = int((ns - ns.astype("datetime64[s]")).astype(np.int64))
    return f"{day}.{frac:09d}"


def write_timestamps(path: str | Path, times: Sequence[np.datetime64]) -> Path:
    """Write a ``timestamps.txt`` (one line per frame), atomically."""
    return atomic_write_text(path, "".join(format_timestamp(t) + "\n" for t in times))


def format_oxts(values: Sequence[float]) -> str:
    """One OXTS line: 30 values, the last five written as integers.

    Raises:
        ValueError: not 30 values, or a non-finite one.
    """
    vals = [float(v) for v in values]
    if len(vals) != len(OXTS_FIELDS):
        raise ValueError(f"an OXTS packet has {len(OXTS_FIELDS)} values, got {len(vals)}")
    if not np.all(np.isfinite(vals)):
        bad = [n for n, v in zip(OXTS_FIELDS, vals) if not np.isfinite(v)]
        raise ValueError(f"non-finite OXTS value(s): {bad}")
    head = [f"{v:.14g}" for v in vals[:2]] + [f"{v:.10g}" for v in vals[2:-_OXTS_INTS]]
    return " ".join(head + [str(round(v)) for v in vals[-_OXTS_INTS:]]) + "\n"


def _line(key: str, values) -> str:
    return f"{key}: " + " ".join(f"{v:.12e}" for v in np.ravel(values)) + "\n"


def write_raw_calibration(
    date_dir: str | Path, calib: Calibration, image_size_wh: tuple[int, int], calib_time: str
) -> list[Path]:
    """Write the three calibration files of a KITTI raw date folder.

    The cameras are written as rectified already (K = P_rect's 3 x 3, no distortion, R_rect of
    cameras 1-3 the identity), camera NN's translation from P_rect's baseline; P0, P1, P3 of
    ``calib`` default to P2 when absent.

    Args:
        date_dir: the ``YYYY_MM_DD`` folder.
        calib: P0-P3 (image size), R0_rect, Tr_velo_to_cam, Tr_imu_to_velo (identity if None).
        image_size_wh: (width, height) of the images, pixels.
        calib_time: the ``calib_time`` text (e.g. ``"09-Jan-2012 13:57:47"``).

    Returns:
        The written paths.
    """
    d = Path(date_dir)
    w, h = image_size_wh
    rects = [calib.P0, calib.P1, calib.P2, calib.P3]
    rects = [calib.P2 if p is None else p for p in rects]
    text = f"calib_time: {calib_time}\n" + _line("corner_dist", 9.95e-2)
    for k, p in enumerate(rects):
        nn = f"{k:02d}"
        text += _line(f"S_{nn}", [w, h]) + _line(f"K_{nn}", p[:, :3]) + _line(f"D_{nn}", [0] * 5)
        text += _line(f"R_{nn}", np.eye(3)) + _line(f"T_{nn}", [p[0, 3] / p[0, 0], 0.0, 0.0])
        r_rect = calib.R0_rect if k == 0 else np.eye(3)
        text += _line(f"S_rect_{nn}", [w, h]) + _line(f"R_rect_{nn}", r_rect)
        text += _line(f"P_rect_{nn}", p)
    velo = calib.Tr_velo_to_cam
    imu = np.eye(3, 4) if calib.Tr_imu_to_velo is None else calib.Tr_imu_to_velo
    return [
        atomic_write_text(d / "calib_cam_to_cam.txt", text),
        atomic_write_text(
            d / "calib_velo_to_cam.txt",
            f"calib_time: {calib_time}\n" + _line("R", velo[:, :3]) + _line("T", velo[:, 3])
            + _line("delta_f", [0.0, 0.0]) + _line("delta_c", [0.0, 0.0]),
        ),
        atomic_write_text(
            d / "calib_imu_to_velo.txt",
            f"calib_time: {calib_time}\n" + _line("R", imu[:, :3]) + _line("T", imu[:, 3]),
        ),
    ]  # fmt: skip
