"""Procedural people: walking and standing pedestrians in varied poses, people sitting, and
cyclists on bicycles (articulated figures with volume).

Object frame: x forward (walking / riding direction), y left, z up; a returned mesh is
re-centred so its bounding box is centred on x = y = 0 with its lowest point at z = 0. Body
proportions are fractions of the stature H after Drillis and Contini's segment-length table
(1966): hip 0.53 H, knee 0.285 H, shoulder 0.818 H, elbow 0.63 H, wrist 0.485 H, head 0.13 H;
segment girths after typical adult anthropometry (thigh 0.08 H / 1.75 m radius, chest 0.2 m
deep). Poses: the gait phase and stride of the legs; arms swinging, hanging, in the pockets,
holding a phone, or carrying a bag; a backpack or a long coat. Parts: ``skin``, ``hair``,
``shirt`` (jacket, coat), ``pants``, ``shoes``, ``bag`` and, for bicycles, ``frame``,
``tyre``.

Example:
    >>> m = pedestrian_mesh(1.75, walk_phase=0.25)
    >>> bool(abs(m.bounds[1, 2] - 1.75) < 1e-9 and m.bounds[0, 2] == 0.0)
    True
"""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

import numpy as np

from perception3d.sim.meshes import Mesh, box, ellipse_stack, ellipsoid, merge, torus, tube

__all__ = ["ARM_POSES", "bicycle_mesh", "cyclist_mesh", "pedestrian_mesh", "sitting_mesh"]

ArmPose = Literal["swing", "hang", "pockets", "phone", "bag"]
ARM_POSES: tuple[str, ...] = ("swing", "hang", "pockets", "phone", "bag")


def _v(x: float, y: float, z: float) -> np.ndarray:
    """A 3-vector (offsets added to joints)."""
    return np.array([x, y, z], np.float64)


def _limb(points, radii, part: str) -> list[Mesh]:
    """Tubes through consecutive points (a leg: hip, knee, ankle), tapering."""
    out = []
    for (a, b), (r0, r1) in zip(pairwise(points), pairwise(radii)):
        out.append(tube(a, b, r0, segments=6, part=part, radius1=r1))
    return out


def _swing(origin, length_a, length_b, angle_a, bend, down=-1.0):
    """Two-segment limb hanging from ``origin`` swung by ``angle_a`` (rad, forward positive)
    in the x-z plane, the lower segment bent by ``bend`` more. Returns the three joints."""
    o = np.asarray(origin, np.float64)
    a = o + length_a * np.array([np.sin(angle_a), 0.0, down * np.cos(angle_a)])
    b = a + length_b * np.array([np.sin(angle_a + bend), 0.0, down * np.cos(angle_a + bend)])
    return [o, a, b]


def _torso(h: float, hip: np.ndarray, neck: np.ndarray, shoulder_w: float, coat: bool) -> Mesh:
    """Hips, waist, chest and shoulders as horizontal ellipses (a coat flares to the knees)."""
    s = h / 1.75
    t = np.array([0.0, 0.25, 0.6, 0.88, 1.0])  # hip .. neck
    centers = hip + t[:, None] * (neck - hip)
    radii = np.array(
        [[0.11 * s, 0.17 * s], [0.10 * s, 0.15 * s], [0.12 * s, 0.18 * s],
         [0.10 * s, shoulder_w / 2], [0.06 * s, 0.08 * s]]
    )  # fmt: skip
    if coat:
        knee = hip - np.array([0.0, 0.0, 0.2 * h])
        centers = np.concatenate([[knee, hip - _v(0, 0, 0.1 * h)], centers])
        radii = np.concatenate([[[0.16 * s, 0.21 * s], [0.14 * s, 0.19 * s]], radii])
    return ellipse_stack(centers, radii, segments=10, part="shirt")


