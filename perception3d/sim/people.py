"""Procedural pedestrian and cyclist meshes (articulated stick figures with volume).

Object frame: x forward (walking / riding direction), y left, z up; the returned mesh is
re-centred so its bounding box is centred on x = y = 0 with its lowest point at z = 0 (a label
box drawn around it is tight). Body proportions are fractions of the stature after Drillis and
Contini's segment-length table (1966): hip 0.53 H, knee 0.285 H, shoulder 0.818 H, elbow 0.63 H,
wrist 0.485 H, head 0.13 H. Parts: ``skin``, ``hair``, ``shirt``, ``pants``, ``shoes`` and, for the
bicycle, ``frame`` and ``tyre``.

Example:
    >>> m = pedestrian_mesh(1.75, walk_phase=0.25)
    >>> bool(abs(m.bounds[1, 2] - 1.75) < 1e-9 and m.bounds[0, 2] == 0.0)
    True
"""

from __future__ import annotations

import numpy as np

from perception3d.sim.meshes import Mesh, box, ellipsoid, merge, torus, tube

__all__ = ["cyclist_mesh", "pedestrian_mesh"]


def _limb(points, radii, part: str) -> list[Mesh]:
    """Tubes through consecutive points (a leg: hip, knee, ankle)."""
    return [tube(a, b, r, segments=6, part=part) for a, b, r in zip(points[:-1], points[1:], radii)]


def _swing(origin, length_a, length_b, angle_a, bend, down=-1.0):
    """Two-segment limb hanging from ``origin`` swung by ``angle_a`` (rad, forward positive)
    in the x-z plane, the lower segment bent by ``bend`` more. Returns the three joints."""
    o = np.asarray(origin, np.float64)
    a = o + length_a * np.array([np.sin(angle_a), 0.0, down * np.cos(angle_a)])
    b = a + length_b * np.array([np.sin(angle_a + bend), 0.0, down * np.cos(angle_a + bend)])
    return [o, a, b]


def _head_and_torso(h: float, hip: np.ndarray, neck: np.ndarray, shoulder_w: float) -> list[Mesh]:
    torso_mid = (hip + neck) / 2
    torso = ellipsoid(
        (0.11 * h / 1.75, shoulder_w / 2, (neck[2] - hip[2]) / 2 + 0.03),
        torso_mid,
        rings=6,
        segments=10,
        part="shirt",
    )
    head_r = 0.065 * h
    head_c = neck + np.array([0.01, 0.0, head_r + 0.025 * h])
    head = ellipsoid(
        (head_r * 0.95, head_r * 0.85, head_r), head_c, rings=6, segments=10, part="skin"
    )
    hair = ellipsoid(
        (head_r, head_r * 0.9, head_r * 0.6),
        head_c + np.array([-0.01, 0.0, 0.45 * head_r]),
        rings=4,
        segments=10,
        part="hair",
    )
    neck_m = tube(
        neck - np.array([0, 0, 0.02]),
        head_c - np.array([0, 0, 0.6 * head_r]),
        0.03 * h / 1.75,
        part="skin",
    )
    return [torso, head, hair, neck_m]


def _recentre(mesh: Mesh, height: float | None = None) -> Mesh:
    """Centre the bounding box on x = y = 0, lowest point at z = 0, top at ``height``."""
    lo, hi = mesh.bounds
    verts = mesh.vertices - np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]])
    if height is not None:
        verts[:, 2] *= height / (hi[2] - lo[2])
    return Mesh(verts, mesh.triangles, mesh.parts, mesh.part_names)


def pedestrian_mesh(
    height: float, walk_phase: float = 0.0, stride: float = 0.3, shoulder_width: float | None = None
) -> Mesh:
    """A standing or walking person of stature ``height`` metres.

    Args:
        height: stature, 1.0-2.2 m.
        walk_phase: gait phase in cycles (0.25: right leg forward, 0.75: left leg forward).
        stride: leg swing amplitude in radians (0: standing).
        shoulder_width: metres; default 0.24 H.

    Raises:
        ValueError: stature outside 1.0-2.2 m.
    """
    if not 1.0 <= height <= 2.2:
        raise ValueError(f"pedestrian height must be in [1.0, 2.2] m, got {height}")
    h = height
    sw = 0.24 * h if shoulder_width is None else shoulder_width
    swing = stride * np.sin(2 * np.pi * walk_phase)
    parts: list[Mesh] = []
    hip_z, shoulder_z = 0.53 * h, 0.818 * h
    thigh, shin = 0.53 * h - 0.285 * h, 0.285 * h - 0.04 * h
    upper_arm, fore_arm = 0.818 * h - 0.63 * h, 0.63 * h - 0.46 * h
    for side, sign in ((1, 1.0), (-1, -1.0)):
        hip = np.array([0.0, side * 0.055 * h, hip_z])
        a = sign * swing
        knee_bend = -0.6 * max(0.0, -np.sin(2 * np.pi * walk_phase) * sign) * (stride > 0)
        leg = _swing(hip, thigh, shin, a, knee_bend)
        parts += _limb(leg, (0.06 * h / 1.75, 0.045 * h / 1.75), "pants")
        foot = leg[-1] + np.array([0.05, 0.0, -0.02 * h])
        parts.append(
            box(
                (0.22 * h / 1.75, 0.09, 0.06 * h / 1.75),
                foot + np.array([0, 0, 0.01]),
                part="shoes",
            )
        )
        shoulder = np.array([0.0, side * (sw / 2 - 0.02), shoulder_z])
        arm = _swing(shoulder, upper_arm, fore_arm, -0.7 * a, 0.25 * abs(a) + 0.1)
        parts += _limb(arm, (0.04 * h / 1.75, 0.033 * h / 1.75), "shirt")
        parts.append(
            ellipsoid(
                (0.04, 0.03, 0.05),
                arm[-1] - np.array([0, 0, 0.04]),
                rings=3,
                segments=6,
                part="skin",
            )
        )
    parts += _head_and_torso(
        h, np.array([0.0, 0.0, hip_z]), np.array([0.0, 0.0, shoulder_z + 0.02 * h]), sw
    )
    return _recentre(merge(parts), height)


