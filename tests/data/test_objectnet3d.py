"""ObjectNet3D reader: annotation files (v5 and v7.3), toolbox defaults, errors, .off meshes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from perception3d.data.matfile import load_mat_plain, save_mat
from perception3d.data.objectnet3d import (
    ObjectNet3DDataset,
    ObjectNet3DObject,
    ObjectNet3DRecord,
    Viewpoint,
    read_annotation,
)
from perception3d.data.objectnet3d_write import record_to_mat, write_annotation
from perception3d.data.off import TriangleMesh, read_off, sample_surface, write_off
from perception3d.errors import DataFormatError, MissingFrameError

EMPTY = np.zeros((0, 0))


def _record() -> ObjectNet3DRecord:
    vp = Viewpoint(30.5, 10.25, -3.0, 12.0, 1.0, 2000.0, 100.0, 80.0)
    return ObjectNet3DRecord(
        "n0001_12",
        "n0001_12.JPEG",
        (320, 240),
        (
            ObjectNet3DObject("car", (10.0, 20.0, 110.0, 90.0), 2, vp, truncated=True),
            ObjectNet3DObject("chair", (1.0, 2.0, 3.0, 4.0), None, None, occluded=True),
        ),
    )


def _toolbox_like_objects(rows):
    """A 1xN struct array built directly with scipy, the way MATLAB's save stores it."""
    fields = sorted({k for row in rows for k in row})
    arr = np.empty((1, len(rows)), dtype=[(f, object) for f in fields])
    for j, row in enumerate(rows):
        arr[0, j] = tuple(row.get(f, EMPTY) for f in fields)
    return arr


def test_write_read_round_trip(tmp_path: Path):
    rec = _record()
    path = write_annotation(tmp_path / f"{rec.image_id}.mat", rec)
    assert read_annotation(path) == rec


def test_single_and_zero_objects_round_trip(tmp_path: Path):
    rec = _record()
    one = ObjectNet3DRecord("a", "a.JPEG", (320, 240), rec.objects[:1])
    none = ObjectNet3DRecord("b", "b.JPEG", None, ())
    assert read_annotation(write_annotation(tmp_path / "a.mat", one)) == one
    assert read_annotation(write_annotation(tmp_path / "b.mat", none)) == none


def test_writer_is_byte_deterministic(tmp_path: Path):
    a = write_annotation(tmp_path / "a.mat", _record()).read_bytes()
    b = write_annotation(tmp_path / "b.mat", _record()).read_bytes()
    assert a == b
    assert a.startswith(b"MATLAB 5.0 MAT-file")


def test_written_layout_is_the_toolbox_struct_layout(tmp_path: Path):
    # read back with scipy's MATLAB-like view: record.objects(1).viewpoint.azimuth etc.
    path = write_annotation(tmp_path / "x.mat", _record())
    m = scipy.io.loadmat(path)
    rec = m["record"][0, 0]
    objects = rec["objects"]
    assert objects.shape == (1, 2)
    first = objects[0, 0]
    assert first["class"][0] == "car"
    np.testing.assert_array_equal(first["bbox"], [[10, 20, 110, 90]])
    vp = first["viewpoint"][0, 0]
    assert vp["azimuth"][0, 0] == 30.5 and vp["azimuth_coarse"][0, 0] == 30.0
    assert vp["viewport"][0, 0] == 2000 and vp["theta"][0, 0] == -3
    assert objects[0, 1]["viewpoint"].size == 0  # [] = not annotated
    np.testing.assert_array_equal(rec["imgsize"], [[320, 240, 3]])
    assert rec["filename"][0] == "n0001_12.JPEG"


def test_toolbox_defaults_and_coarse_fallback(tmp_path: Path):
    # only the coarse angles, empty theta/distance/focal/viewport/px/py: the toolbox defaults
    vp = {
        "azimuth_coarse": 45.0,
        "elevation_coarse": 15.0,
        "azimuth": EMPTY,
        "elevation": EMPTY,
        "theta": EMPTY,
        "distance": EMPTY,
        "focal": EMPTY,
        "px": EMPTY,
        "py": EMPTY,
        "viewport": EMPTY,
    }
    objects = _toolbox_like_objects(
        [{"class": "bed", "bbox": np.array([[11.0, 21.0, 51.0, 81.0]]), "viewpoint": vp}]
    )
    scipy.io.savemat(tmp_path / "z.mat", {"record": {"filename": "z.JPEG", "objects": objects}})
    obj = read_annotation(tmp_path / "z.mat").objects[0]
    assert obj.viewpoint == Viewpoint(45.0, 15.0, 0.0, 5.0, 1.0, 2000.0, 31.0, 51.0)
    assert obj.cad_index is None and not obj.truncated and not obj.difficult