def _head(h: float, neck: np.ndarray) -> list[Mesh]:
    head_r = 0.065 * h
    c = neck + np.array([0.01, 0.0, head_r + 0.025 * h])
    head = ellipsoid((head_r * 0.95, head_r * 0.8, head_r), c, rings=6, segments=10, part="skin")
    hair = ellipsoid(
        (head_r, head_r * 0.86, head_r * 0.6), c + _v(-0.012, 0, 0.45 * head_r), 4, 10, "hair"
    )
    neck_m = tube(neck - _v(0, 0, 0.02), c - _v(0, 0, 0.6 * head_r), 0.032 * h / 1.75, part="skin")
    return [head, hair, neck_m]


def _arm(shoulder: np.ndarray, side: int, h: float, pose: str, swing: float) -> list[Mesh]:
    """Upper arm, forearm and hand of one side (side +1 left, -1 right) in ``pose``."""
    upper, fore = 0.188 * h, 0.17 * h
    s = h / 1.75
    if pose == "swing":
        joints = _swing(shoulder, upper, fore, -0.7 * swing, 0.25 * abs(swing) + 0.1)
    elif pose == "pockets" or (pose == "bag" and side < 0):
        elbow = shoulder + _v(-0.03 * s, side * 0.06 * s, -upper)
        hand = np.array([0.05 * s, shoulder[1] - side * 0.02, 0.50 * h])
        joints = [shoulder, elbow, hand]
    elif pose == "phone" and side < 0:
        elbow = shoulder + _v(0.04 * s, side * 0.05 * s, -0.9 * upper)
        hand = shoulder + _v(0.02 * s, -side * 0.03 * s, 0.1 * h)
        joints = [shoulder, elbow, hand]
    else:  # hanging, slightly out from the body
        joints = _swing(shoulder, upper, fore, 0.05, 0.12)
        joints[1][1] += side * 0.025 * s
        joints[2][1] += side * 0.035 * s
    out = _limb(joints, (0.045 * s, 0.037 * s, 0.03 * s), "shirt")
    out.append(ellipsoid((0.04, 0.025, 0.05), joints[-1] - _v(0, 0, 0.04), 3, 6, "skin"))
    if pose == "bag" and side > 0:
        out.append(box((0.28 * s, 0.1 * s, 0.3 * s), joints[-1] - _v(0, 0, 0.2 * s), "bag"))
    return out


def _legs(h: float, walk_phase: float, stride: float) -> list[Mesh]:
    s = h / 1.75
    swing = stride * np.sin(2 * np.pi * walk_phase)
    out = []
    for side in (1, -1):
        hip = np.array([0.0, side * 0.085 * s, 0.53 * h])
        a = side * swing
        knee_bend = -0.6 * max(0.0, -np.sin(2 * np.pi * walk_phase) * side) * (stride > 0)
        leg = _swing(hip, 0.245 * h, 0.245 * h, a, knee_bend)
        out += _limb(leg, (0.08 * s, 0.055 * s, 0.042 * s), "pants")
        foot = leg[-1] + _v(0.05, 0.0, -0.02 * h)
        out.append(box((0.25 * s, 0.1 * s, 0.07 * s), foot + _v(0, 0, 0.01), "shoes"))
    return out


def _recentre(mesh: Mesh, height: float | None = None) -> Mesh:
    """Centre the bounding box on x = y = 0, lowest point at z = 0, top at ``height``."""
    lo, hi = mesh.bounds
    verts = mesh.vertices - np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]])
    if height is not None:
        verts[:, 2] *= height / (hi[2] - lo[2])
    return Mesh(verts, mesh.triangles, mesh.parts, mesh.part_names)


