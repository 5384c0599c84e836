"""Global augmentations of a whole LiDAR sample: a vertical curve of the road, flip about x,
rotation about z, tilt about x and y, scaling, translation. Boxes follow the points exactly (a
tilt or a curve moves box centres and keeps boxes upright, as KITTI's labels are).

Each deterministic function (``flip_x``, ``rotate_z``, ``scale``, ``translate``) has a random
transform (``RandomFlipX``...) drawing its parameter from ``rng``; the transforms follow the
pipeline contract of :mod:`perception3d.data.sample` (``transform(sample, rng) -> sample``).
They are small frozen dataclasses, so DataLoader workers can pickle them.

Physical meaning (the sensor sits at the origin): a rotation about z is an azimuth shift and
keeps every ray on its beam; a flip about x mirrors the scan, still a valid scan; scaling moves
points along their rays (elevations unchanged) but changes the point spacing an object of that
size would have at that range; translation moves the sensor off the origin; a tilt turns the
sensor's mount against the road (real roads roll and pitch by a degree or two against the
sensor, crossfall and grade: docs/sim2real.md), which moves its beam cones, by at most the
tilt. A vertical curve bends the scene up or down with distance ahead (z += k x^2: the crest or
sag of a road whose grade changes, so a car 40 m ahead stands up to half a metre above or below
the plane of the road under the sensor, as on real KITTI drives; docs/sim2real.md, "Rows 44-45");
it keeps x, y and every ray's azimuth, and moves a return off its beam by at most
atan(k x) radians (under 0.7 degrees at 40 m for the shipped k). The ranges used by
PointPillars/SECOND (rotation +-pi/4, scale 0.95-1.05) come from OpenPCDet's KITTI configs.

The sample's ``calib`` describes the frame before augmentation; crop to the camera field of
view before these transforms, not after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.data.sample import LidarSample, Transform
from perception3d.geometry.boxes import rotate_boxes_z, rotate_points_z
from perception3d.geometry.calib import limit_period


@dataclass(frozen=True)
class GlobalAugConfig:
    """Global augmentation parameters (the ``augmentation.global_transform`` config section).

    Attributes:
        flip_x_prob: probability of mirroring about the x axis (y -> -y).
        rotation_rad: ``(low, high)`` uniform rotation about +z, radians.
        scale: ``(low, high)`` uniform scale factor.
        translation_std_m: ``(sx, sy, sz)`` Gaussian translation std, metres.
        tilt_deg: ``(roll, pitch)`` maximum absolute tilt about x and y, uniform, degrees.
        vertical_curve_per_m: maximum absolute curvature k (1/m) of :func:`vertical_curve`,
            uniform in ``[-k, k]``; 0 leaves it out.
    """

    flip_x_prob: float = 0.5
    rotation_rad: tuple[float, float] = (-0.7854, 0.7854)
    scale: tuple[float, float] = (0.95, 1.05)
    translation_std_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tilt_deg: tuple[float, float] = (0.0, 0.0)
    vertical_curve_per_m: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.flip_x_prob <= 1.0:
            raise ValueError(f"flip_x_prob must be in [0, 1], got {self.flip_x_prob}")
        if self.rotation_rad[0] > self.rotation_rad[1] or self.scale[0] > self.scale[1]:
            raise ValueError("rotation_rad and scale must be (low, high) with low <= high")
        if self.scale[0] <= 0:
            raise ValueError(f"scale must be positive, got {self.scale}")
        if min(self.translation_std_m) < 0:
            raise ValueError(f"translation_std_m must be >= 0, got {self.translation_std_m}")
        if min(self.tilt_deg) < 0:
            raise ValueError(f"tilt_deg must be >= 0, got {self.tilt_deg}")
        if not 0.0 <= self.vertical_curve_per_m < 0.01:
            raise ValueError(
                f"vertical_curve_per_m must be in [0, 0.01) (1/m; real roads: about 3e-4), "
                f"got {self.vertical_curve_per_m}"
            )


def flip_x(sample: LidarSample) -> LidarSample:
    """Mirror about the x axis (the x-z plane): y -> -y, heading -> -heading.

    Example:
        >>> s = LidarSample("0", np.array([[1, 2, 0, 0.5]], "f4"),
        ...                 np.array([[1.0, 2, 0, 4, 2, 1, 0.3]]), np.array(["Car"], object))
        >>> flip_x(s).points[0, :2].tolist(), round(float(flip_x(s).boxes_lidar[0, 6]), 3)
        ([1.0, -2.0], -0.3)
    """
    points = sample.points.copy()
    points[:, 1] *= -1
    boxes = sample.boxes_lidar.copy()
    boxes[:, 1] *= -1
    boxes[:, 6] = limit_period(-boxes[:, 6])
    return sample.with_(points=points, boxes_lidar=boxes)


def rotate_z(sample: LidarSample, angle_rad: float) -> LidarSample:
    """Rotate points and boxes counter-clockwise about the sensor's +z axis."""
    points = rotate_points_z(sample.points, angle_rad).astype(sample.points.dtype)
    return sample.with_(points=points, boxes_lidar=rotate_boxes_z(sample.boxes_lidar, angle_rad))


def scale(sample: LidarSample, factor: float) -> LidarSample:
    """Scale positions and box sizes about the sensor origin by ``factor``."""
    points = sample.points.copy()
    points[:, :3] *= factor
    boxes = sample.boxes_lidar.copy()
    boxes[:, :6] *= factor
    return sample.with_(points=points, boxes_lidar=boxes)