def test_fine_angles_win_over_coarse(tmp_path: Path):
    vp = {"azimuth_coarse": 45.0, "elevation_coarse": 15.0, "azimuth": 47.5, "elevation": 14.0}
    objects = _toolbox_like_objects(
        [{"class": "bed", "bbox": np.array([[1.0, 1.0, 5.0, 5.0]]), "viewpoint": vp}]
    )
    scipy.io.savemat(tmp_path / "z.mat", {"record": {"objects": objects}})
    rec = read_annotation(tmp_path / "z.mat")
    assert (rec.objects[0].viewpoint.azimuth_deg, rec.objects[0].viewpoint.elevation_deg) == (47.5, 14.0)
    assert rec.filename == "z.JPEG"  # no filename field: the id's image


def test_v73_file_is_read_with_h5py(tmp_path: Path):
    pytest.importorskip("h5py")
    hdf5storage = pytest.importorskip("hdf5storage")
    rec = _record()
    for n in (2, 1):
        r = ObjectNet3DRecord(f"v73_{n}", "v73.JPEG", (320, 240), rec.objects[:n])
        path = tmp_path / f"v73_{n}.mat"
        hdf5storage.savemat(str(path), {"record": record_to_mat(r)}, format="7.3")
        with pytest.raises(NotImplementedError):
            scipy.io.loadmat(path)  # really a v7.3 (HDF5) file
        assert read_annotation(path) == r


@pytest.mark.parametrize(
    ("record", "match"),
    [
        ({"filename": "a.JPEG"}, r"record has no 'objects' field"),
        (
            {"objects": _toolbox_like_objects([{"class": "car", "bbox": np.array([[1.0, 2.0, 3.0]])}])},
            r"record.objects\(1\).bbox: expected \[x1 y1 x2 y2\]",
        ),
        (
            {"objects": _toolbox_like_objects([{"class": "car", "bbox": np.array([[5.0, 2.0, 3.0, 4.0]])}])},
            r"record.objects\(1\).bbox: expected x2 >= x1",
        ),
        (
            {"objects": _toolbox_like_objects([{"class": EMPTY, "bbox": np.array([[1.0, 2, 3, 4]])}])},
            r"record.objects\(1\).class: expected a class name",
        ),
        (
            {
                "objects": _toolbox_like_objects(
                    [
                        {"class": "car", "bbox": np.array([[1.0, 2, 3, 4]])},
                        {"class": "car", "bbox": np.array([[1.0, 2, 3, 4]]), "viewpoint": {"theta": 0.0}},
                    ]
                )
            },
            r"record.objects\(2\).viewpoint: needs azimuth or azimuth_coarse",
        ),
        (
            {
                "objects": _toolbox_like_objects(
                    [{"class": "car", "bbox": np.array([[1.0, 2, 3, 4]]), "cad_index": 0.5}]
                )
            },
            r"cad_index: expected an integer >= 1",
        ),
    ],
)
def test_malformed_records_name_file_and_field(tmp_path: Path, record, match):
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, {"record": record})
    with pytest.raises(DataFormatError, match=match) as info:
        read_annotation(path)
    assert "bad.mat" in str(info.value)


def test_not_a_record_or_not_a_mat_file(tmp_path: Path):
    scipy.io.savemat(tmp_path / "a.mat", {"other": 1.0})
    with pytest.raises(DataFormatError, match="expected a struct variable 'record'"):
        read_annotation(tmp_path / "a.mat")
    (tmp_path / "b.mat").write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(DataFormatError, match="b.mat"):
        read_annotation(tmp_path / "b.mat")


def test_load_mat_plain_shapes(tmp_path: Path):
    save_mat(tmp_path / "p.mat", {"s": {"a": 1.5, "e": EMPTY, "txt": "hi", "v": np.arange(3.0)}})
    s = load_mat_plain(tmp_path / "p.mat")["s"]
    assert s["a"] == 1.5 and s["e"] is None and s["txt"] == "hi"
    np.testing.assert_array_equal(s["v"], [0, 1, 2])


