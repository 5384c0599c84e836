import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from perception3d.experiments.sim2real.divergence import (
    bootstrap_floor,
    histogram,
    js_distance,
    js_divergence,
)


def test_js_distance_matches_scipy(rng):
    for _ in range(5):
        p, q = rng.uniform(0, 1, 12), rng.uniform(0, 1, 12)
        p[rng.integers(12)] = 0.0  # empty bins are fine
        assert js_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)


def test_js_bounds_and_symmetry():
    p, q = np.array([3.0, 1.0, 0.0]), np.array([0.0, 1.0, 3.0])
    assert js_divergence(p, p) == 0.0
    assert js_divergence(p, q) == pytest.approx(js_divergence(q, p))
    assert js_distance([1.0, 0.0], [0.0, 1.0]) == 1.0


def test_js_rejects_bad_histograms():
    with pytest.raises(ValueError, match="share bins"):
        js_distance([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="empty"):
        js_distance([0.0, 0.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=">= 0"):
        js_distance([-1.0, 2.0], [1.0, 2.0])


def test_histogram_clips_to_the_outer_bins_and_drops_nan():
    h = histogram([-1.0, 0.1, 0.6, 7.0, np.nan], [0.0, 0.5, 1.0])
    assert h.tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="increasing"):
        histogram([1.0], [1.0, 1.0])


def test_bootstrap_floor_falls_with_more_groups(rng):
    few = rng.multinomial(50, np.full(10, 0.1), size=5).astype(float)
    many = rng.multinomial(50, np.full(10, 0.1), size=200).astype(float)
    assert bootstrap_floor(many) < bootstrap_floor(few)
    assert bootstrap_floor(np.ones((1, 4))) == 0.0  # one group: every resample is the whole
    assert np.isnan(bootstrap_floor(np.zeros((0, 4))))