def pedestrian_mesh(
    height: float,
    walk_phase: float = 0.0,
    stride: float = 0.3,
    shoulder_width: float | None = None,
    arms: ArmPose = "swing",
    backpack: bool = False,
    coat: bool = False,
) -> Mesh:
    """A standing or walking person of stature ``height`` metres.

    Args:
        height: stature, 1.0-2.2 m.
        walk_phase: gait phase in cycles (0.25: right leg forward, 0.75: left leg forward).
        stride: leg swing amplitude in radians (0: standing).
        shoulder_width: metres; default 0.24 H.
        arms: one of :data:`ARM_POSES` ("swing" follows the legs; "bag": the left hand holds
            a bag; "phone": the right hand at the ear).
        backpack, coat: a backpack on the back; a coat to the knees.

    Raises:
        ValueError: stature outside 1.0-2.2 m or an unknown arm pose.
    """
    if not 1.0 <= height <= 2.2:
        raise ValueError(f"pedestrian height must be in [1.0, 2.2] m, got {height}")
    if arms not in ARM_POSES:
        raise ValueError(f"arms must be one of {ARM_POSES}, got {arms!r}")
    h = height
    sw = 0.24 * h if shoulder_width is None else shoulder_width
    swing = stride * np.sin(2 * np.pi * walk_phase)
    hip = np.array([0.0, 0.0, 0.53 * h])
    neck = np.array([0.0, 0.0, 0.818 * h + 0.02 * h])
    parts = [*_legs(h, walk_phase, stride), _torso(h, hip, neck, sw, coat), *_head(h, neck)]
    for side in (1, -1):
        shoulder = np.array([0.0, side * (sw / 2 - 0.02), 0.818 * h])
        parts += _arm(shoulder, side, h, arms, side * swing)
    if backpack:
        s = h / 1.75
        parts.append(box((0.16 * s, 0.3 * s, 0.4 * s), (-0.17 * s, 0.0, 0.69 * h), "bag"))
    return _recentre(merge(parts), height)


def sitting_mesh(height: float, seat_height: float = 0.45, lean: float = 0.1) -> Mesh:
    """A person of stature ``height`` sitting on a seat ``seat_height`` high (KITTI's
    ``Person_sitting``; the seat itself is scenery), facing +x.

    Raises:
        ValueError: stature outside 1.0-2.2 m.
    """
    if not 1.0 <= height <= 2.2:
        raise ValueError(f"sitting person's height must be in [1.0, 2.2] m, got {height}")
    h, s = height, height / 1.75
    hip = np.array([0.0, 0.0, seat_height + 0.06 * s])
    neck = hip + np.array([np.sin(lean), 0.0, np.cos(lean)]) * (0.288 * h + 0.02 * h)
    parts = [_torso(h, hip, neck, 0.24 * h, False), *_head(h, neck)]
    for side in (1, -1):
        hip_s = hip + _v(0.0, side * 0.09 * s, 0.0)
        knee = hip_s + _v(0.245 * h, side * 0.03 * s, 0.0)
        ankle = np.array([knee[0] + 0.05, knee[1], 0.08 * s])
        parts += _limb([hip_s, knee, ankle], (0.08 * s, 0.055 * s, 0.042 * s), "pants")
        parts.append(box((0.25 * s, 0.1 * s, 0.07 * s), ankle + _v(0.06, 0, -0.045 * s), "shoes"))
        shoulder = neck - _v(0.0, 0.0, 0.02 * h) + _v(0.0, side * 0.1 * h, 0.0)
        elbow = shoulder + _v(0.08 * s, side * 0.03 * s, -0.17 * h)
        hand = knee - _v(0.1 * s, 0.0, -0.06 * s)
        parts += _limb([shoulder, elbow, hand], (0.045 * s, 0.037 * s, 0.03 * s), "shirt")
    return _recentre(merge(parts))


def bicycle_mesh(
    wheel_radius: float = 0.34, wheelbase: float = 1.04, bar_width: float = 0.56
) -> Mesh:
    """A bicycle along +x (parts ``tyre`` and ``frame``), wheels on z = 0, not re-centred:
    the rear axle at x = -wheelbase / 2, the front one at +wheelbase / 2."""
    return merge(_bicycle(wheel_radius, wheelbase, bar_width)[0])