# -- .off meshes ---------------------------------------------------------------------------
def test_off_round_trip_and_toolbox_indexing(tmp_path: Path):
    mesh = TriangleMesh(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]]),
                        np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]))  # fmt: skip
    path = write_off(tmp_path / "01.off", mesh)
    text = path.read_text().splitlines()
    assert text[0] == "OFF" and text[1] == "4 4 0" and text[6] == "3 0 2 1"  # 0-based faces
    back = read_off(path)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    np.testing.assert_allclose(back.vertices, mesh.vertices)
    assert back.face_areas.sum() == pytest.approx(1.5 + np.sqrt(3) / 2)


def test_off_with_comments_and_counts_on_header(tmp_path: Path):
    (tmp_path / "a.off").write_text("OFF 3 1 0\n# a comment\n0 0 0\n1 0 0\n0 1 0\n\n3 0 1 2\n")
    assert read_off(tmp_path / "a.off").faces.tolist() == [[0, 1, 2]]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("PLY\n", "expected 'OFF' on the first line"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n4 0 1 2 0\n", "only triangles"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 5\n", "face index out of range"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n", "file ends after 2 of 3 vertices"),
        ("OFF\n3 1 0\n0 0 x\n1 0 0\n0 1 0\n3 0 1 2\n", "line 3: expected a vertex"),
        ("OFF\nthree 1 0\n", "line 2: expected 'num_vertices num_faces num_edges'"),
    ],
)
def test_off_errors(tmp_path: Path, text, match):
    (tmp_path / "bad.off").write_text(text)
    with pytest.raises(DataFormatError, match=match):
        read_off(tmp_path / "bad.off")


def test_surface_samples_lie_on_the_mesh_and_follow_area(rng):
    # two unit-square faces of a cube side, one 4x larger: 4/5 of the points on the big one
    mesh = TriangleMesh(
        np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 5], [2, 0, 5], [0, 2, 5.0]]),
        np.array([[0, 1, 2], [3, 4, 5]]),
    )
    pts = sample_surface(mesh, 20000, rng)
    assert set(np.unique(pts[:, 2])) == {0.0, 5.0}
    assert np.mean(pts[:, 2] == 5.0) == pytest.approx(0.8, abs=0.01)
    small = pts[pts[:, 2] == 0.0]
    assert (small[:, :2].sum(1) <= 1 + 1e-12).all() and (small >= -1e-12).all()


# -- dataset -------------------------------------------------------------------------------
def test_dataset_reads_a_root(tmp_path: Path):
    rec = _record()
    write_annotation(tmp_path / "Annotations" / f"{rec.image_id}.mat", rec)
    (tmp_path / "Image_sets").mkdir()
    (tmp_path / "Image_sets" / "classes.txt").write_text("car\nchair\n")
    (tmp_path / "Image_sets" / "val.txt").write_text(f"{rec.image_id}\n")
    mesh = TriangleMesh(np.eye(3), np.array([[0, 1, 2]]))
    write_off(tmp_path / "CAD" / "off" / "car" / "02.off", mesh)
    from PIL import Image

    (tmp_path / "Images").mkdir()
    Image.new("RGB", (320, 240), (255, 0, 0)).save(tmp_path / "Images" / rec.filename, "JPEG")
    ds = ObjectNet3DDataset(tmp_path, split="val")
    assert ds.ids == [rec.image_id] and ds.classes == ["car", "chair"] and len(ds) == 1
    assert list(ds)[0] == rec
    assert ds.cad_indices("car") == [2]
    np.testing.assert_allclose(ds.cad("car", 2).vertices, np.eye(3))
    assert ds.image(rec).shape == (3, 240, 320)
    with pytest.raises(MissingFrameError, match="no annotation for image 'nope'"):
        ds.record("nope")
    with pytest.raises(FileNotFoundError, match="no CAD model 3"):
        ds.cad("car", 3)
    with pytest.raises(FileNotFoundError, match="no such image set"):
        ObjectNet3DDataset(tmp_path, split="train")
    assert ObjectNet3DDataset(tmp_path, split=None).ids == [rec.image_id]
