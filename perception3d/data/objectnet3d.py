"""ObjectNet3D (Xiang et al., ECCV 2016): annotations, CAD models, image sets, images.

Layout of a dataset root (the real one, or ``perception3d synth-objectnet3d``'s stand-in)::

    Annotations/<id>.mat      variable `record`: filename, imgsize, objects(j)
    CAD/off/<class>/<nn>.off  triangle meshes, nn = cad_index as %02d, faces 0-based
    Image_sets/classes.txt    one class per line; train.txt, val.txt, test.txt: image ids
    Images/<id>.JPEG

``record.objects(j)`` fields read here (names as in the public toolbox,
github.com/yuxng/ObjectNet3D_toolbox, ``show_pose_annotations.m``, ``annotate_pose.m``):
``class``, ``bbox`` [x1 y1 x2 y2] (1-based pixels, inclusive), ``cad_index`` (1-based),
``truncated``, ``occluded``, ``difficult`` (where present) and ``viewpoint`` with ``azimuth``
(else ``azimuth_coarse``), ``elevation`` (else ``elevation_coarse``), ``theta``,
``distance``, ``focal``, ``px``, ``py``, ``viewport`` in degrees / CAD units / pixels. Empty
fields take the toolbox's defaults: theta 0, distance 5, focal 1, viewport 2000, principal
point at the box centre. An empty ``viewpoint`` means "not annotated" (the evaluation then
ignores the object for the viewpoint measures).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from perception3d.data.kitti import read_image, read_split_file
from perception3d.data.matfile import load_mat_plain
from perception3d.data.off import TriangleMesh, read_off
from perception3d.errors import DataFormatError, MissingFrameError
from perception3d.geometry.viewpoint import project_to_image, rotation_from_viewpoint

# toolbox defaults for empty viewpoint fields (show_pose_annotations.m)
DEFAULT_THETA_DEG = 0.0
DEFAULT_DISTANCE = 5.0
DEFAULT_FOCAL = 1.0
DEFAULT_VIEWPORT = 2000.0


@dataclass(frozen=True)
class Viewpoint:
    """A viewpoint annotation with the toolbox's defaults already applied.

    Attributes:
        azimuth_deg, elevation_deg, theta_deg: degrees, as stored in the files.
        distance: camera distance, CAD units. focal, viewport: focal length in pixels is
            ``focal * viewport``. px, py: principal point, 1-based pixels.
    """

    azimuth_deg: float
    elevation_deg: float
    theta_deg: float
    distance: float
    focal: float
    viewport: float
    px: float
    py: float

    @property
    def angles_rad(self) -> tuple[float, float, float]:
        """(azimuth, elevation, theta) in radians."""
        a, e, t = np.deg2rad([self.azimuth_deg, self.elevation_deg, self.theta_deg])
        return float(a), float(e), float(t)

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) object -> camera rotation (``geometry.viewpoint.rotation_from_viewpoint``)."""
        return rotation_from_viewpoint(*self.angles_rad)

    def project(self, points_obj: np.ndarray) -> np.ndarray:
        """(N, 3) CAD-frame points -> (N, 2) 1-based pixel coordinates."""
        uv, _ = project_to_image(
            points_obj, *self.angles_rad, self.distance, self.focal, self.viewport, self.px, self.py
        )
        return uv


@dataclass(frozen=True)
class ObjectNet3DObject:
    """One annotated object.

    Attributes:
        class_name: category, as in ``Image_sets/classes.txt``.
        bbox: (x1, y1, x2, y2), 1-based inclusive pixel coordinates (MATLAB's).
        cad_index: 1-based index of the aligned CAD model in ``CAD/off/<class>/``, or None.
        viewpoint: the pose, or None when the object has no viewpoint annotation.
        truncated, occluded, difficult: flags (False where the file leaves them empty).
    """

    class_name: str
    bbox: tuple[float, float, float, float]
    cad_index: int | None
    viewpoint: Viewpoint | None
    truncated: bool = False
    occluded: bool = False
    difficult: bool = False


@dataclass(frozen=True)
class ObjectNet3DRecord:
    """The ``record`` of one annotation file.

    Attributes:
        image_id: file stem of the annotation (``Annotations/<image_id>.mat``).
        filename: image file name (``Images/<filename>``).
        image_size_wh: (width, height) from ``imgsize`` when present.
        objects: the objects, in file order.
    """

    image_id: str
    filename: str
    image_size_wh: tuple[int, int] | None
    objects: tuple[ObjectNet3DObject, ...]


