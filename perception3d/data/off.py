"""Triangle meshes in the OFF format (Object File Format), as ObjectNet3D ships its CAD models.

Layout: a line ``OFF``, a line ``num_vertices num_faces num_edges``, the vertices (``x y z``),
then one face per line ``3 i j k`` with 0-based vertex indices (the ObjectNet3D toolbox's
``load_off_file.m`` adds 1 for MATLAB). Comment lines (``#``) and blank lines are skipped.
Only triangles are accepted: every ObjectNet3D CAD model is a triangle mesh.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.errors import DataFormatError


@dataclass(frozen=True)
class TriangleMesh:
    """A triangle mesh.

    Attributes:
        vertices: (V, 3) float64, the model's own frame and units.
        faces: (F, 3) int64, 0-based vertex indices, counter-clockwise seen from outside.
    """

    vertices: np.ndarray
    faces: np.ndarray

    def __post_init__(self) -> None:
        v = np.asarray(self.vertices, dtype=np.float64)
        f = np.asarray(self.faces, dtype=np.int64)
        if v.ndim != 2 or v.shape[1] != 3:
            raise ValueError(f"vertices must be (V, 3), got {v.shape}")
        if f.ndim != 2 or f.shape[1] != 3:
            raise ValueError(f"faces must be (F, 3), got {f.shape}")
        if f.size and (f.min() < 0 or f.max() >= len(v)):
            raise ValueError(f"face indices must be in [0, {len(v)}), got {f.min()}..{f.max()}")
        object.__setattr__(self, "vertices", v)
        object.__setattr__(self, "faces", f)

    @property
    def face_areas(self) -> np.ndarray:
        """(F,) triangle areas."""
        tri = self.vertices[self.faces]  # (F, 3 corners, 3 xyz)
        return 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)


def _data_lines(text: str):
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].strip()
        if stripped:
            yield number, stripped


def read_off(path: str | Path) -> TriangleMesh:
    """Read a triangle ``.off`` file.

    Raises:
        DataFormatError: missing ``OFF`` header, bad counts, a non-numeric value, a face that
            is not a triangle, an index out of range, or fewer lines than announced.
    """
    path = Path(path)
    text = path.read_text(errors="replace")
    lines = _data_lines(text)
    first = next(lines, None)
    if first is None:
        raise DataFormatError(path, "empty file, expected an 'OFF' header")
    number, header = first
    counts_text = ""
    if header == "OFF":
        second = next(lines, None)
        if second is None:
            raise DataFormatError(path, "missing the 'num_vertices num_faces num_edges' line")
        number, counts_text = second
    elif header.startswith("OFF"):  # some writers put the counts on the header line
        counts_text = header[3:].strip()
    else:
        raise DataFormatError(
            path, f"expected 'OFF' on the first line, got {header[:40]!r}", number
        )
    try:
        num_vertices, num_faces = (int(x) for x in counts_text.split()[:2])
    except ValueError:
        raise DataFormatError(
            path, f"expected 'num_vertices num_faces num_edges', got {counts_text!r}", number
        ) from None
    if num_vertices < 0 or num_faces < 0:
        raise DataFormatError(
            path, f"expected non-negative counts, got {num_vertices} {num_faces}", number
        )
    # Allocate no more rows than the file has lines: a corrupt count must not exhaust memory
    # (the loop below reports the missing lines).
    remaining = len(text.splitlines()) - number
    vertices = np.empty((min(num_vertices, remaining), 3), dtype=np.float64)
    faces = np.empty((min(num_faces, remaining), 3), dtype=np.int64)
    for i in range(num_vertices + num_faces):
        item = next(lines, None)
        if item is None:
            raise DataFormatError(
                path, f"file ends after {i} of {num_vertices} vertices + {num_faces} faces"
            )
        number, line = item
        parts = line.split()
        if i >= num_vertices and parts[0] != "3":
            raise DataFormatError(
                path, f"only triangles are supported, got a face {line[:40]!r}", number
            )
        try:
            if i < num_vertices:
                vertices[i] = [float(x) for x in parts[:3]]
            else:
                faces[i - num_vertices] = [int(x) for x in parts[1:4]]
        except ValueError:
            what = "vertex 'x y z'" if i < num_vertices else "face '3 i j k'"
            raise DataFormatError(path, f"expected a {what}, got {line[:60]!r}", number) from None
    if faces.size and (faces.min() < 0 or faces.max() >= num_vertices):
        raise DataFormatError(
            path, f"face index out of range [0, {num_vertices}): {faces.min()}..{faces.max()}"
        )
    return TriangleMesh(vertices, faces)


def write_off(path: str | Path, mesh: TriangleMesh, decimals: int = 6) -> Path:
    """Write ``mesh`` as a triangle ``.off`` file (0-based faces), atomically.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.off"
        >>> m = TriangleMesh(np.eye(3), np.array([[0, 1, 2]]))
        >>> _ = write_off(p, m)
        >>> read_off(p).faces.tolist()
        [[0, 1, 2]]
    """
    lines = ["OFF", f"{len(mesh.vertices)} {len(mesh.faces)} 0"]
    lines += [" ".join(f"{c:.{decimals}f}" for c in v) for v in mesh.vertices]
    lines += [f"3 {a} {b} {c}" for a, b, c in mesh.faces]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def sample_surface(mesh: TriangleMesh, num_points: int, rng: np.random.Generator) -> np.ndarray:
    """Sample points uniformly on the mesh surface (area-weighted faces, uniform barycentric).

    Args:
        mesh: the mesh (non-zero total area).
        num_points: how many points.
        rng: the randomness.

    Returns:
        (num_points, 3) float64 points in the mesh frame.

    Raises:
        ValueError: the mesh has zero area or num_points < 1.
    """
    if num_points < 1:
        raise ValueError(f"num_points must be >= 1, got {num_points}")
    areas = mesh.face_areas
    total = areas.sum()
    if not total > 0:
        raise ValueError("mesh has zero surface area")
    face = rng.choice(len(areas), size=num_points, p=areas / total)
    r1, r2 = rng.random(num_points), rng.random(num_points)
    flip = r1 + r2 > 1.0  # fold the unit square onto the triangle
    r1[flip], r2[flip] = 1.0 - r1[flip], 1.0 - r2[flip]
    tri = mesh.vertices[mesh.faces[face]]  # (N, 3 corners, 3 xyz)
    return tri[:, 0] + r1[:, None] * (tri[:, 1] - tri[:, 0]) + r2[:, None] * (tri[:, 2] - tri[:, 0])
