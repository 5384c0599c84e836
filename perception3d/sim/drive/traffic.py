"""How the road users move: the intelligent driver model (IDM) in the lanes, walkers on the
sidewalks and across the road, everything else standing still.

IDM (Treiber, Hennecke and Helbing, Phys. Rev. E 62, 2000): a follower at speed v, desired speed
v0, gap s and closing speed dv to its leader accelerates a [1 - (v / v0)^4 - (s* / s)^2] with
s* = s0 + v T + v dv / (2 sqrt(a b)). A vehicle's leaders are all other bodies ahead of it whose
footprint overlaps its lane corridor (cars, cyclists, people crossing), so the ego car slows for
a pedestrian on the road. Integrated with semi-implicit Euler steps of ``STEP_S``. World frame,
metres, seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.sim.drive.track import Track

__all__ = ["STEP_S", "Body", "IdmParams", "simulate"]

STEP_S = 0.05
_CORRIDOR_MARGIN_M = 0.3
_MAX_DECEL_MPS2 = 8.0  # emergency braking bound


@dataclass
class Body:
    """A road user's initial state and how it moves.

    Attributes:
        xyz_m: (3,) start position of the reference point, world frame.
        yaw_rad: heading.
        length_m, width_m: footprint along and across the heading.
        mode: "idm" (follows its lane along x), "walk" (constant velocity, stopping at
            ``stop_y_m``), "static".
        desired_speed_mps: IDM's v0, or the walking speed.
        speed_mps: start speed.
        stop_y_m: a walker crossing the road stops when its y reaches this (None: never).
        wander: (amplitude m, wavelength m, phase rad) of an IDM body's drift across its lane
            as a function of the distance travelled (the ego car), or None.
    """

    xyz_m: np.ndarray
    yaw_rad: float
    length_m: float
    width_m: float
    mode: str
    desired_speed_mps: float = 0.0
    speed_mps: float = 0.0
    stop_y_m: float | None = None
    wander: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class IdmParams:
    max_accel_mps2: float
    comfort_decel_mps2: float
    time_headway_s: float
    min_gap_m: float


def _half_extents(yaw: np.ndarray, length: np.ndarray, width: np.ndarray):
    """Half extents of footprints along x and y (axis-aligned bounds of the rotated boxes)."""
    c, s = np.abs(np.cos(yaw)), np.abs(np.sin(yaw))
    return 0.5 * (c * length + s * width), 0.5 * (s * length + c * width)


def _idm_accel(
    i: int, x, y, vx, hx, hy, direction: float, v: float, v0: float, p: IdmParams
) -> float:
    ahead = direction * (x - x[i])
    across = np.abs(y - y[i]) < hy + hy[i] + _CORRIDOR_MARGIN_M
    mask = across & (ahead > 0)
    mask[i] = False
    free = 1.0 - (v / max(v0, 1e-3)) ** 4
    if not mask.any():
        return p.max_accel_mps2 * free
    gaps = ahead[mask] - hx[mask] - hx[i]
    k = int(np.argmin(gaps))
    gap = max(float(gaps[k]), 0.1)
    dv = v - direction * float(vx[mask][k])
    s_star = p.min_gap_m + max(
        0.0, v * p.time_headway_s + v * dv / (2 * np.sqrt(p.max_accel_mps2 * p.comfort_decel_mps2))
    )
    return p.max_accel_mps2 * (free - (s_star / gap) ** 2)


def _safe_start_speeds(bodies: list[Body], p: IdmParams) -> None:
    """Lower IDM bodies' start speeds so they can stop behind what stands ahead of them."""
    x = np.array([b.xyz_m[0] for b in bodies])
    y = np.array([b.xyz_m[1] for b in bodies])
    yaw = np.array([b.yaw_rad for b in bodies])
    hx, hy = _half_extents(
        yaw, np.array([b.length_m for b in bodies]), np.array([b.width_m for b in bodies])
    )
    for i, b in enumerate(bodies):
        if b.mode != "idm":
            continue
        d = 1.0 if np.cos(b.yaw_rad) >= 0 else -1.0
        ahead = d * (x - x[i])
        mask = (np.abs(y - y[i]) < hy + hy[i] + _CORRIDOR_MARGIN_M) & (ahead > 0)
        mask[i] = False
        if mask.any():
            gap = float(np.min(ahead[mask] - hx[mask] - hx[i])) - p.min_gap_m
            b.speed_mps = min(b.speed_mps, float(np.sqrt(2 * p.comfort_decel_mps2 * max(gap, 0))))