# -- parsing -------------------------------------------------------------------------------
def _number(value: Any, path: Path, field: str) -> float | None:
    """A scalar field: None when empty; error when it is not one finite number."""
    if value is None or (isinstance(value, (str, list)) and len(value) == 0):
        return None
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf" or arr.size != 1 or not np.isfinite(arr).all():
        raise DataFormatError(path, f"{field}: expected one finite number, got {value!r}")
    return float(arr.reshape(()))


def _flag(value: Any, path: Path, field: str) -> bool:
    number = _number(value, path, field)
    return bool(number) if number is not None else False


def _parse_viewpoint(vp: Any, bbox: tuple, path: Path, where: str) -> Viewpoint | None:
    if vp is None or (isinstance(vp, list) and len(vp) == 0):
        return None
    if isinstance(vp, list) and len(vp) == 1:
        vp = vp[0]
    if not isinstance(vp, dict):
        raise DataFormatError(path, f"{where}: expected a struct, got {type(vp).__name__}")

    def get(name: str) -> float | None:
        return _number(vp.get(name), path, f"{where}.{name}")

    azimuth = get("azimuth")
    azimuth = get("azimuth_coarse") if azimuth is None else azimuth
    elevation = get("elevation")
    elevation = get("elevation_coarse") if elevation is None else elevation
    for name, value in (("azimuth", azimuth), ("elevation", elevation)):
        if value is None:
            raise DataFormatError(
                path, f"{where}: needs {name} or {name}_coarse, fields are {sorted(vp)}"
            )
    values = {name: get(name) for name in ("theta", "distance", "focal", "viewport", "px", "py")}
    defaults = {
        "theta": DEFAULT_THETA_DEG,
        "distance": DEFAULT_DISTANCE,
        "focal": DEFAULT_FOCAL,
        "viewport": DEFAULT_VIEWPORT,
        "px": (bbox[0] + bbox[2]) / 2.0,
        "py": (bbox[1] + bbox[3]) / 2.0,
    }
    v = {k: defaults[k] if values[k] is None else values[k] for k in defaults}
    return Viewpoint(azimuth, elevation, v["theta"], v["distance"], v["focal"], v["viewport"],
                     v["px"], v["py"])  # fmt: skip


def _parse_object(obj: Any, path: Path, j: int) -> ObjectNet3DObject:
    where = f"record.objects({j})"  # 1-based, as MATLAB users read it
    if not isinstance(obj, dict):
        raise DataFormatError(path, f"{where}: expected a struct, got {type(obj).__name__}")
    class_name = obj.get("class")
    if not isinstance(class_name, str) or not class_name:
        raise DataFormatError(path, f"{where}.class: expected a class name, got {class_name!r}")
    raw_bbox = obj.get("bbox")
    bbox_arr = np.asarray(raw_bbox if raw_bbox is not None else [], dtype=object)
    try:
        bbox_arr = bbox_arr.astype(np.float64).ravel()
    except (TypeError, ValueError):
        bbox_arr = np.empty(0)
    if bbox_arr.size != 4 or not np.isfinite(bbox_arr).all():
        raise DataFormatError(path, f"{where}.bbox: expected [x1 y1 x2 y2], got {raw_bbox!r}")
    bbox = tuple(float(x) for x in bbox_arr)
    if bbox[2] < bbox[0] or bbox[3] < bbox[1]:
        raise DataFormatError(path, f"{where}.bbox: expected x2 >= x1 and y2 >= y1, got {bbox}")
    cad = _number(obj.get("cad_index"), path, f"{where}.cad_index")
    if cad is not None and (cad < 1 or cad != int(cad)):
        raise DataFormatError(path, f"{where}.cad_index: expected an integer >= 1, got {cad}")
    return ObjectNet3DObject(
        class_name=class_name,
        bbox=bbox,  # type: ignore[arg-type]
        cad_index=None if cad is None else int(cad),
        viewpoint=_parse_viewpoint(obj.get("viewpoint"), bbox, path, f"{where}.viewpoint"),
        truncated=_flag(obj.get("truncated"), path, f"{where}.truncated"),
        occluded=_flag(obj.get("occluded"), path, f"{where}.occluded"),
        difficult=_flag(obj.get("difficult"), path, f"{where}.difficult"),
    )


