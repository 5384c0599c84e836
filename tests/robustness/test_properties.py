"""Property-based tests of every parser and reader (issue 19): arbitrary bytes, and valid files
with random edits, give either a valid object or the error type the function documents in its
``Raises`` (a ``Perception3DError`` / ``ValueError`` subclass naming the file), never another
exception; valid objects round-trip through the writers.

Examples are few (``max_examples``) so the whole file runs in seconds; each test starts from
real files (the KITTI sample frames, our own writers' output) so the edits reach deep into the
parsers rather than failing on the first byte.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perception3d.errors import (
    ConfigError,
    DataFormatError,
    KittiFormatError,
    MissingFrameError,
    Perception3DError,
)

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "kitti_samples"
FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples every run: a failure is reproducible
)


@st.composite
def edited(draw, valid: bytes, max_edits: int = 4) -> bytes:
    """``valid`` with a few random byte replacements, insertions, deletions or a cut."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(0, max_edits))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "cut", "token"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "replace" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 16))]
        elif kind == "cut":
            del data[pos:]
        elif kind == "token":  # a plausible but wrong word: sign, exponent, NaN, huge count
            token = draw(st.sampled_from([b"-", b"nan", b"inf", b"1e400", b" 99999999999 ",
                                          b"-1", b"0", b"\n", b" ", b"car", b"\xff"]))  # fmt: skip
            data[pos:pos] = token
    return bytes(data)


def inputs(valid: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=256), edited(valid))


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="p3d_props_") as d:
        yield Path(d)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _read_written(read, folder: Path, name: str, data: bytes, error=DataFormatError):
    """Write ``data`` to ``folder/name`` and read it with ``read``: the object, or None when
    ``read`` raised ``error`` (the type it documents) naming the file."""
    path = _write(folder, name, data)
    try:
        return read(path)
    except error as exc:
        assert str(path) in str(exc)
        return None


def _sample(rel: str) -> bytes:
    return (SAMPLES / rel).read_bytes()


# -- KITTI files ---------------------------------------------------------------------------
VELODYNE = np.array([[1.5, -2.0, 0.3, 0.25], [10.0, 4.0, -1.7, 0.0]], "<f4").tobytes()


@FAST
@given(data=st.one_of(st.binary(max_size=128), edited(VELODYNE, 3)))
def test_velodyne(workdir, data):
    from perception3d.data.kitti import read_velodyne, write_velodyne

    points = _read_written(read_velodyne, workdir, "000000.bin", data, KittiFormatError)
    if points is None:
        return
    assert points.dtype == np.float32 and points.shape == (len(data) // 16, 4)
    assert np.isfinite(points).all()
    back = write_velodyne(workdir / "back.bin", points)
    assert back.read_bytes() == data


LABEL = _sample("training/label_2/000008.txt")


@FAST
@given(data=inputs(LABEL))
def test_label_file(workdir, data):
    from perception3d.data.kitti import read_label_file, write_label_file

    objects = _read_written(
        lambda p: read_label_file(p, allow_score=False), workdir, "000008.txt", data
    )
    if objects is None:  # a DataFormatError (KittiFormatError is one) naming the file
        return
    back = write_label_file(workdir / "back.txt", objects)
    assert read_label_file(back, allow_score=False) == objects


RESULT = b"".join(line + b" 0.8125\n" for line in LABEL.splitlines()[:6])


@FAST
@given(data=inputs(RESULT))
def test_result_file_eval_and_viz(workdir, data):
    from perception3d.data.kitti import write_label_file
    from perception3d.eval.kitti import read_predictions
    from perception3d.viz.frame import read_predictions as viz_read

    path = _write(workdir, "000008.txt", data)
    try:
        objects = read_predictions(path)
    except DataFormatError as exc:
        assert str(path) in str(exc)
        with pytest.raises(DataFormatError):
            viz_read(workdir, "000008")
        return
    assert all(o.score is not None for o in objects)
    assert viz_read(workdir, "000008") == objects
    back = write_label_file(workdir / "back.txt", objects)
    assert read_predictions(back) == objects


CALIB = _sample("training/calib/000008.txt")


@FAST
@given(data=inputs(CALIB))
def test_calib(workdir, data):
    from perception3d.geometry.calib import Calibration

    calib = _read_written(Calibration.from_file, workdir, "000008.txt", data, KittiFormatError)
    if calib is None:
        return
    back = Calibration.from_file(calib.write(workdir / "back.txt"))
    for name in ("P2", "R0_rect", "Tr_velo_to_cam"):
        np.testing.assert_array_equal(getattr(back, name), getattr(calib, name))


SPLIT = b"000000\n000008\n004139\n"


@FAST
@given(data=inputs(SPLIT))
def test_split_file(workdir, data):
    from perception3d.data.kitti import read_split_file

    ids = _read_written(read_split_file, workdir, "val.txt", data)
    if ids is None:
        return
    assert all(i and not any(c.isspace() for c in i) for i in ids)
    back = _write(workdir, "back.txt", "".join(f"{i}\n" for i in ids).encode())
    assert read_split_file(back) == ids


def _png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)).save(buf, "PNG")
    return buf.getvalue()