def tilt(sample: LidarSample, roll_rad: float, pitch_rad: float) -> LidarSample:
    """Rotate points and box centres about +x by ``roll_rad``, then about +y by ``pitch_rad``;
    boxes stay upright (sizes and headings kept).

    Example:
        >>> s = LidarSample("0", np.array([[10, 0, 0, 0.5]], "f4"),
        ...                 np.array([[10.0, 0, 0, 4, 2, 1, 0.3]]), np.array(["Car"], object))
        >>> t = tilt(s, 0.0, np.radians(1.0))  # the ground ahead drops: pitch down
        >>> np.round(t.points[0, :3].astype(float), 3).tolist(), float(t.boxes_lidar[0, 6])
        ([9.998, 0.0, -0.175], 0.3)
    """
    cr, sr, cp, sp = np.cos(roll_rad), np.sin(roll_rad), np.cos(pitch_rad), np.sin(pitch_rad)
    rot_x = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
    rot_y = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
    rot = rot_y @ rot_x
    points = sample.points.copy()
    points[:, :3] = (points[:, :3].astype(np.float64) @ rot.T).astype(points.dtype)
    boxes = sample.boxes_lidar.copy()
    boxes[:, :3] = boxes[:, :3] @ rot.T
    return sample.with_(points=points, boxes_lidar=boxes)


def vertical_curve(sample: LidarSample, k_per_m: float) -> LidarSample:
    """Bend the scene vertically with distance ahead: every point and box centre rises by
    ``k_per_m * x**2`` metres (LiDAR frame, x ahead; k > 0 a sag, the road ahead climbs; k < 0 a
    crest). Boxes stay upright with their sizes and headings (KITTI boxes have no pitch); the
    points of a box follow their own x, so a car 40 m ahead on k = 3e-4 is pitched by 1.4
    degrees inside its box, as a car on that grade is.

    Example:
        >>> s = LidarSample("0", np.array([[40, 2, -1.7, 0.5]], "f4"),
        ...                 np.array([[40.0, 2, -1.0, 4, 2, 1.4, 0.3]]), np.array(["Car"], object))
        >>> c = vertical_curve(s, 3e-4)
        >>> round(float(c.points[0, 2]), 3), round(float(c.boxes_lidar[0, 2]), 3)
        (-1.22, -0.52)
    """
    points = sample.points.copy()
    x = points[:, 0].astype(np.float64)
    points[:, 2] = (points[:, 2] + k_per_m * x * x).astype(points.dtype)
    boxes = sample.boxes_lidar.copy()
    boxes[:, 2] += k_per_m * boxes[:, 0] ** 2
    return sample.with_(points=points, boxes_lidar=boxes)


def translate(sample: LidarSample, offset_m) -> LidarSample:
    """Add ``offset_m`` (3,) metres to every point and box centre."""
    off = np.asarray(offset_m, dtype=np.float64).reshape(3)
    points = sample.points.copy()
    points[:, :3] += off.astype(points.dtype)
    boxes = sample.boxes_lidar.copy()
    boxes[:, :3] += off
    return sample.with_(points=points, boxes_lidar=boxes)


@dataclass(frozen=True)
class RandomFlipX:
    """Apply :func:`flip_x` with probability ``prob``."""

    prob: float = 0.5

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        return flip_x(sample) if rng.random() < self.prob else sample


@dataclass(frozen=True)
class RandomRotationZ:
    """Apply :func:`rotate_z` with an angle uniform in ``[low_rad, high_rad]``."""

    low_rad: float
    high_rad: float

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        return rotate_z(sample, float(rng.uniform(self.low_rad, self.high_rad)))


@dataclass(frozen=True)
class RandomScaling:
    """Apply :func:`scale` with a factor uniform in ``[low, high]``."""

    low: float
    high: float

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        return scale(sample, float(rng.uniform(self.low, self.high)))


@dataclass(frozen=True)
class RandomTilt:
    """Apply :func:`tilt` with roll and pitch uniform in ``[-max, max]`` (radians)."""

    max_roll_rad: float
    max_pitch_rad: float

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        roll, pitch = rng.uniform(-1.0, 1.0, 2) * (self.max_roll_rad, self.max_pitch_rad)
        return tilt(sample, float(roll), float(pitch))


@dataclass(frozen=True)
class RandomVerticalCurve:
    """Apply :func:`vertical_curve` with k uniform in ``[-max_k_per_m, max_k_per_m]``."""

    max_k_per_m: float

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        return vertical_curve(sample, float(rng.uniform(-1.0, 1.0) * self.max_k_per_m))


@dataclass(frozen=True)
class RandomTranslation:
    """Apply :func:`translate` with a Gaussian offset of std ``std_m`` (3,) metres."""

    std_m: tuple[float, float, float]

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        return translate(sample, rng.normal(0.0, 1.0, 3) * np.asarray(self.std_m))


def global_transforms(cfg: GlobalAugConfig) -> list[Transform]:
    """The transform list of ``cfg`` in the usual order (vertical curve, flip, rotate, tilt, scale,
    translate); transforms that would do nothing are left out. The curve comes first: it bends
    the road ahead of the sensor, before a rotation turns the scene away from the road."""
    out: list[Transform] = []
    if cfg.vertical_curve_per_m > 0:
        out.append(RandomVerticalCurve(cfg.vertical_curve_per_m))
    if cfg.flip_x_prob > 0:
        out.append(RandomFlipX(cfg.flip_x_prob))
    if cfg.rotation_rad != (0.0, 0.0):
        out.append(RandomRotationZ(*cfg.rotation_rad))
    if max(cfg.tilt_deg) > 0:
        out.append(RandomTilt(*np.radians(cfg.tilt_deg).tolist()))
    if cfg.scale != (1.0, 1.0):
        out.append(RandomScaling(*cfg.scale))
    if max(cfg.translation_std_m) > 0:
        out.append(RandomTranslation(cfg.translation_std_m))
    return out