def read_annotation(path: str | Path) -> ObjectNet3DRecord:
    """Read ``Annotations/<id>.mat`` (MAT v5 with scipy, v7.3 with mat73).

    Raises:
        DataFormatError: no ``record`` variable, no ``objects`` field, or a malformed object
            (the message names the file and the field, e.g. ``record.objects(2).bbox``).
    """
    path = Path(path)
    variables = load_mat_plain(path)
    record = variables.get("record")
    if not isinstance(record, dict):
        raise DataFormatError(
            path, f"expected a struct variable 'record', variables are {sorted(variables)}"
        )
    if "objects" not in record:
        raise DataFormatError(path, f"record has no 'objects' field, fields are {sorted(record)}")
    objects = record["objects"]
    objects = [] if objects is None else [objects] if isinstance(objects, dict) else objects
    if not isinstance(objects, list):
        raise DataFormatError(path, f"record.objects: expected a struct array, got {objects!r}")
    size = record.get("imgsize")
    size_wh = None
    if size is not None and np.asarray(size).size >= 2:
        size_wh = tuple(int(x) for x in np.asarray(size, dtype=np.float64).ravel()[:2])
    filename = record.get("filename")
    return ObjectNet3DRecord(
        image_id=path.stem,
        filename=filename if isinstance(filename, str) and filename else f"{path.stem}.JPEG",
        image_size_wh=size_wh,  # type: ignore[arg-type]
        objects=tuple(_parse_object(o, path, j) for j, o in enumerate(objects, start=1)),
    )


# -- dataset -------------------------------------------------------------------------------
class ObjectNet3DDataset:
    """An ObjectNet3D root: records, images and CAD models of one image set.

    Args:
        root: dataset root (``Annotations/``, ``CAD/off/``, ``Image_sets/``, ``Images/``).
        split: name of an ``Image_sets/<split>.txt`` file, or None for every annotation file.

    Raises:
        FileNotFoundError: the root or the image set file does not exist.
    """

    def __init__(self, root: str | Path, split: str | None = "val") -> None:
        self.root = Path(root)
        if not (self.root / "Annotations").is_dir():
            raise FileNotFoundError(f"{self.root}: no Annotations/ folder (ObjectNet3D root?)")
        if split is None:
            self.ids = sorted(p.stem for p in (self.root / "Annotations").glob("*.mat"))
        else:
            split_file = self.root / "Image_sets" / f"{split}.txt"
            if not split_file.is_file():
                raise FileNotFoundError(f"{split_file}: no such image set")
            self.ids = read_split_file(split_file)
        self.split = split

    @functools.cached_property
    def classes(self) -> list[str]:
        """Classes of ``Image_sets/classes.txt`` (the evaluation's class list)."""
        path = self.root / "Image_sets" / "classes.txt"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no class list")
        return read_split_file(path)

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[ObjectNet3DRecord]:
        return (self.record(i) for i in self.ids)

    def record(self, image_id: str) -> ObjectNet3DRecord:
        """The parsed annotation of ``image_id``."""
        path = self.root / "Annotations" / f"{image_id}.mat"
        if not path.is_file():
            raise MissingFrameError(f"{path}: no annotation for image {image_id!r}")
        return read_annotation(path)

    def image_path(self, record: ObjectNet3DRecord) -> Path:
        return self.root / "Images" / record.filename

    def image(self, record: ObjectNet3DRecord) -> np.ndarray:
        """(3, H, W) float32 sRGB in [0, 1]."""
        return read_image(self.image_path(record))

    def cad_path(self, class_name: str, cad_index: int) -> Path:
        return self.root / "CAD" / "off" / class_name / f"{cad_index:02d}.off"

    def cad_indices(self, class_name: str) -> list[int]:
        """1-based indices of the CAD models of ``class_name`` (anchor files excluded)."""
        folder = self.root / "CAD" / "off" / class_name
        return sorted(int(p.stem) for p in folder.glob("*.off") if p.stem.isdigit())

    @functools.lru_cache(maxsize=512)  # noqa: B019 - meshes are immutable, the dataset long-lived
    def cad(self, class_name: str, cad_index: int) -> TriangleMesh:
        """The CAD model ``CAD/off/<class>/<nn>.off``."""
        path = self.cad_path(class_name, cad_index)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no CAD model {cad_index} for class {class_name!r}")
        return read_off(path)