def _bicycle(
    wheel_r: float = 0.34, wheelbase: float = 1.04, bar_width: float = 0.56
) -> tuple[list[Mesh], dict]:
    """Bicycle in the object frame, rear wheel at -wheelbase/2; returns parts and key points."""
    xr, xf, zc = -wheelbase / 2, wheelbase / 2, wheel_r + 0.025
    parts = [
        torus(wheel_r, 0.025, (x, 0.0, zc), axis="y", segments=14, tube_segments=3, part="tyre")
        for x in (xr, xf)
    ]
    k = wheel_r / 0.34
    bb = np.array([0.02, 0.0, 0.30 * k])  # bottom bracket
    seat = np.array([-0.18, 0.0, 0.54 + 0.34 * k])
    head = np.array([xf - 0.14, 0.0, 0.51 + 0.34 * k])
    bar = head + np.array([-0.04, 0.0, 0.12])
    for a, b in (
        (bb, seat),
        (seat + np.array([0.02, 0, -0.1]), head),
        (bb, head - np.array([0, 0, 0.05])),
        (bb, [xr, 0, zc]),
        (seat + np.array([0.02, 0, -0.1]), [xr, 0, zc]),
        (head, [xf, 0, zc]),
    ):
        parts.append(tube(a, b, 0.018, segments=5, part="frame"))
    half = np.array([0, bar_width / 2, 0])
    parts.append(tube(bar + half, bar - half, 0.015, segments=5, part="frame"))
    parts.append(box((0.24, 0.12, 0.05), seat + np.array([0, 0, 0.02]), part="frame"))  # saddle
    return parts, {"bb": bb, "seat": seat + np.array([0, 0, 0.05]), "bar": bar, "bar_w": bar_width}


def cyclist_mesh(
    rider_height: float = 1.75,
    crank_phase: float = 0.0,
    wheel_radius: float = 0.34,
    wheelbase: float = 1.04,
    bar_width: float = 0.56,
    backpack: bool = False,
) -> Mesh:
    """A rider on a bicycle (one KITTI "Cyclist" box), riding along +x.

    Args:
        rider_height: the rider's stature, 1.4-2.1 m.
        crank_phase: pedal position in cycles.
        wheel_radius, wheelbase, bar_width: bicycle geometry, metres.
        backpack: the rider wears one.

    Raises:
        ValueError: rider stature outside 1.4-2.1 m.
    """
    if not 1.4 <= rider_height <= 2.1:
        raise ValueError(f"rider height must be in [1.4, 2.1] m, got {rider_height}")
    h = rider_height
    parts, key = _bicycle(wheel_radius, wheelbase, bar_width)
    scale = h / 1.75
    hip = key["seat"] + np.array([0.0, 0.0, 0.02])
    neck = hip + scale * np.array([0.28, 0.0, 0.48])  # torso leaning forward
    parts += [_torso(h, hip, neck, 0.24 * h, False), *_head(h, neck)]
    crank = 0.17
    for side, phase in ((1, crank_phase), (-1, crank_phase + 0.5)):
        ang = 2 * np.pi * phase
        pedal = key["bb"] + np.array([crank * np.cos(ang), side * 0.1, crank * np.sin(ang)])
        hip_s = hip + np.array([0.0, side * 0.09, 0.0])
        knee = _knee(hip_s, pedal, 0.245 * h, 0.245 * h + 0.04)
        parts += _limb([hip_s, knee, pedal], (0.075 * scale, 0.055 * scale, 0.042 * scale), "pants")
        parts.append(box((0.2 * scale, 0.08, 0.05), pedal + np.array([0.03, 0, 0.0]), part="shoes"))
        shoulder = neck + np.array([0.0, side * 0.11 * h / 1.75, -0.03])
        grip = key["bar"] + np.array([0.0, side * key["bar_w"] / 2 * 0.8, 0.0])
        elbow = (shoulder + grip) / 2 + np.array([0.0, side * 0.04, 0.03])
        parts += _limb(
            [shoulder, elbow, grip], (0.045 * scale, 0.037 * scale, 0.03 * scale), "shirt"
        )
    if backpack:
        centre = (hip + neck) / 2 + np.array([-0.16, 0.0, 0.05]) * scale
        parts.append(box((0.15 * scale, 0.3 * scale, 0.38 * scale), centre, "bag"))
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
