"""Optional packages that are not installed give one clear line naming the extra, not a
traceback (issue 19, licences: bm3d is opt-in; v7.3 .mat files are read with h5py)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from perception3d.errors import MissingExtraError


def test_bm3d_denoising_without_bm3d_names_the_extra(monkeypatch):
    from perception3d.isp.denoise import denoise

    monkeypatch.setitem(sys.modules, "bm3d", None)  # "not installed"
    expected = r"non-commercial use only: pip install .perception3d\[bm3d\]"
    with pytest.raises(MissingExtraError, match=expected):
        denoise(torch.rand(1, 3, 8, 8), "bm3d", sigma=0.05)


def test_a_v73_annotation_without_h5py_names_the_extra(monkeypatch, tmp_path):
    h5py = pytest.importorskip("h5py")
    from perception3d.data.matfile import load_mat_plain

    path = tmp_path / "v73.mat"
    with h5py.File(path, "w", userblock_size=512) as f:  # MATLAB's v7.3 layout: 512-byte header
        f["x"] = np.ones((1, 2))
    with path.open("r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file".ljust(116) + b"\0" * 8 + b"\x00\x02IM")
    assert np.array_equal(load_mat_plain(path)["x"], [1.0, 1.0])
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(MissingExtraError, match=r"v7.3 .*h5py .*perception3d\[objectnet3d\]"):
        load_mat_plain(path)
