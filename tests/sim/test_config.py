"""The synth config: the YAML file is the embedded default; bad values are named errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from perception3d.config import load_config
from perception3d.errors import ConfigError
from perception3d.sim.config import SynthConfig, load_synth_config

YAML = Path(__file__).parents[2] / "configs" / "datasets" / "synthkitti.yaml"


def test_yaml_is_the_embedded_default():
    assert load_config(YAML, SynthConfig) == SynthConfig() == load_synth_config()


def test_overrides_apply():
    cfg = load_synth_config(
        None, ["frames=5", "camera.image_scale=0.5", "objects.mean_in_view={Car: 1.0}"]
    )
    assert cfg.frames == 5 and cfg.camera.image_shape_hw == (188, 621)
    assert cfg.objects.mean_in_view == {"Car": 1.0}


@pytest.mark.parametrize(
    "override, message",
    [
        ("scene.night_probability=1.5", "night_probability must be in"),
        ("objects.mean_in_view={Bus: 1.0}", "object means must map"),
        ("objects.distance_weights=[1.0]", "one more entry than distance_weights"),
        ("lidar.beam_stride=0", "beam_stride"),
        ("camera.image_scale=2.0", "image_scale"),
        ("labels.occlusion_fractions=[0.3, 0.6]", "occlusion_fractions"),
        ("lidar.unknown_key=1", "unknown key"),
    ],
)
def test_bad_values_are_named(override, message):
    with pytest.raises(ConfigError, match=message):
        load_synth_config(None, [override])