PNG = _png_bytes()


@FAST
@given(data=st.one_of(st.binary(max_size=64), edited(PNG, 3)))
def test_image(workdir, data):
    from perception3d.data.kitti import image_size_hw, read_image

    image = _read_written(read_image, workdir, "000008.png", data)
    if image is None:
        return
    assert image.dtype == np.float32 and image.ndim == 3 and image.shape[0] == 3
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert image_size_hw(workdir / "000008.png") == image.shape[1:]


# -- configs and --set ---------------------------------------------------------------------
SYNTH_YAML = (Path(__file__).resolve().parents[2] / "configs/datasets/synthkitti.yaml").read_bytes()


@FAST
@given(data=inputs(SYNTH_YAML[:1500]))
def test_config_file(workdir, data):
    from perception3d.config import load_config, to_dict
    from perception3d.sim.config import SynthConfig

    cfg = _read_written(
        lambda p: load_config(p, SynthConfig), workdir, "synth.yaml", data, ConfigError
    )
    if cfg is None:
        return
    import yaml

    back = _write(workdir, "back.yaml", yaml.safe_dump(to_dict(cfg)).encode())
    assert load_config(back, SynthConfig) == cfg


KEYS = ["frames", "seed", "val_fraction", "camera.image_scale", "lidar.beam_stride", "objects",
        "objects.mean_in_view", "nope", "camera", "", "a.b.c", "lidar.azimuth_steps"]  # fmt: skip
RAW_VALUES = ["3", "-1", "0.5", "[1, 2]", "{Car: 2.0}", "x", "", "[", "{", "!!python/x",
              "null", "1e400", "true", "'a: b'", ": :", "\t"]  # fmt: skip
VALUES = st.one_of(st.sampled_from(RAW_VALUES), st.text(max_size=12))


@FAST
@given(overrides=st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=3), raw=st.text())
def test_set_overrides(overrides, raw):
    """Any --set either fails with a ConfigError or gives a config that survives the round trip
    every dataset makes (written to synth_config.yaml, read back when resuming)."""
    import yaml

    from perception3d.config import to_dict
    from perception3d.sim.config import SynthConfig, load_synth_config

    items = [f"{k}={v}" for k, v in overrides] + ([raw] if raw else [])
    try:
        cfg = load_synth_config(None, items)
    except ConfigError:
        return
    assert isinstance(cfg, SynthConfig)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synth_config.yaml"
        path.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")
        assert load_synth_config(path) == cfg


# -- ObjectNet3D ---------------------------------------------------------------------------
OFF = b"OFF\n4 2 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 2 3\n"


@FAST
@given(data=inputs(OFF))
def test_off_mesh(workdir, data):
    from perception3d.data.off import read_off, write_off

    mesh = _read_written(read_off, workdir, "01.off", data)
    if mesh is None:
        return
    back = read_off(write_off(workdir / "back.off", mesh, decimals=17))
    np.testing.assert_array_equal(back.faces, mesh.faces)
    np.testing.assert_allclose(back.vertices, mesh.vertices, rtol=1e-15)


def _annotation_bytes() -> bytes:
    from perception3d.data.objectnet3d import ObjectNet3DObject, ObjectNet3DRecord, Viewpoint
    from perception3d.data.objectnet3d_write import write_annotation

    vp = Viewpoint(30.0, 10.0, 2.0, 5.0, 1.0, 2000.0, 50.0, 40.0)
    objects = (
        ObjectNet3DObject("car", (10.0, 20.0, 90.0, 60.0), 2, vp),
        ObjectNet3DObject("chair", (5.0, 5.0, 9.0, 9.0), None, None),
    )
    rec = ObjectNet3DRecord("a", "a.JPEG", (320, 240), objects)
    with tempfile.TemporaryDirectory() as d:
        return write_annotation(Path(d) / "a.mat", rec).read_bytes()


MAT = _annotation_bytes()


@FAST
@given(data=st.one_of(st.binary(max_size=256), edited(MAT, 3)))
def test_mat_annotation(workdir, data):
    from perception3d.data.objectnet3d import read_annotation
    from perception3d.data.objectnet3d_write import write_annotation

    record = _read_written(read_annotation, workdir, "a.mat", data)
    if record is None:
        return
    assert read_annotation(write_annotation(workdir / "back" / "a.mat", record)) == record


