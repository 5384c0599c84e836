"""The sensor fit's objective: real targets from a real sweep, synthetic hits of a tiny frame."""

from dataclasses import replace

import numpy as np
import pytest

from perception3d.experiments.sim2real import fit_sensor
from perception3d.experiments.sim2real.sweeps import RANGE_IMAGE_WIDTH, load_sweeps
from perception3d.lidar.scanner import ScannerModel


@pytest.mark.slow
def test_objective_prefers_the_fitted_response_to_a_broken_one(kitti_root):
    pytest.importorskip("open3d")
    from perception3d.sim.camera import kitti_default_calibration
    from perception3d.sim.config import load_synth_config

    calib = kitti_default_calibration()
    counted = fit_sensor.raydrop.counted_cells(
        ScannerModel.kitti_hdl64e(RANGE_IMAGE_WIDTH), calib, (375, 1242)
    )
    real, _ = load_sweeps(kitti_root, "real", ["004139"])
    target = fit_sensor.targets(real, counted)
    assert target.intensity.shape == (3, 5, 21) and target.returns.sum() > 5000
    cfg = load_synth_config(None, ["seed=3", "camera.image_scale=0.25"])
    hits = [fit_sensor.synth_hits(cfg, 0, calib, (375, 1242))]
    assert len(hits[0].hits) > 5000 and hits[0].ground.any() and hits[0].standing.any()
    fitted = fit_sensor.distances(target, fit_sensor.simulate(hits, cfg.lidar, (1, 1), 0, counted))
    dark = replace(cfg.lidar, intensity_threshold=1.0)  # every reading 0
    broken = fit_sensor.distances(target, fit_sensor.simulate(hits, dark, (1, 1), 0, counted))
    assert fitted["total"] < broken["total"]
    assert fitted["intensity/ground/1"] < 0.4 < broken["intensity/ground/1"]
    again = fit_sensor.distances(target, fit_sensor.simulate(hits, cfg.lidar, (1, 1), 0, counted))
    assert again == fitted  # common random numbers: the same value for the same parameters
    assert np.isfinite(list(fitted.values())).all()


def test_the_fit_tells_exact_zero_from_low_readings():
    """KITTI's 0 is a flag: a synthetic ground reading 0.02 where the real one reads 0 is a
    difference the fit sees (it shared one 0.05 bin before)."""

    def target(values):
        v = np.asarray(values, dtype=np.float64)
        r = np.full(len(v), 5.0)  # range bin 0-10 m
        ground, standing = np.ones(len(v), bool), np.zeros(len(v), bool)
        table = fit_sensor._intensity_table(r, v, standing, ground)
        return fit_sensor.FitTarget(table, np.ones(5), np.full(5, 10.0), np.ones(60))

    real, synth = target([0.0] * 3 + [0.3]), target([0.02] * 3 + [0.3])
    assert real.intensity[0, 0, :3].tolist() == [3.0, 0.0, 0.0]  # ground, 0-10 m: 0, 0.01-0.04
    assert synth.intensity[0, 0, :3].tolist() == [0.0, 3.0, 0.0]
    d = fit_sensor.distances(real, synth)
    # p = (3/4, 0, 1/4), q = (0, 3/4, 1/4): JSD = 0.75 bits
    assert d["intensity/ground/0"] == pytest.approx(np.sqrt(0.75))
    assert fit_sensor.distances(real, real)["intensity/ground/0"] == 0.0
