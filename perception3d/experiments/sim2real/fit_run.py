"""The sensor fit end to end: real targets, synthetic hits, Nelder-Mead in stages, a JSON log.

Stages (each starts from the previous result; common random numbers throughout):

1. detection: ``detection_threshold``, ``dropout_probability``, ``incidence_exponent``;
2. intensity: ``intensity_threshold``, ``intensity_softness``, ``intensity_speckle``,
   ``reflectivity_spread``, ``ground_scale``, ``standing_scale``;
3. range: ``range_noise_m``, ``range_bias_m``;
4. all of stages 1 and 2 together;
5. vehicle: ``vehicle_scale``, ``vehicle_unread`` (with pseudo-labelled real sweeps only);
6. vehicle_incidence: the same and ``unread_incidence_exponent`` (the unread share scaled by
   (1 - cos(incidence))^e);
7. unread, unread_incidence: ``vehicle_unread`` (and ``unread_incidence_exponent``) alone, the
   vehicles' reflectivity left as it is.

``stages`` picks which run (e.g. only "vehicle", the rest at the config's values).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.experiments.sim2real import fit_sensor
from perception3d.experiments.sim2real.sweeps import RANGE_IMAGE_WIDTH, load_sweeps

__all__ = ["STAGES", "run_fit"]

_DETECTION = ("detection_threshold", "dropout_probability", "incidence_exponent")
_INTENSITY = (
    "intensity_threshold",
    "intensity_softness",
    "intensity_range_exponent",
    "intensity_speckle",
    "intensity_incidence_exponent",
    "saturation_threshold",
    "saturation_share",
    "reflectivity_spread",
    "ground_scale",
    "standing_scale",
)
STAGES = (
    ("detection", _DETECTION),
    ("intensity", _INTENSITY),
    ("range", ("range_noise_m", "range_bias_m")),
    ("vehicle", ("vehicle_scale", "vehicle_unread")),
    ("vehicle_incidence", ("vehicle_scale", "vehicle_unread", "unread_incidence_exponent")),
    ("unread", ("vehicle_unread",)),
    ("unread_incidence", ("vehicle_unread", "unread_incidence_exponent")),
    ("joint", _DETECTION + _INTENSITY),
)


def _encode(name: str, value: float) -> float:
    return float(np.log(value)) if fit_sensor.PARAMETERS[name] else float(value)


@dataclass(frozen=True)
class _Problem:
    """What every evaluation of the objective shares: the real targets, the synthetic hits
    (common random numbers), the base LiDAR config, the seed and the counted cells."""

    target: fit_sensor.FitTarget
    hits: list
    lidar: object
    seed: int
    counted: np.ndarray

    def distances(self, encoded: list[float]) -> dict:
        """``fit_sensor.objective`` at ``encoded`` values of every parameter (in the order of
        ``fit_sensor.PARAMETERS``; log-parameterized ones as logs)."""
        names_all = list(fit_sensor.PARAMETERS)
        return fit_sensor.objective(
            self.target, self.hits, self.lidar, names_all, encoded, self.seed, self.counted
        )


def _problem(
    real_roots: list[Path],
    frames: int,
    seed: int,
    synth_overrides: tuple[str, ...],
    pseudo_roots: tuple[Path, ...],
) -> tuple[_Problem, int]:
    """The fit's targets from the real (and pseudo-labelled) sweeps and the hits of ``frames``
    synthetic frames of seed ``seed``; with the number of real sweeps."""
    from perception3d.lidar.scanner import ScannerModel
    from perception3d.sim.camera import kitti_default_calibration
    from perception3d.sim.config import load_synth_config

    real = [s for root in real_roots for s in load_sweeps(root, "real")[0]]
    calib, image_hw = kitti_default_calibration(), (375, 1242)
    counted = fit_sensor.raydrop.counted_cells(
        ScannerModel.kitti_hdl64e(RANGE_IMAGE_WIDTH), calib, image_hw
    )
    views = [v for root in pseudo_roots for v in load_sweeps(root, "pseudo")[0]]
    target = fit_sensor.targets(real, counted, views)
    cfg = load_synth_config(None, [f"seed={seed}", f"frames={frames}", *synth_overrides])
    hits = [fit_sensor.synth_hits(cfg, i, calib, image_hw) for i in range(frames)]
    return _Problem(target, hits, cfg.lidar, seed, counted), len(real)


def _fit_stage(problem: _Problem, names: tuple[str, ...], values: dict, iterations: int):
    """Nelder-Mead over ``names`` (the others held at ``values``); ``values`` updated in
    place. Returns the optimizer's result and the distances at the fitted values."""
    from scipy.optimize import minimize

    names_all = list(fit_sensor.PARAMETERS)
    x0 = [_encode(n, values[n]) for n in names]

    def total(x) -> float:
        encoded = [x[names.index(n)] if n in names else _encode(n, values[n]) for n in names_all]
        return problem.distances(encoded)["total"]

    options = {"maxiter": iterations, "xatol": 1e-3, "fatol": 1e-5}
    options["initial_simplex"] = _simplex(x0, names)
    res = minimize(total, x0, method="Nelder-Mead", options=options)
    for n, v in zip(names, res.x):
        values[n] = float(np.exp(v)) if fit_sensor.PARAMETERS[n] else max(float(v), 0.0)
    dist = problem.distances([_encode(n, max(values[n], 1e-12)) for n in names_all])
    return res, dist