ON3D_PRED = (b"a car 10.00 20.00 90.00 60.00 0.9 0.5 0.1 0.0\n"
             b"# comment\nb chair 1 2 3 4 0.25 -1.5 0.2 0.1\n")  # fmt: skip


@FAST
@given(data=inputs(ON3D_PRED))
def test_objectnet3d_prediction_file(workdir, data):
    from perception3d.eval.objectnet3d import read_predictions, write_predictions

    detections = _read_written(
        lambda p: read_predictions(p, classes=["car", "chair"]), workdir, "pred.txt", data
    )
    if detections is None:
        return
    back = read_predictions(write_predictions(workdir / "back.txt", detections))
    assert [(d.image_id, d.class_name) for d in back] == [
        (d.image_id, d.class_name) for d in detections
    ]
    np.testing.assert_allclose([d.score for d in back], [d.score for d in detections], rtol=1e-8)


# -- shard specs ---------------------------------------------------------------------------
@FAST
@given(text=st.one_of(st.text(max_size=10), st.from_regex(r"-?\d{1,3}/-?\d{1,3}", fullmatch=True)))
def test_shard_spec(text):
    from perception3d.sim.writer import parse_shard

    try:
        i, n = parse_shard(text)
    except ValueError as exc:
        assert repr(text) in str(exc)
        return
    assert 0 <= i < n and parse_shard(f"{i}/{n}") == (i, n)


# -- the ground-truth database -------------------------------------------------------------
def _database(folder: Path) -> Path:
    from perception3d.data.gt_database import create_gt_database

    return create_gt_database(SAMPLES, "training", out_dir=folder / "db", progress=False)


@pytest.fixture(scope="module")
def database(workdir) -> Path:
    return _database(workdir)


@FAST
@given(data=st.data())
def test_gt_database(workdir, database, data):
    from perception3d.data.gt_database import GtDatabase

    index, points = (database / "index.json").read_bytes(), (database / "points.npy").read_bytes()
    which = data.draw(st.sampled_from(["index", "points", "both"]))
    folder = workdir / "db_edit"
    folder.mkdir(exist_ok=True)
    new_index = data.draw(inputs(index[:3000])) if which != "points" else index
    new_points = data.draw(edited(points, 3)) if which != "index" else points
    _write(folder, "index.json", new_index)
    _write(folder, "points.npy", new_points)
    try:
        db = GtDatabase.load(folder)
    except DataFormatError as exc:
        assert str(folder) in str(exc)
        return
    for k in range(len(db)):
        assert db.object_points(k).shape == (db.num_points[k], 4)
    assert len(db.names) == len(db.boxes_lidar) == len(db.offsets) - 1


def test_gt_database_round_trip(database):
    from perception3d.data.gt_database import GtDatabase

    db = GtDatabase.load(database)
    index = json.loads((database / "index.json").read_text())
    assert list(db.names) == index["objects"]["name"] and len(db) == 29


def test_error_types_are_the_documented_ones():
    # The types the properties accept are the ones the functions document.
    assert issubclass(KittiFormatError, DataFormatError)
    assert issubclass(DataFormatError, (Perception3DError, ValueError))
    assert issubclass(ConfigError, (Perception3DError, ValueError))
    assert issubclass(MissingFrameError, Perception3DError)


# -- point clouds of any source (perception3d detect) --------------------------------------
def _cloud_files() -> dict[str, bytes]:
    from tests.data.test_pointcloud import write_pcd, write_ply

    pts = np.array([[1.5, -2.0, 0.3, 0.25], [10.0, 4.0, -1.7, 0.0], [3, 3, 3, 1]], np.float32)
    files = {"a.bin": pts.tobytes()}
    buf = io.BytesIO()
    np.save(buf, pts)
    files["a.npy"] = buf.getvalue()
    with tempfile.TemporaryDirectory() as d:
        for data in ("ascii", "binary", "binary_compressed"):
            files[f"{data}.pcd"] = write_pcd(Path(d) / "a.pcd", pts, data).read_bytes()
        for fmt in ("ascii", "binary_little_endian"):
            files[f"{fmt}.ply"] = write_ply(Path(d) / "a.ply", pts, fmt, faces=1).read_bytes()
    return files


CLOUDS = _cloud_files()


@FAST
@given(name=st.sampled_from(sorted(CLOUDS)), data=st.data())
def test_point_cloud_files(workdir, name, data):
    import warnings

    from perception3d.data.pointcloud import read_point_cloud

    def read(path: Path) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # intensity above 1 is warned about, not an error
            return read_point_cloud(path)

    raw = data.draw(st.one_of(st.binary(max_size=128), edited(CLOUDS[name], 3)))
    points = _read_written(read, workdir, name, raw)  # PointCloudFormatError is a DataFormatError
    if points is None:
        return
    assert points.dtype == np.float32 and points.ndim == 2 and points.shape[1] == 4
    assert np.isfinite(points).all()