def simulate(bodies: list[Body], p: IdmParams, t0_s: float, t1_s: float) -> list[Track]:
    """Move ``bodies`` from ``t0_s`` to (at least) ``t1_s``; one :class:`Track` per body.

    Tracks are sampled every ``STEP_S``; headings of IDM bodies follow their lane (plus the
    wander's slope), walkers keep theirs.
    """
    _safe_start_speeds(bodies, p)
    n_steps = int(np.ceil((t1_s - t0_s) / STEP_S)) + 1
    times = t0_s + STEP_S * np.arange(n_steps + 1)
    n = len(bodies)
    direction = np.array([1.0 if np.cos(b.yaw_rad) >= 0 else -1.0 for b in bodies])
    length = np.array([b.length_m for b in bodies])
    width = np.array([b.width_m for b in bodies])
    pos = np.array([b.xyz_m for b in bodies], np.float64).reshape(n, 3)
    lane_y = pos[:, 1].copy()
    travelled = np.zeros(n)
    speed = np.array([b.speed_mps for b in bodies], np.float64)
    yaw = np.array([b.yaw_rad for b in bodies], np.float64)
    walk_v = (
        np.array([[np.cos(b.yaw_rad), np.sin(b.yaw_rad)] for b in bodies])
        * np.array([b.desired_speed_mps if b.mode == "walk" else 0.0 for b in bodies])[:, None]
    )
    idm = [i for i, b in enumerate(bodies) if b.mode == "idm"]
    rec_pos, rec_yaw, rec_vel, rec_acc = [], [], [], []
    for _ in times:
        vel = np.zeros((n, 3))
        acc = np.zeros((n, 3))
        hx, hy = _half_extents(yaw, length, width)
        vel[:, :2] = walk_v
        for i in idm:
            vel[i, 0] = direction[i] * speed[i]
        for i in idm:
            a = _idm_accel(
                i, pos[:, 0], pos[:, 1], vel[:, 0], hx, hy, direction[i], speed[i],
                bodies[i].desired_speed_mps, p,
            )  # fmt: skip
            a = max(a, -_MAX_DECEL_MPS2)
            if speed[i] <= 0 and a < 0:
                a = 0.0
            acc[i, 0] = direction[i] * a
        for i in idm:  # the wander's slope turns the heading and the velocity
            w = bodies[i].wander
            if w is not None:
                amp, wavelength, phase = w
                k = 2 * np.pi / wavelength
                slope = amp * k * np.cos(k * travelled[i] + phase)
                yaw[i] = bodies[i].yaw_rad + np.arctan(slope)
                vel[i, 1] = speed[i] * slope
                acc[i, 1] = acc[i, 0] * slope - speed[i] ** 2 * amp * k * k * np.sin(
                    k * travelled[i] + phase
                )
        rec_pos.append(pos.copy())
        rec_yaw.append(yaw.copy())
        rec_vel.append(vel.copy())
        rec_acc.append(acc.copy())
        for i in idm:  # semi-implicit Euler
            speed[i] = max(speed[i] + STEP_S * direction[i] * acc[i, 0], 0.0)
            travelled[i] += speed[i] * STEP_S
            pos[i, 0] += direction[i] * speed[i] * STEP_S
            w = bodies[i].wander
            if w is not None:
                amp, wavelength, phase = w
                k = 2 * np.pi / wavelength
                pos[i, 1] = lane_y[i] + amp * (np.sin(k * travelled[i] + phase) - np.sin(phase))
        for i, b in enumerate(bodies):
            if b.mode != "walk":
                continue
            pos[i, :2] += walk_v[i] * STEP_S
            if b.stop_y_m is not None and (pos[i, 1] - b.stop_y_m) * walk_v[i, 1] >= 0:
                pos[i, 1] = b.stop_y_m
                walk_v[i] = 0.0
    pos_t, yaw_t = np.stack(rec_pos, 1), np.stack(rec_yaw, 1)  # (n, T, 3), (n, T)
    vel_t, acc_t = np.stack(rec_vel, 1), np.stack(rec_acc, 1)
    tracks = []
    for i in range(n):
        yaw_u = np.unwrap(yaw_t[i])
        yaw_rate = np.gradient(yaw_u, times)
        tracks.append(Track(times, pos_t[i], yaw_u, vel_t[i], acc_t[i], yaw_rate))
    return tracks
