"""KITTI label and result rows: ``KittiObject``, the row parser with its checks, the file
reader and writer (``perception3d.data.kitti`` re-exports everything here).

Label columns: type, truncated, occluded, alpha, bbox (x1 y1 x2 y2, px), dimensions (h w l, m),
location (x y z, bottom centre, rectified camera frame, m), rotation_y [, score].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.errors import KittiFormatError, read_utf8

CLASSES = (
    "Car",
    "Van",
    "Truck",
    "Pedestrian",
    "Person_sitting",
    "Cyclist",
    "Tram",
    "Misc",
    "DontCare",
)

# KITTI devkit difficulty rules (evaluate_object.cpp; REFERENCE.md), per difficulty (easy,
# moderate, hard), cumulative: an object counts when its 2D box is taller than MIN_HEIGHT_PX,
# its occlusion level <= MAX_OCCLUSION and its truncation <= MAX_TRUNCATION. The evaluator
# (perception3d.eval.kitti_protocol) and the ground-truth database share these.
MIN_HEIGHT_PX = (40.0, 25.0, 25.0)
MAX_OCCLUSION = (0, 1, 2)
MAX_TRUNCATION = (0.15, 0.3, 0.5)


# -- labels -------------------------------------------------------------------------------
@dataclass(frozen=True)
class KittiObject:
    """One ``label_2`` row (or result row, with ``score``).

    ``dimensions`` is (h, w, l) metres; ``location`` the bottom centre (x, y, z) in the
    rectified camera frame; ``bbox`` (x1, y1, x2, y2) image_2 pixels.

    ``decimals`` remembers how many decimals each numeric column had in the file it was read
    from (KITTI writes most rows with 2, but some DontCare rows as integers), so writing it
    back reproduces the file byte for byte; it never holds values, only formatting.
    """

    type: str
    truncated: float
    occluded: int
    alpha: float
    bbox: tuple[float, float, float, float]
    dimensions: tuple[float, float, float]
    location: tuple[float, float, float]
    rotation_y: float
    score: float | None = None
    decimals: tuple[int, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def is_dontcare(self) -> bool:
        return self.type == "DontCare"

    @property
    def box_cam(self) -> np.ndarray:
        """(7,) ``[x, y, z, l, h, w, ry]``, the ``boxes_cam`` layout."""
        h, w, l = self.dimensions
        return np.array([*self.location, l, h, w, self.rotation_y], dtype=np.float64)

    def to_line(self, decimals: int = 2) -> str:
        """Format as a KITTI row: ``decimals`` per number (score: 4), or the decimals the row
        had when it was read."""
        nums = [
            self.truncated,
            self.alpha,
            *self.bbox,
            *self.dimensions,
            *self.location,
            self.rotation_y,
        ]
        places = list(self.decimals or ())
        places += [decimals] * (len(nums) - len(places)) + [4]
        row = [self.type, f"{nums[0]:.{places[0]}f}", str(int(self.occluded))]
        row += [f"{v:.{d}f}" for v, d in zip(nums[1:], places[1:])]
        if self.score is not None:
            row.append(f"{self.score:.{places[len(nums)]}f}")
        return " ".join(row)


def parse_label_line(
    line: str, path: str | Path = "<string>", lineno: int = 1, allow_score: bool = True
) -> KittiObject:
    """Parse one label/result row; errors name ``path`` and ``lineno``. With
    ``allow_score=False`` the row is ground truth (a ``label_2`` row) and its values are
    checked too (:func:`check_label_values`).

    Raises:
        KittiFormatError: a wrong column count, a non-numeric or non-finite value, or (ground
            truth) a value outside KITTI's rules.
    """
    cols = line.split()
    expected = "15 (label) or 16 (result with score)" if allow_score else "15"
    if len(cols) not in ((15, 16) if allow_score else (15,)):
        raise KittiFormatError(path, f"expected {expected} columns, got {len(cols)}", lineno)
    names = (
        "truncated",
        "occluded",
        "alpha",
        "bbox x1",
        "bbox y1",
        "bbox x2",
        "bbox y2",
        "height",
        "width",
        "length",
        "x",
        "y",
        "z",
        "rotation_y",
        "score",
    )
    vals = []
    for name, tok in zip(names, cols[1:]):
        try:
            v = float(tok)
        except ValueError:
            raise KittiFormatError(
                path, f"column {name!r}: expected a number, got {tok!r}", lineno
            ) from None
        if not math.isfinite(v):
            raise KittiFormatError(path, f"column {name!r}: not finite ({tok!r})", lineno)
        vals.append(v)
    if vals[1] != int(vals[1]):
        raise KittiFormatError(
            path, f"column 'occluded': expected an integer, got {cols[2]!r}", lineno
        )
    # decimals of every number but 'occluded' (an integer), in column order, then the score
    tokens = [cols[1], *cols[3:]]
    places = tuple(len(t) - t.index(".") - 1 if "." in t else 0 for t in tokens)
    if not allow_score:  # a label row (ground truth): its values must mean something
        check_label_values(cols[0], vals, path, lineno)
    return KittiObject(
        type=cols[0],
        truncated=vals[0],
        occluded=int(vals[1]),
        alpha=vals[2],
        bbox=tuple(vals[3:7]),
        dimensions=tuple(vals[7:10]),
        location=tuple(vals[10:13]),
        rotation_y=vals[13],
        score=vals[14] if len(vals) == 15 else None,
        decimals=places,
    )


def check_label_values(
    type_: str, vals: Sequence[float], path: str | Path = "<string>", lineno: int = 1
) -> None:
    """Check the meaning of a label row (ground truth): ``vals`` are its 14 numbers in column
    order (truncated, occluded, alpha, bbox, h, w, l, x, y, z, rotation_y).

    KITTI's rules (devkit readme): a class of ``CLASSES`` (case-sensitive), truncation in
    [0, 1], occlusion 0..3, positive dimensions, ``x2 >= x1`` and ``y2 >= y1``; DontCare rows
    may hold -1 ("unknown") for truncation, occlusion and the dimensions, as KITTI's own do
    (``DontCare -1 -1 -10 x1 y1 x2 y2 -1 -1 -1 -1000 -1000 -1000 -10``).

    Raises:
        KittiFormatError: naming the file, the line, the column and what was expected.

    Example:
        >>> check_label_values("car", [0, 0, 0, 1, 1, 2, 2, 1.5, 1.6, 3.9, 0, 1.6, 9, 0])
        Traceback (most recent call last):
        ...
        perception3d.errors.KittiFormatError: <string>, line 1: class 'car' is not one of \
