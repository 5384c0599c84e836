"""Point-cloud readers: .bin, .npy, .pcd (ascii, binary, binary_compressed) and .ply (ascii,
binary little/big endian) give the same (N, 4) float32 points; bad files get errors naming
them. Files are written here by small writers of the formats' specs; Open3D's own writer is
checked against when it is installed."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from perception3d.data.kitti import read_velodyne
from perception3d.data.pcd import lzf_decompress, read_pcd_columns
from perception3d.data.pointcloud import (
    expand_point_cloud_inputs,
    points_from_array,
    read_point_cloud,
)
from perception3d.errors import PointCloudFormatError


@pytest.fixture(scope="module")
def sweep(kitti_root) -> np.ndarray:
    """The real 000008 cloud (17,238 points)."""
    return read_velodyne(kitti_root / "training" / "velodyne" / "000008.bin")


def _lzf_literals(raw: bytes) -> bytes:
    """A valid LZF stream of literal runs only (at most 32 bytes per run)."""
    out = bytearray()
    for i in range(0, len(raw), 32):
        chunk = raw[i : i + 32]
        out += bytes([len(chunk) - 1]) + chunk
    return bytes(out)


def write_pcd(path: Path, points: np.ndarray, data: str, fields=("x", "y", "z", "intensity")):
    n = len(points)
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
        f"FIELDS {' '.join(fields)}\nSIZE {' '.join(['4'] * len(fields))}\n"
        f"TYPE {' '.join(['F'] * len(fields))}\nCOUNT {' '.join(['1'] * len(fields))}\n"
        f"WIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA {data}\n"
    ).encode()
    pts = np.ascontiguousarray(points, dtype="<f4")
    if data == "ascii":
        body = "".join(" ".join(f"{v:.9g}" for v in row) + "\n" for row in pts).encode()
    elif data == "binary":
        body = pts.tobytes()
    else:  # binary_compressed: field by field, then LZF
        raw = pts.T.copy().tobytes()
        compressed = _lzf_literals(raw)
        body = np.array([len(compressed), len(raw)], "<u4").tobytes() + compressed
    path.write_bytes(header + body)
    return path


def write_ply(path: Path, points: np.ndarray, fmt: str, before: int = 0, faces: int = 0):
    n = len(points)
    lines = ["ply", f"format {fmt} 1.0", "comment written by the test"]
    if before:
        lines += [f"element camera {before}", "property float k"]
    lines += [f"element vertex {n}"] + [f"property float {c}" for c in ("x", "y", "z", "intensity")]
    if faces:
        lines += [f"element face {faces}", "property list uchar int vertex_indices"]
    header = ("\n".join([*lines, "end_header"]) + "\n").encode()
    pts = np.asarray(points, dtype=np.float32)
    if fmt == "ascii":
        rows = ["1.5"] * before + [" ".join(f"{v:.9g}" for v in row) for row in pts]
        rows += ["3 0 1 2"] * faces
        body = ("\n".join(rows) + "\n").encode()
    else:
        order = "<" if fmt == "binary_little_endian" else ">"
        body = np.full(before, 1.5, order + "f4").tobytes() + pts.astype(order + "f4").tobytes()
        face = np.array([3], "u1").tobytes() + np.array([0, 1, 2], order + "i4").tobytes()
        body += face * faces
    path.write_bytes(header + body)
    return path


def test_bin_matches_the_kitti_reader(kitti_root, sweep):
    path = kitti_root / "training" / "velodyne" / "000008.bin"
    np.testing.assert_array_equal(read_point_cloud(path), sweep)


def test_npy_three_and_four_columns(tmp_path, sweep):
    np.save(tmp_path / "a.npy", sweep.astype(np.float64))
    np.save(tmp_path / "b.npy", sweep[:, :3])
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "a.npy"), sweep)
    b = read_point_cloud(tmp_path / "b.npy")
    assert b.dtype == np.float32 and b.shape == (len(sweep), 4)
    np.testing.assert_array_equal(b[:, :3], sweep[:, :3])
    assert not b[:, 3].any()


@pytest.mark.parametrize("data", ["ascii", "binary", "binary_compressed"])
def test_pcd_round_trip(tmp_path, sweep, data):
    path = write_pcd(tmp_path / f"s_{data}.pcd", sweep, data)
    np.testing.assert_array_equal(read_point_cloud(path), sweep)


@pytest.mark.parametrize("fmt", ["ascii", "binary_little_endian", "binary_big_endian"])
def test_ply_round_trip_with_other_elements(tmp_path, sweep, fmt):
    path = write_ply(tmp_path / "s.ply", sweep[:500], fmt, before=2, faces=3)
    np.testing.assert_array_equal(read_point_cloud(path), sweep[:500])


def test_pcd_without_intensity_and_with_extra_fields(tmp_path, sweep):
    extra = np.c_[sweep[:, :3], sweep[:, 3] * 255, np.arange(len(sweep))]
    path = write_pcd(tmp_path / "e.pcd", extra, "binary", ("x", "y", "z", "rgb", "ring"))
    pts = read_point_cloud(path)
    np.testing.assert_array_equal(pts[:, :3], sweep[:, :3])
    assert not pts[:, 3].any()  # no intensity field: 0
    columns = read_pcd_columns(path)
    assert list(columns) == ["x", "y", "z", "rgb", "ring"]


def test_lzf_back_references_and_corruption():
    assert lzf_decompress(bytes([2, 1, 2, 3, 0xE0, 4, 2]), 16) == bytes([1, 2, 3]) * 5 + b"\x01"
    with pytest.raises(ValueError, match="decompresses to -1 bytes"):
        lzf_decompress(bytes([0x20, 5]), 3)  # a reference before the start


def test_intensity_scale_and_warning(tmp_path, sweep):
    np.save(tmp_path / "i.npy", np.c_[sweep[:, :3], sweep[:, 3] * 255])
    with pytest.warns(UserWarning, match=r"i\.npy: intensity up to 2"):
        read_point_cloud(tmp_path / "i.npy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pts = read_point_cloud(tmp_path / "i.npy", intensity_scale=1 / 255)
    np.testing.assert_allclose(pts[:, 3], sweep[:, 3], atol=1e-6)


def test_nonfinite_points_are_named_or_dropped(tmp_path, sweep):
    bad = sweep.copy()
    bad[[3, 7], 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(PointCloudFormatError, match=r"nan\.npy: point 3 \(of 17238\).*2 such"):
        read_point_cloud(tmp_path / "nan.npy")
    pts = read_point_cloud(tmp_path / "nan.npy", drop_nonfinite=True)
    np.testing.assert_array_equal(pts, np.delete(sweep, [3, 7], axis=0))
    write_pcd(tmp_path / "nan.pcd", bad, "binary")
    with pytest.raises(PointCloudFormatError, match=r"nan\.pcd: point 3"):
        read_point_cloud(tmp_path / "nan.pcd")


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("int.npy", np.zeros((4, 4), np.int32), r"int\.npy: expected a floating array.*int32"),
        ("wide.npy", np.zeros((4, 5)), r"wide\.npy: expected \(N, 3\).*got \(4, 5\)"),
        ("flat.npy", np.zeros(12), r"flat\.npy: expected \(N, 3\).*got \(12,\)"),
        ("obj.npy", np.array([{"a": 1}], dtype=object), r"obj\.npy: not a readable \.npy"),
    ],
)
def test_bad_npy_files_are_named(tmp_path, name, content, match):
    np.save(tmp_path / name, content, allow_pickle=True)
    with pytest.raises(PointCloudFormatError, match=match):
        read_point_cloud(tmp_path / name)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("odd.bin", b"\0" * 20, r"odd\.bin: size 20 bytes is not a multiple of 16"),
        ("junk.npy", b"not numpy", r"junk\.npy: not a readable \.npy"),
        ("nodata.pcd", b"VERSION 0.7\nFIELDS x y z\n", r"nodata\.pcd: the header has no DATA"),
        ("short.pcd", None, r"short\.pcd: binary data has 40 bytes, 10 points need 160"),
        ("noxyz.pcd", None, r"noxyz\.pcd: no field z"),
        ("bad.ply", b"plx\nformat ascii 1.0\nend_header\n", r"bad\.ply: not a PLY file"),
        ("scan.las", b"LASF", r"scan\.las: unknown point-cloud suffix '\.las'"),
    ],
)
def test_bad_files_are_named(tmp_path, sweep, name, content, match):
    path = tmp_path / name
    if name == "short.pcd":
        write_pcd(path, sweep[:10], "binary")
        path.write_bytes(path.read_bytes()[:-120])
    elif name == "noxyz.pcd":
        write_pcd(path, sweep[:10, :2], "ascii", ("x", "y"))
    else:
        path.write_bytes(content)
    with pytest.raises(PointCloudFormatError, match=match):
        read_point_cloud(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="nowhere.bin: point cloud not found"):
        read_point_cloud("nowhere.bin")


def test_points_from_array_checks():
    with pytest.raises(PointCloudFormatError, match=r"points: expected \(N, 3\)"):
        points_from_array(np.zeros((3, 2)))
    assert points_from_array(np.zeros((0, 3))).shape == (0, 4)


def test_expand_inputs(tmp_path, sweep):
    (tmp_path / "d").mkdir()
    for name in ("b.npy", "a.npy"):
        np.save(tmp_path / "d" / name, sweep[:5])
    (tmp_path / "d" / "notes.txt").write_text("x")
    write_pcd(tmp_path / "c.pcd", sweep[:5], "ascii")
    files = expand_point_cloud_inputs([tmp_path / "d", str(tmp_path / "*.pcd"), tmp_path / "c.pcd"])
    assert [f.name for f in files] == ["a.npy", "b.npy", "c.pcd"]
    np.save(tmp_path / "a.npy", sweep[:5])
    with pytest.raises(PointCloudFormatError, match="same frame name 'a'"):
        expand_point_cloud_inputs([tmp_path / "d", tmp_path / "a.npy"])
    with pytest.raises(FileNotFoundError, match="matches no point-cloud file"):
        expand_point_cloud_inputs([str(tmp_path / "*.ply")])
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        expand_point_cloud_inputs([tmp_path / "nope.bin"])


@pytest.mark.parametrize(
    ("suffix", "options"),
    [
        ("pcd", {"write_ascii": True}),
        ("pcd", {}),
        ("pcd", {"compressed": True}),
        ("ply", {"write_ascii": True}),
        ("ply", {}),
    ],
)
def test_files_written_by_open3d(tmp_path, sweep, suffix, options):
    o3d = pytest.importorskip("open3d")
    cloud = o3d.t.geometry.PointCloud()
    cloud.point["positions"] = o3d.core.Tensor(sweep[:, :3])
    cloud.point["intensity"] = o3d.core.Tensor(sweep[:, 3:4])
    path = tmp_path / f"o3d.{suffix}"
    assert o3d.t.io.write_point_cloud(str(path), cloud, **options)
    np.testing.assert_array_equal(read_point_cloud(path), sweep)