def run_fit(
    real_roots: list[Path],
    out: Path,
    frames: int = 16,
    seed: int = 777,
    iterations: int = 60,
    synth_overrides: tuple[str, ...] = (),
    progress: bool = True,
    pseudo_roots: tuple[Path, ...] = (),
    stages: tuple[str, ...] = ("detection", "intensity", "range", "joint"),
) -> dict:
    """Fit the response; write ``out`` (JSON: start and fitted values, distances per stage).

    Args:
        real_roots: roots of unlabelled real sweeps.
        frames: synthetic frames (seed ``seed``) whose hits are simulated.
        iterations: Nelder-Mead iterations per stage.
        synth_overrides: ``key=value`` overrides of the synthetic config.
        pseudo_roots: pseudo-labelled real views (`pseudo.make_pseudo_root`) for the vehicle
            term.
        stages: the stages to run, in the order of ``STAGES``.
    """
    t0 = time.perf_counter()
    problem, num_real = _problem(real_roots, frames, seed, synth_overrides, pseudo_roots)
    values = {
        **asdict(problem.lidar),
        "ground_scale": 1.0,
        "standing_scale": 1.0,
        "vehicle_scale": 1.0,
        "vehicle_unread": _vehicle_unread(),
    }
    log: dict = {
        "real_sweeps": num_real,
        "frames": frames,
        "seed": seed,
        "start": {n: values[n] for n in fit_sensor.PARAMETERS},
        "stages": [],
    }
    start = problem.distances([_encode(n, values[n]) for n in fit_sensor.PARAMETERS])
    log["start_distances"] = start
    if progress:
        print(f"fit: {num_real} real sweeps, {frames} synthetic; start total {start['total']:.4f}")
    unknown = set(stages) - {name for name, _ in STAGES}
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)}; known: {[n for n, _ in STAGES]}")
    for stage, names in STAGES:
        if stage not in stages:
            continue
        res, dist = _fit_stage(problem, names, values, iterations)
        log["stages"].append(
            {
                "stage": stage,
                "evaluations": int(res.nfev),
                "values": {n: values[n] for n in names},
                "distances": dist,
            }
        )
        if progress:
            print(
                f"fit: {stage}: total {dist['total']:.4f} ({res.nfev} evaluations) "
                + ", ".join(f"{n}={values[n]:.4g}" for n in names)
            )
    log["fitted"] = {n: values[n] for n in fit_sensor.PARAMETERS}
    log["seconds"] = round(time.perf_counter() - t0, 1)
    atomic_write_text(out, json.dumps(log, indent=1) + "\n")
    return log


def _vehicle_unread() -> float:
    """The vehicles' unread share of the generator (`materials.VEHICLE_UNREAD`): the start."""
    from perception3d.sim.materials import VEHICLE_UNREAD

    return VEHICLE_UNREAD


def _simplex(x0: list[float], names) -> np.ndarray:
    """Initial simplex: a step of 0.3 in log-parameters, of a sensible size otherwise."""
    steps = {
        "dropout_probability": 0.02,
        "incidence_exponent": 0.3,
        "intensity_speckle": 0.2,
        "intensity_incidence_exponent": 0.2,
        "saturation_share": 0.2,
        "unread_incidence_exponent": 0.5,
        "intensity_range_exponent": 0.5,
        "reflectivity_spread": 0.2,
        "range_noise_m": 0.01,
        "range_bias_m": 0.01,
    }
    pts = [np.array(x0)]
    for i, n in enumerate(names):
        p = np.array(x0)
        p[i] += 0.3 if fit_sensor.PARAMETERS[n] else steps.get(n, 0.1)
        pts.append(p)
    return np.array(pts)