KITTI's (Car, Van, Truck, Pedestrian, Person_sitting, Cyclist, Tram, Misc, DontCare); names \
are case-sensitive: did you mean 'Car'?
    """
    if type_ not in CLASSES:
        near = [c for c in CLASSES if c.lower() == type_.lower()]
        hint = f"; names are case-sensitive: did you mean {near[0]!r}?" if near else ""
        raise KittiFormatError(
            path, f"class {type_!r} is not one of KITTI's ({', '.join(CLASSES)}){hint}", lineno
        )
    dontcare = type_ == "DontCare"
    unknown = " (or -1, unknown, on a DontCare row)" if dontcare else ""
    truncated, occluded = vals[0], vals[1]
    if not (0.0 <= truncated <= 1.0 or (dontcare and truncated == -1)):
        raise KittiFormatError(
            path, f"column 'truncated': expected a value in [0, 1]{unknown}, got {truncated:g}",
            lineno,
        )  # fmt: skip
    if not (0 <= occluded <= 3 or (dontcare and occluded == -1)):
        raise KittiFormatError(
            path, f"column 'occluded': expected 0, 1, 2 or 3{unknown}, got {occluded:g}", lineno
        )
    dims = tuple(vals[7:10])
    if not (all(d > 0 for d in dims) or (dontcare and all(d == -1 for d in dims))):
        raise KittiFormatError(
            path,
            f"dimensions (height, width, length): expected positive metres{unknown}, got "
            f"{' '.join(f'{d:g}' for d in dims)}",
            lineno,
        )
    x1, y1, x2, y2 = vals[3:7]
    if x2 < x1 or y2 < y1:
        raise KittiFormatError(
            path, f"bbox must have x2 >= x1 and y2 >= y1, got {x1:g} {y1:g} {x2:g} {y2:g}", lineno
        )


def read_text_file(path: str | Path, what: str = "text") -> str:
    """The UTF-8 text of ``path``.

    Raises:
        DataFormatError: the file is not UTF-8 text (its offset named).
        FileNotFoundError: no such file.
    """
    return read_utf8(path, f"a UTF-8 {what} file")


def read_label_file(path: str | Path, allow_score: bool = True) -> list[KittiObject]:
    """Read a ``label_2`` (or result) file; empty files give ``[]``. With
    ``allow_score=False`` (a label file) every row's values are checked too
    (:func:`check_label_values`).

    Raises:
        KittiFormatError: wrong column count, a non-numeric field, or a label value outside
            KITTI's rules (file and line named).
        DataFormatError: not UTF-8 text.
    """
    path = Path(path)
    objects = []
    for lineno, line in enumerate(read_text_file(path, "label").splitlines(), start=1):
        if line.strip():
            objects.append(parse_label_line(line, path, lineno, allow_score))
    return objects


def kitti_difficulty(obj: KittiObject) -> int:
    """Easiest KITTI difficulty an object counts for: 0 easy, 1 moderate, 2 hard, -1 none
    (``MIN_HEIGHT_PX``, ``MAX_OCCLUSION``, ``MAX_TRUNCATION``).

    Example:
        >>> kitti_difficulty(parse_label_line(
        ...     "Car 0.00 1 -1.5 100 100 200 130 1.5 1.6 3.9 1.0 1.6 20.0 -1.5"))
        1
    """
    height = obj.bbox[3] - obj.bbox[1]
    for level in range(3):
        if (
            height > MIN_HEIGHT_PX[level]
            and obj.occluded <= MAX_OCCLUSION[level]
            and obj.truncated <= MAX_TRUNCATION[level]
        ):
            return level
    return -1


# Decimals of the detection result files this project writes (``write_result_file``: ``infer``,
# ``demo``, the frustum and file detectors). KITTI's labels carry 2, but a prediction rounded
# to 1 cm and 0.01 rad crosses the 0.7 3D IoU line often enough to move Car 3D AP_R40 by 5
# points on 40 frames (docs/sim2real.md, row 42); OpenPCDet writes its results with 4.
RESULT_DECIMALS = 4


def write_label_file(path: str | Path, objects: Sequence[KittiObject], decimals: int = 2) -> Path:
    """Write a label/result file atomically (one row per object, newline terminated)."""
    text = "".join(obj.to_line(decimals) + "\n" for obj in objects)
    return atomic_write_text(path, text)


def write_result_file(path: str | Path, objects: Sequence[KittiObject]) -> Path:
    """Write detections as a KITTI result file atomically, at ``RESULT_DECIMALS``."""
    return write_label_file(path, objects, RESULT_DECIMALS)


def labels_to_arrays(objects: Sequence[KittiObject]) -> dict[str, np.ndarray]:
    """Struct-of-arrays view for vectorized use.

    Returns keys ``type`` (M,) str, ``truncated``, ``occluded``, ``alpha``, ``score`` (M,)
    (score NaN when absent), ``bbox`` (M, 4), ``boxes_cam`` (M, 7) ``[x, y, z, l, h, w, ry]``.
    """
    m = len(objects)
    return {
        "type": np.array([o.type for o in objects], dtype=object),
        "truncated": np.array([o.truncated for o in objects], dtype=np.float64),
        "occluded": np.array([o.occluded for o in objects], dtype=np.int64),
        "alpha": np.array([o.alpha for o in objects], dtype=np.float64),
        "score": np.array(
            [np.nan if o.score is None else o.score for o in objects], dtype=np.float64
        ),
        "bbox": np.array([o.bbox for o in objects], dtype=np.float64).reshape(m, 4),
        "boxes_cam": np.array([o.box_cam for o in objects], dtype=np.float64).reshape(m, 7),
    }
