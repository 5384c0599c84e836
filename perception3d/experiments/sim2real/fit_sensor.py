"""Fit the simulated LiDAR's response to real sweeps without labels.

The real side: every sweep of the given roots (the unlabelled ones: no label is read), cropped
to the camera field of view like the report does. The synthetic side: the first hits of
``frames`` generated scenes (`perception3d.sim.lidar.cast_sweep`: geometry only, no camera), to
which the sensor's response (`perception3d.sim.lidar.respond`) is applied with candidate
parameters, always with the same random numbers (common random numbers make the objective
smooth enough for Nelder-Mead).

Matched, each as a Jensen-Shannon distance:

- the intensity histograms of ground and of standing returns (heights from the ground plane of
  the noise-free hits, `ground.py`) in the range bins 0-10, 10-20, 20-30, 30-45, 45-80 m, on
  `objects.INTENSITY_EDGES` (KITTI's 0 is a flag, so exactly 0 is its own bin, apart from the
  readings of 0.01-0.04);
- ray drop: per range bin, the two-bin distribution (holes, returns) of `raydrop.py`;
- the range errors on planar patches (`noise.py`).

Besides the response's parameters, three scales multiply the reflectivity of the ground
materials (road, lane paint, sidewalk, terrain), of the standing scenery (buildings,
vegetation, poles, signs) and of vehicles (cars, vans, trucks); the fitted scales are then
written into `perception3d.sim.materials`. Vehicles are matched only when pseudo-labelled real
sweeps are given (`pseudo.py`: the returns inside the boxes a teacher detector found with
confidence on the unlabelled sweeps; again no label is read): their intensity histogram per
range bin against that of the synthetic vehicles' returns. People are left to priors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from perception3d.experiments.sim2real import raydrop
from perception3d.experiments.sim2real.divergence import histogram, js_distance
from perception3d.experiments.sim2real.ground import fit_ground, height_above
from perception3d.experiments.sim2real.noise import NOISE_EDGES_M, planar_range_errors
from perception3d.experiments.sim2real.objects import INTENSITY_EDGES
from perception3d.experiments.sim2real.sweeps import RANGE_IMAGE_WIDTH, Sweep, fov_mask
from perception3d.sim.semantics import SEMANTIC_ID

__all__ = ["FIT_RANGE_EDGES_M", "PARAMETERS", "FitTarget", "SynthHits", "objective", "targets"]

FIT_RANGE_EDGES_M = np.array([0.0, 10.0, 20.0, 30.0, 45.0, 80.0])
GROUND_CLASSES = ("road", "lane_marking", "sidewalk", "terrain")
STANDING_CLASSES = ("building", "pole", "traffic_sign", "vegetation", "unlabeled")
# name: (LidarConfig field or scale, log-parameterized)
PARAMETERS = {
    "detection_threshold": True,
    "detection_softness": True,
    "incidence_exponent": False,
    "dropout_probability": False,
    "intensity_threshold": True,
    "intensity_softness": True,
    "intensity_range_exponent": False,
    "intensity_speckle": False,
    "intensity_incidence_exponent": False,
    "saturation_threshold": True,
    "saturation_share": False,
    "reflectivity_spread": False,
    "range_noise_m": False,
    "range_bias_m": False,
    "ground_scale": True,
    "standing_scale": True,
    "vehicle_scale": True,
    "vehicle_unread": False,
    "unread_incidence_exponent": False,
}
_CATEGORIES = ("ground", "standing", "vehicle")
VEHICLE_CLASSES = ("car", "van", "truck")


@dataclass(frozen=True)
class FitTarget:
    """Histograms of a set of sweeps: intensity per (ground/standing/vehicle, range bin) and the
    holes and returns per range bin, and the planar range errors."""

    intensity: np.ndarray  # (3, R, 21): objects.INTENSITY_EDGES, exact 0 its own bin
    holes: np.ndarray  # (R,)
    returns: np.ndarray  # (R,)
    noise: np.ndarray  # (60,)


def _intensity_table(range_m, intensity, standing, ground, vehicle=None) -> np.ndarray:
    out = np.zeros((3, len(FIT_RANGE_EDGES_M) - 1, len(INTENSITY_EDGES) - 1))
    rbin = np.clip(np.searchsorted(FIT_RANGE_EDGES_M, range_m, "right") - 1, 0, out.shape[1] - 1)
    if vehicle is None:
        vehicle = np.zeros(len(range_m), bool)
    for k, sel in enumerate((ground, standing, vehicle)):
        for b in range(out.shape[1]):
            out[k, b] = histogram(intensity[sel & (rbin == b)], INTENSITY_EDGES)
    return out


def _drop(points, rows, counted) -> tuple[np.ndarray, np.ndarray]:
    img = raydrop.range_image(points, rows, RANGE_IMAGE_WIDTH)
    holes, hole_range = raydrop.find_holes(img.range_m.astype(np.float64), img.mask)
    holes &= counted
    valid = img.mask & counted
    return (
        histogram(hole_range[holes], FIT_RANGE_EDGES_M),
        histogram(img.range_m[valid], FIT_RANGE_EDGES_M),
    )


def targets(sweeps: list[Sweep], counted: np.ndarray, vehicle_sweeps=()) -> FitTarget:
    """The histograms of real sweeps (field of view; ``counted`` cells of the default
    calibration); the vehicle intensities come from the points inside the (pseudo-)label Car
    boxes of ``vehicle_sweeps``."""
    from perception3d.geometry.boxes import points_in_boxes

    inten, holes, returns, noise = [], [], [], []
    for s in vehicle_sweeps:
        fov = s.fov_points
        cars = s.boxes_lidar[s.names.astype(str) == "Car"]
        inside = points_in_boxes(fov[:, :3], cars) >= 0 if len(cars) else np.zeros(len(fov), bool)
        none = np.zeros(len(fov), bool)
        r = np.linalg.norm(fov[:, :3], axis=1)
        inten.append(_intensity_table(r, fov[:, 3], none, none, inside))
    for s in sweeps:
        fov = s.fov_points
        height = height_above(fov, fit_ground(fov))
        r = np.linalg.norm(fov[:, :3], axis=1)
        inten.append(_intensity_table(r, fov[:, 3], height > 0.25, np.abs(height) < 0.15))
        h, ret = _drop(fov, s.rows[s.fov], counted)
        holes.append(h)
        returns.append(ret)
        noise.append(histogram(planar_range_errors(fov), NOISE_EDGES_M))
    return FitTarget(sum(inten), sum(holes), sum(returns), sum(noise))


@dataclass(frozen=True)
class SynthHits:
    """The field-of-view hits of one generated sweep, with what the fit needs fixed."""

    hits: object  # perception3d.sim.lidar.LidarHits (field of view only)
    num_beams: int
    ground: np.ndarray  # (K,) bool class of the noise-free hit
    standing: np.ndarray
    scale_group: np.ndarray  # (K,) 0 ground material, 1 standing scenery, 2 other, 3 vehicle


def synth_hits(cfg, index: int, calib, image_hw) -> SynthHits:
    """Cast frame ``index`` of the synthetic config ``cfg`` (scene and LiDAR streams of the
    generator) and keep the hits in the camera field of view."""
    from perception3d.sim.frame import frame_rng
    from perception3d.sim.lidar import LidarHits, cast_sweep, lidar_beams
    from perception3d.sim.raycast import build_geometry
    from perception3d.sim.scene import sample_scene

    scene = sample_scene(cfg, frame_rng(cfg.seed, index, 0), calib)
    beams = lidar_beams(cfg.lidar)
    hits = cast_sweep(build_geometry(scene), cfg.lidar, beams, frame_rng(cfg.seed, index, 1))
    xyz = hits.origin + hits.range_m[:, None] * hits.direction
    sel = fov_mask(xyz, calib, image_hw)
    hits = LidarHits(*(getattr(hits, f)[sel] for f in hits.__dataclass_fields__))
    xyz = xyz[sel]
    height = height_above(xyz, fit_ground(xyz))
    ground_ids = [SEMANTIC_ID[c] for c in GROUND_CLASSES]
    standing_ids = [SEMANTIC_ID[c] for c in STANDING_CLASSES if c in SEMANTIC_ID]
    group = np.full(len(xyz), 2, np.int64)
    group[np.isin(hits.semantic, ground_ids)] = 0
    group[np.isin(hits.semantic, standing_ids) & (hits.instance == 0)] = 1
    group[np.isin(hits.semantic, [SEMANTIC_ID[c] for c in VEHICLE_CLASSES])] = 3
    return SynthHits(hits, beams.num_beams, np.abs(height) < 0.15, height > 0.25, group)


def simulate(
    frames: list[SynthHits],
    lidar_cfg,
    scales: tuple[float, ...],
    seed: int,
    counted: np.ndarray,
    unread: float = 0.0,
) -> FitTarget:
    """The histograms of the synthetic frames under the response ``lidar_cfg``, the
    reflectivity ``scales`` (ground, standing[, vehicle]) and the vehicles' ``unread``
    share (`perception3d.sim.materials.Material.lidar_unread`)."""
    from perception3d.sim.lidar import respond

    inten, holes, returns, noise = [], [], [], []
    for k, f in enumerate(frames):
        h = f.hits
        vehicle = scales[2] if len(scales) > 2 else 1.0
        factor = np.array([scales[0], scales[1], 1.0, vehicle])[f.scale_group]
        h = replace(h, reflectivity=np.clip(h.reflectivity * factor, 0.0, 1.0))
        if unread > 0:
            h = replace(h, unread=np.where(f.scale_group == 3, unread, h.unread))
        keep, intensity, range_m = respond(
            h, lidar_cfg, f.num_beams, np.random.default_rng([seed, k])
        )
        xyz = h.origin + range_m[:, None] * h.direction
        pts = np.concatenate([xyz, intensity[:, None]], 1)[keep]
        r = np.linalg.norm(pts[:, :3], axis=1)
        inten.append(
            _intensity_table(r, pts[:, 3], f.standing[keep], f.ground[keep],
                             f.scale_group[keep] == 3)
        )  # fmt: skip
        hh, ret = _drop(pts, h.ring[keep], counted)
        holes.append(hh)
        returns.append(ret)
        noise.append(histogram(planar_range_errors(pts), NOISE_EDGES_M))
    return FitTarget(sum(inten), sum(holes), sum(returns), sum(noise))


def distances(real: FitTarget, synth: FitTarget) -> dict[str, float]:
    """Every matched histogram's JS distance, plus their weighted sum ``total``: intensity
    terms weigh by the real returns of their bin; drop and noise count like one intensity
    class each."""
    out: dict[str, float] = {}
    n = real.intensity.sum(axis=2)
    w = n / n[:2].sum()
    total = 0.0
    vehicle = []
    for k, name in enumerate(_CATEGORIES):
        for b in range(real.intensity.shape[1]):
            if n[k, b] > 0 and synth.intensity[k, b].sum() > 0:
                d = js_distance(real.intensity[k, b], synth.intensity[k, b])
            else:
                d = 1.0 if n[k, b] > 0 else 0.0
            out[f"intensity/{name}/{b}"] = d
            if name == "vehicle":
                if n[k, b] > 0:
                    vehicle.append(d)
            else:
                total += w[k, b] * d
    drop = []
    for b in range(len(real.holes)):
        if real.returns[b] > 0 and synth.returns[b] > 0:
            p = [real.holes[b], real.returns[b]]
            q = [synth.holes[b], synth.returns[b]]
            drop.append(js_distance(p, q))
    out["drop"] = float(np.mean(drop)) if drop else 1.0
    out["noise"] = js_distance(real.noise, synth.noise) if synth.noise.sum() > 0 else 1.0
    out["vehicle"] = float(np.mean(vehicle)) if vehicle else 0.0
    out["total"] = total + out["drop"] + out["noise"] + out["vehicle"]
    return out


def objective(real: FitTarget, frames, base_cfg, names, values, seed, counted) -> dict:
    """``distances`` for the parameter ``values`` (in the order of ``names``; log-parameterized
    ones as logs) over the base LiDAR config."""
    params = {n: float(np.exp(v)) if PARAMETERS[n] else float(v) for n, v in zip(names, values)}
    scales = tuple(params.pop(f"{c}_scale", 1.0) for c in _CATEGORIES)
    unread = min(max(params.pop("vehicle_unread", 0.0), 0.0), 1.0)
    for k in (
        "dropout_probability",
        "intensity_speckle",
        "reflectivity_spread",
        "range_noise_m",
        "range_bias_m",
        "incidence_exponent",
        "intensity_incidence_exponent",
        "saturation_share",
        "unread_incidence_exponent",
    ):
        if k in params:
            params[k] = max(params[k], 0.0)
    for k in ("dropout_probability", "saturation_share"):
        if k in params:
            params[k] = min(params[k], 1.0)
    cfg = replace(base_cfg, **params)
    return distances(real, simulate(frames, cfg, scales, seed, counted, unread))
