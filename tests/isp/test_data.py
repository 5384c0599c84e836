"""Scene pools of the crop-trained tasks (perception3d/isp/data.py): the centred validation crop,
the training / validation scenes of a ``data:`` section, memory-mapped pools."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from perception3d.config import DataSection
from perception3d.errors import ConfigError
from perception3d.isp.data import Scene, build_pool, centre_crop, random_crops, train_val_scenes
from tests.engine.conftest import write_procedural_root


def test_centre_crop_is_centred_on_an_even_corner():
    # 3 x 10 x 15 ramp: pixel value = row * 100 + column, so the crop's corner is readable
    rows, cols = np.mgrid[0:10, 0:15]
    radiance = np.stack([rows * 100 + cols] * 3).astype(np.float32)
    scene = Scene("ramp", radiance, np.ones((10, 15), np.float32))
    crop = centre_crop(scene, 4, 6)
    assert crop.shape == (1, 3, 4, 6) and crop.is_contiguous()
    # free space 6 x 9 -> corner (6 // 4 * 2, 9 // 4 * 2) = (2, 4), even (Bayer phase kept)
    assert crop[0, 0, 0, 0] == 2 * 100 + 4 and crop[0, 2, -1, -1] == 5 * 100 + 9
    with pytest.raises(ValueError, match="crop 12 x 6 larger than ramp"):
        centre_crop(scene, 12, 6)


@dataclasses.dataclass(frozen=True)
class _CropData(DataSection):
    val_root: Path | None = None
    memory_map: bool = False


def test_train_val_scenes_reads_both_splits(tmp_path):
    root = write_procedural_root(tmp_path / "root", 16, 24)
    pool, val = train_val_scenes(_CropData(root=root, val_root=root), "t", procedural=1, seed=3)
    assert [s.name for s in pool] == ["synth/000000", "synth/000001", "procedural/3/0"]
    assert [s.name for s in val] == ["synth/000002"]
    pool, val = train_val_scenes(_CropData(root=root, max_train_frames=1), "t")
    assert [s.name for s in pool] == ["synth/000000"] and val == []


def test_train_val_scenes_names_what_is_missing(tmp_path):
    with pytest.raises(ConfigError, match=r"task 't' needs data\.root"):
        train_val_scenes(_CropData(), "t")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"task t: no frame with radiance_2 in .*empty"):
        train_val_scenes(_CropData(root=tmp_path / "empty"), "t")


def test_memory_mapped_pool_gives_the_loaded_pools_crops(tmp_path):
    """A memory-mapped pool (sets larger than memory) keeps frames as stored (float16) but its
    crops are the loaded pool's exactly: float32, NaN -> 0, +inf -> 65504, negatives -> 0."""
    root = write_procedural_root(tmp_path / "root", 16, 24)
    path = root / "training" / "radiance_2" / "000001.npy"
    rad = np.load(path)
    rad[0, 0, :4], rad[1, 0, :4], rad[2, 0, :4] = np.nan, np.inf, -1.0
    np.save(path, rad)
    loaded = build_pool(root, "train", None)
    mapped = build_pool(root, "train", None, memory_map=True)
    assert isinstance(mapped[1].radiance, np.memmap) and mapped[1].radiance.dtype == np.float16
    a = random_crops(loaded, 12, 8, np.random.default_rng(5), height=16)
    b = random_crops(mapped, 12, 8, np.random.default_rng(5), height=16)
    for x, y in zip(a, b, strict=True):
        assert y.radiance.dtype == torch.float32
        assert x.radiance.equal(y.radiance) and x.depth.equal(y.depth)
    whole = centre_crop(mapped[1], 16, 24)[0, :, 0, :4]  # the row of NaN / inf / -1
    assert whole[0].eq(0).all() and whole[1].eq(65504).all() and whole[2].eq(0).all()
    assert centre_crop(loaded[1], 16, 24).equal(centre_crop(mapped[1], 16, 24))
    cfg = _CropData(root=root, memory_map=True)
    assert isinstance(train_val_scenes(cfg, "t")[0][0].radiance, np.memmap)
