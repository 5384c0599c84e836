"""Write ObjectNet3D annotation files in the struct layout the MATLAB toolbox reads.

``record`` is a struct with ``filename`` (char), ``imgsize`` ([width height 3]) and
``objects``, a 1xN struct array with fields ``class``, ``bbox`` (1x4 double), ``cad_index``,
``viewpoint`` (a struct, or ``[]`` when not annotated), ``truncated``, ``occluded``,
``difficult`` and ``shapenet`` (``[]``: no ShapeNet link). The viewpoint carries both the
fine (``azimuth``, ``elevation``) and coarse (``azimuth_coarse``, ``elevation_coarse``)
angles, plus ``theta``, ``distance``, ``focal``, ``px``, ``py``, ``viewport``; angles in
degrees. So ``load('<id>.mat'); record.objects(1).viewpoint.azimuth`` works in MATLAB, and
``perception3d.data.objectnet3d.read_annotation`` reads it back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from perception3d.data.matfile import save_mat
from perception3d.data.objectnet3d import ObjectNet3DObject, ObjectNet3DRecord, Viewpoint

_OBJECT_FIELDS = (
    "class",
    "bbox",
    "cad_index",
    "viewpoint",
    "truncated",
    "occluded",
    "difficult",
    "shapenet",
)
_EMPTY = np.zeros((0, 0))  # MATLAB []


def _viewpoint_struct(vp: Viewpoint, coarse_step_deg: float) -> dict:
    def coarse(angle: float) -> float:
        return float(np.round(angle / coarse_step_deg) * coarse_step_deg)

    return {
        "azimuth_coarse": coarse(vp.azimuth_deg),
        "elevation_coarse": coarse(vp.elevation_deg),
        "azimuth": float(vp.azimuth_deg),
        "elevation": float(vp.elevation_deg),
        "distance": float(vp.distance),
        "focal": float(vp.focal),
        "px": float(vp.px),
        "py": float(vp.py),
        "theta": float(vp.theta_deg),
        "viewport": float(vp.viewport),
    }


def _object_row(obj: ObjectNet3DObject, coarse_step_deg: float) -> tuple:
    return (
        obj.class_name,
        np.asarray(obj.bbox, dtype=np.float64)[None, :],  # 1x4
        _EMPTY if obj.cad_index is None else float(obj.cad_index),
        _EMPTY if obj.viewpoint is None else _viewpoint_struct(obj.viewpoint, coarse_step_deg),
        float(obj.truncated),
        float(obj.occluded),
        float(obj.difficult),
        _EMPTY,
    )


def record_to_mat(record: ObjectNet3DRecord, coarse_step_deg: float = 1.0) -> dict:
    """The ``record`` struct as values ``scipy.io.savemat`` writes in the toolbox's layout.

    Args:
        record: the annotation.
        coarse_step_deg: ``azimuth_coarse`` / ``elevation_coarse`` are the fine angles
            rounded to this step.
    """
    objects = np.empty((1, len(record.objects)), dtype=[(f, object) for f in _OBJECT_FIELDS])
    for j, obj in enumerate(record.objects):
        objects[0, j] = _object_row(obj, coarse_step_deg)
    out: dict = {"filename": record.filename, "objects": objects}
    if record.image_size_wh is not None:
        out["imgsize"] = np.array([*record.image_size_wh, 3], dtype=np.float64)[None, :]
    return out


def write_annotation(path: str | Path, record: ObjectNet3DRecord) -> Path:
    """Write ``record`` to ``path`` (MAT v5, byte-deterministic, atomic)."""
    return save_mat(path, {"record": record_to_mat(record)})
