"""A minimal ObjectNet3D root for evaluation tests: annotations of the given images, the class
list car + chair and a val split of images a and b."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from perception3d.data.objectnet3d import ObjectNet3DObject, ObjectNet3DRecord
from perception3d.data.objectnet3d_write import write_annotation


def write_root(
    root: Path, records: Mapping[str, Sequence[ObjectNet3DObject]], image_size: tuple[int, int]
) -> Path:
    """Write ``Annotations/<id>.mat`` for each image of ``records`` (``image_size`` as the
    record stores it) and ``Image_sets/classes.txt`` (car, chair), ``val.txt`` (a, b)."""
    for image_id, objects in records.items():
        rec = ObjectNet3DRecord(image_id, f"{image_id}.JPEG", image_size, tuple(objects))
        write_annotation(root / "Annotations" / f"{image_id}.mat", rec)
    (root / "Image_sets").mkdir()
    (root / "Image_sets" / "classes.txt").write_text("car\nchair\n")
    (root / "Image_sets" / "val.txt").write_text("a\nb\n")
    return root