def _bicycle(
    wheel_r: float = 0.34, wheelbase: float = 1.04, bar_width: float = 0.56
) -> tuple[list[Mesh], dict]:
    """Bicycle in the object frame, rear wheel at -wheelbase/2; returns parts and key points."""
    xr, xf, zc = -wheelbase / 2, wheelbase / 2, wheel_r + 0.025
    parts = [
        torus(wheel_r, 0.025, (x, 0.0, zc), axis="y", segments=20, tube_segments=4, part="tyre")
        for x in (xr, xf)
    ]
    bb = np.array([0.02, 0.0, 0.30])  # bottom bracket
    seat = np.array([-0.18, 0.0, 0.88])
    head = np.array([0.38, 0.0, 0.85])
    bar = head + np.array([-0.04, 0.0, 0.12])
    r = 0.018
    for a, b in (
        (bb, seat),
        (seat + np.array([0.02, 0, -0.1]), head),
        (bb, head - np.array([0, 0, 0.05])),
        (bb, [xr, 0, zc]),
        (seat + np.array([0.02, 0, -0.1]), [xr, 0, zc]),
        (head, [xf, 0, zc]),
    ):
        parts.append(tube(a, b, r, segments=5, part="frame"))
    parts.append(
        tube(
            bar + np.array([0, bar_width / 2, 0]),
            bar - np.array([0, bar_width / 2, 0]),
            0.015,
            segments=5,
            part="frame",
        )
    )
    parts.append(box((0.24, 0.12, 0.05), seat + np.array([0, 0, 0.02]), part="frame"))  # saddle
    return parts, {"bb": bb, "seat": seat + np.array([0, 0, 0.05]), "bar": bar, "bar_w": bar_width}


def cyclist_mesh(
    rider_height: float = 1.75,
    crank_phase: float = 0.0,
    wheel_radius: float = 0.34,
    wheelbase: float = 1.04,
) -> Mesh:
    """A rider on a bicycle (one KITTI "Cyclist" box), riding along +x.

    Args:
        rider_height: the rider's stature, 1.4-2.1 m.
        crank_phase: pedal position in cycles.
        wheel_radius, wheelbase: bicycle geometry, metres.

    Raises:
        ValueError: rider stature outside 1.4-2.1 m.
    """
    if not 1.4 <= rider_height <= 2.1:
        raise ValueError(f"rider height must be in [1.4, 2.1] m, got {rider_height}")
    h = rider_height
    parts, key = _bicycle(wheel_radius, wheelbase)
    scale = h / 1.75
    hip = key["seat"] + np.array([0.0, 0.0, 0.02])
    neck = hip + scale * np.array([0.28, 0.0, 0.48])  # torso leaning forward
    parts += _head_and_torso(h, hip, neck, 0.24 * h)
    crank = 0.17
    for side, phase in ((1, crank_phase), (-1, crank_phase + 0.5)):
        ang = 2 * np.pi * phase
        pedal = key["bb"] + np.array([crank * np.cos(ang), side * 0.1, crank * np.sin(ang)])
        hip_s = hip + np.array([0.0, side * 0.09, 0.0])
        knee = _knee(hip_s, pedal, 0.245 * h, 0.245 * h + 0.04)
        parts += _limb([hip_s, knee, pedal], (0.06 * scale, 0.045 * scale), "pants")
        parts.append(box((0.2 * scale, 0.08, 0.05), pedal + np.array([0.03, 0, 0.0]), part="shoes"))
        shoulder = neck + np.array([0.0, side * 0.11 * h / 1.75, -0.03])
        grip = key["bar"] + np.array([0.0, side * key["bar_w"] / 2 * 0.8, 0.0])
        elbow = (shoulder + grip) / 2 + np.array([0.0, side * 0.04, 0.03])
        parts += _limb([shoulder, elbow, grip], (0.04 * scale, 0.033 * scale), "shirt")
    return _recentre(merge(parts))


def _knee(hip: np.ndarray, foot: np.ndarray, thigh: float, shin: float) -> np.ndarray:
    """Knee joint of a two-segment leg from ``hip`` to ``foot``, bent forward (+x)."""
    d = foot - hip
    dist = min(float(np.linalg.norm(d)), thigh + shin - 1e-6)
    along = (thigh**2 - shin**2 + dist**2) / (2 * dist)
    up = np.sqrt(max(thigh**2 - along**2, 0.0))
    u = d / np.linalg.norm(d)
    perp = np.array([-u[2], 0.0, u[0]])  # in the x-z plane
    if perp[0] < 0:
        perp = -perp
    return hip + along * u + up * perp
