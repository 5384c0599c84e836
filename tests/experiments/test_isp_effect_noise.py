"""Noise of a real frame beside the sensor model's captures of it."""

from __future__ import annotations

import json

import pytest

from perception3d.experiments.isp_effect_noise import noise_check, png_files


def test_noise_check_on_a_real_frame(kitti_root, tmp_path):
    image = kitti_root / "training" / "image_2" / "000008.png"
    sources = (("clean", "none"), ("lowlight_1e-2", "none"))
    result = noise_check([image], tmp_path, sources=sources)
    assert set(result["curves"]) == {"real", "floor", "clean/none", "lowlight_1e-2/none"}
    assert json.loads((tmp_path / "noise_check.json").read_text()) == result
    assert (tmp_path / "noise_check.png").stat().st_size > 0
    curves = {k: {c["level"]: c["sigma"] for c in v} for k, v in result["curves"].items()}
    shared = set(curves["clean/none"]) & set(curves["lowlight_1e-2/none"]) & set(curves["floor"])
    assert len(shared) >= 5
    for level in shared:  # 100 x fewer photons: more noise; the blurred floor: least
        assert curves["lowlight_1e-2/none"][level] > 2 * curves["clean/none"][level]
        assert curves["floor"][level] < curves["clean/none"][level]


def test_png_files(kitti_root, tmp_path):
    folder = kitti_root / "training" / "image_2"
    assert [p.name for p in png_files([folder])] == ["000000.png", "000008.png"]
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        png_files([tmp_path / "missing"])
    with pytest.raises(FileNotFoundError, match="no PNG image"):
        png_files([tmp_path])
