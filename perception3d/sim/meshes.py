"""Triangle meshes with named parts, and the primitives the scene builders are made of.

A :class:`Mesh` is plain numpy: vertices (metres, in the frame of whoever built it), triangles
and one part id per triangle (``"body"``, ``"window"``, ``"tyre"``...), so a renderer can give
each part its own material. Object builders (``vehicles.py``, ``people.py``, ``scenery.py``)
work in the object frame: x forward, y left, z up, origin at the bottom centre; a scene places
them with :meth:`Mesh.transformed`. Nothing here depends on Open3D.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perception3d.geometry.boxes import UNIT_CORNERS

__all__ = [
    "Mesh",
    "box",
    "cross3",
    "cylinder",
    "ellipse_stack",
    "ellipsoid",
    "freeze",
    "hexahedron",
    "merge",
    "rotation_z",
    "torus",
    "tube",
]


@dataclass(frozen=True, eq=False)
class Mesh:
    """A triangle mesh whose triangles belong to named parts.

    Attributes:
        vertices: (V, 3) float64, metres.
        triangles: (T, 3) int64 vertex indices.
        parts: (T,) int64 index into ``part_names`` of each triangle.
        part_names: names of the parts.
    """

    vertices: np.ndarray
    triangles: np.ndarray
    parts: np.ndarray
    part_names: tuple[str, ...]

    def __post_init__(self) -> None:
        v, t, p = self.vertices, self.triangles, self.parts
        if v.ndim != 2 or v.shape[1] != 3:
            raise ValueError(f"vertices must be (V, 3), got {v.shape}")
        if t.ndim != 2 or t.shape[1] != 3:
            raise ValueError(f"triangles must be (T, 3), got {t.shape}")
        if p.shape != (len(t),):
            raise ValueError(f"parts must be ({len(t)},), got {p.shape}")
        if len(t) and (t.min() < 0 or t.max() >= len(v)):
            raise ValueError(
                f"triangle indices must lie in [0, {len(v)}), got {t.min()}..{t.max()}"
            )

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) [min, max] corner of the axis-aligned bounding box."""
        return np.stack([self.vertices.min(axis=0), self.vertices.max(axis=0)])

    def with_vertices(self, vertices: np.ndarray) -> Mesh:
        """The same triangles over new (V, 3) ``vertices`` (unchecked beyond the shape: the
        cheap way to place a copy of a template)."""
        if vertices.shape != self.vertices.shape:
            raise ValueError(f"vertices must be {self.vertices.shape}, got {vertices.shape}")
        out = object.__new__(Mesh)
        object.__setattr__(out, "vertices", vertices)
        object.__setattr__(out, "triangles", self.triangles)
        object.__setattr__(out, "parts", self.parts)
        object.__setattr__(out, "part_names", self.part_names)
        return out

    def transformed(self, rotation: np.ndarray, translation: Sequence[float]) -> Mesh:
        """The mesh moved by ``x -> rotation @ x + translation`` ((3, 3), (3,))."""
        v = self.vertices @ np.asarray(rotation, np.float64).T + np.asarray(translation)
        return self.with_vertices(v)

    def scaled(self, factors: Sequence[float]) -> Mesh:
        """The mesh scaled per axis about the origin."""
        return self.with_vertices(self.vertices * np.asarray(factors, np.float64))

    def part_mask(self, name: str) -> np.ndarray:
        """(T,) bool: triangles of part ``name`` (all False if the mesh has no such part)."""
        if name not in self.part_names:
            return np.zeros(len(self.triangles), bool)
        return self.parts == self.part_names.index(name)


def rotation_z(angle_rad: float) -> np.ndarray:
    """(3, 3) rotation about +z by ``angle_rad`` (counter-clockwise seen from above)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _single(vertices, triangles, part: str) -> Mesh:
    tri = np.asarray(triangles, np.int64).reshape(-1, 3)
    return Mesh(np.asarray(vertices, np.float64), tri, np.zeros(len(tri), np.int64), (part,))


def merge(meshes: Sequence[Mesh]) -> Mesh:
    """One mesh holding all of ``meshes``; parts with the same name are unified.

    Example:
        >>> m = merge([box((1, 1, 1), part="a"), box((1, 1, 1), (3, 0, 0), part="a")])
        >>> m.triangles.shape, m.part_names
        ((24, 3), ('a',))
    """
    names: list[str] = []
    verts, tris, parts, offset = [], [], [], 0
    for m in meshes:
        remap = np.array([_index(names, n) for n in m.part_names], np.int64)
        verts.append(m.vertices)
        tris.append(m.triangles + offset)
        parts.append(remap[m.parts] if len(m.parts) else m.parts)
        offset += len(m.vertices)
    if not verts:
        return Mesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros(0, np.int64), ())
    return Mesh(np.concatenate(verts), np.concatenate(tris), np.concatenate(parts), tuple(names))


def _index(names: list[str], name: str) -> int:
    if name not in names:
        names.append(name)
    return names.index(name)


# Quads of a hexahedron whose corners are ordered like geometry.boxes: bottom face (z low)
# front-left, rear-left, rear-right, front-right, then the same on top.
_HEX_QUADS = np.array(
    [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [2, 3, 7, 6], [1, 2, 6, 5], [3, 0, 4, 7]]
)
HEX_FACES = ("bottom", "top", "left", "right", "rear", "front")


def hexahedron(corners: np.ndarray, face_parts: Sequence[str] | str = "body") -> Mesh:
    """A six-faced solid from 8 corners (order of ``geometry.boxes``), outward winding.

    Args:
        corners: (8, 3) bottom face then top face, each front-left, rear-left, rear-right,
            front-right.
        face_parts: one part name, or six: bottom, top, left, right, rear, front.
    """
    corners = np.asarray(corners, np.float64)
    if corners.shape != (8, 3):
        raise ValueError(f"corners must be (8, 3), got {corners.shape}")
    names = (face_parts,) * 6 if isinstance(face_parts, str) else tuple(face_parts)
    if len(names) != 6:
        raise ValueError(f"face_parts must name 6 faces, got {len(names)}")
    q = _HEX_QUADS
    tris = np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]])  # (12, 3)
    uniq = list(dict.fromkeys(names))
    face_part = np.array([uniq.index(n) for n in names], np.int64)
    return Mesh(corners, tris, np.concatenate([face_part, face_part]), tuple(uniq))


def box(
    size: Sequence[float],
    center: Sequence[float] = (0.0, 0.0, 0.0),
    part: str = "body",
    face_parts: Sequence[str] | None = None,
) -> Mesh:
    """Axis-aligned box of ``size`` (dx, dy, dz) centred at ``center``.

    Example:
        >>> box((2, 1, 1), (0, 0, 0.5)).bounds.tolist()
        [[-1.0, -0.5, 0.0], [1.0, 0.5, 1.0]]
    """
    corners = UNIT_CORNERS * np.asarray(size, np.float64) + np.asarray(center, np.float64)
    return hexahedron(corners, face_parts or part)


def _frame(axis: str) -> np.ndarray:
    """Rows: the two in-plane directions and the axis itself."""
    frames = {"x": [[0, 1, 0], [0, 0, 1], [1, 0, 0]], "y": [[0, 0, 1], [1, 0, 0], [0, 1, 0]]}
    return np.array(frames.get(axis, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]), np.float64)


def cylinder(
    radius: float,
    length: float,
    center: Sequence[float] = (0.0, 0.0, 0.0),
    axis: str = "z",
    segments: int = 12,
    part: str = "body",
    top_radius: float | None = None,
) -> Mesh:
    """Closed cylinder (or frustum with ``top_radius``) along ``axis`` ("x", "y" or "z")."""
    if axis not in ("x", "y", "z"):
        raise ValueError(f"axis must be 'x', 'y' or 'z', got {axis!r}")
    top = radius if top_radius is None else top_radius
    ang = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    lo = np.concatenate([ring * radius, np.full((segments, 1), -length / 2)], axis=1)
    hi = np.concatenate([ring * top, np.full((segments, 1), length / 2)], axis=1)
    verts = np.concatenate([lo, hi, [[0, 0, -length / 2], [0, 0, length / 2]]])
    i = np.arange(segments)
    j = (i + 1) % segments
    n = segments
    sides = np.concatenate([np.stack([i, j, n + j], 1), np.stack([i, n + j, n + i], 1)])
    caps = np.concatenate(
        [np.stack([np.full(n, 2 * n), j, i], 1), np.stack([np.full(n, 2 * n + 1), n + i, n + j], 1)]
    )
    verts = verts @ _frame(axis) + np.asarray(center, np.float64)
    return _single(verts, np.concatenate([sides, caps]), part)


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of (..., 3) float arrays: the arithmetic of ``np.cross`` (the same bits)
    without its per-call overhead, which dominated for the many small meshes of a scene."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], -1)


def tube(
    p0: Sequence[float],
    p1: Sequence[float],
    radius: float,
    segments: int = 6,
    part: str = "body",
    radius1: float | None = None,
) -> Mesh:
    """Closed cylinder from point ``p0`` to ``p1`` (limbs, bicycle frames)."""
    a, b = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
    d = b - a
    length = float(np.linalg.norm(d))
    m = cylinder(radius, length, segments=segments, part=part, top_radius=radius1)
    w = d / max(length, 1e-12)
    helper = np.array([1.0, 0, 0]) if abs(w[0]) < 0.9 else np.array([0, 1.0, 0])
    u = cross3(helper, w)
    u /= np.linalg.norm(u)
    v = cross3(w, u)
    return m.transformed(np.stack([u, v, w], axis=1), (a + b) / 2)


def ellipsoid(
    radii: Sequence[float],
    center: Sequence[float] = (0.0, 0.0, 0.0),
    rings: int = 8,
    segments: int = 12,
    part: str = "body",
) -> Mesh:
    """UV ellipsoid with semi-axes ``radii`` (x, y, z)."""
    theta = np.linspace(0, np.pi, rings + 1)[1:-1]  # polar angles without the poles
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")  # (rings - 1, segments)
    ring_v = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    verts = np.concatenate([[[0, 0, 1]], ring_v, [[0, 0, -1]]])
    n, r = segments, rings - 1
    idx = 1 + np.arange(r * n).reshape(r, n)
    nxt = np.roll(idx, -1, axis=1)
    tris = [np.stack([np.zeros(n, np.int64), idx[0], nxt[0]], 1)]
    tris.append(np.stack([idx[:-1], idx[1:], nxt[1:]], -1).reshape(-1, 3))
    tris.append(np.stack([idx[:-1], nxt[1:], nxt[:-1]], -1).reshape(-1, 3))
    tris.append(np.stack([np.full(n, len(verts) - 1), nxt[-1], idx[-1]], 1))
    verts = verts * np.asarray(radii, np.float64) + np.asarray(center, np.float64)
    return _single(verts, np.concatenate(tris), part)


def torus(
    major_radius: float,
    minor_radius: float,
    center: Sequence[float] = (0.0, 0.0, 0.0),
    axis: str = "y",
    segments: int = 16,
    tube_segments: int = 4,
    part: str = "body",
) -> Mesh:
    """Torus around ``axis`` (a tyre: ``axis="y"`` stands it up facing sideways)."""
    u = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    v = np.linspace(0, 2 * np.pi, tube_segments, endpoint=False)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    rad = major_radius + minor_radius * np.cos(vv)
    verts = np.stack([rad * np.cos(uu), rad * np.sin(uu), minor_radius * np.sin(vv)], -1)
    idx = np.arange(segments * tube_segments).reshape(segments, tube_segments)
    a, b = idx, np.roll(idx, -1, axis=0)
    c, d = np.roll(b, -1, axis=1), np.roll(a, -1, axis=1)
    tris = np.concatenate(
        [np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)]
    )
    verts = verts.reshape(-1, 3) @ _frame(axis) + np.asarray(center, np.float64)
    return _single(verts, tris, part)


def freeze(mesh: Mesh) -> Mesh:
    """``mesh`` with read-only arrays (templates shared by every object built from them).

    Example:
        >>> freeze(box((1, 1, 1))).vertices.flags.writeable
        False
    """
    for a in (mesh.vertices, mesh.triangles, mesh.parts):
        a.setflags(write=False)
    return mesh


def ellipse_stack(
    centers: np.ndarray, radii: np.ndarray, segments: int = 10, part: str = "body"
) -> Mesh:
    """A closed solid through horizontal ellipses (a torso, a coat, a bollard's profile).

    Args:
        centers: (R, 3) ring centres, z increasing.
        radii: (R, 2) semi-axes along x and y of each ring.
        segments: points per ring.

    Example:
        >>> m = ellipse_stack(np.array([[0, 0, 0], [0, 0, 1.0]]), np.ones((2, 2)), 8)
        >>> m.triangles.shape
        (32, 3)
    """
    c, r = np.asarray(centers, np.float64), np.asarray(radii, np.float64)
    rings = len(c)
    ang = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([np.cos(ang), np.sin(ang), np.zeros(segments)], 1)  # (S, 3)
    verts = (c[:, None] + ring[None] * np.c_[r, np.zeros(rings)][:, None]).reshape(-1, 3)
    verts = np.concatenate([verts, c[:1], c[-1:]])
    idx = np.arange(rings * segments).reshape(rings, segments)
    a, b = idx[:-1], np.roll(idx[:-1], -1, axis=1)
    d, e = idx[1:], np.roll(idx[1:], -1, axis=1)
    sides = np.concatenate([np.stack([a, b, e], -1), np.stack([a, e, d], -1)]).reshape(-1, 3)
    lo, hi = rings * segments, rings * segments + 1
    caps = np.concatenate(
        [
            np.stack([np.full(segments, lo), np.roll(idx[0], -1), idx[0]], 1),
            np.stack([np.full(segments, hi), idx[-1], np.roll(idx[-1], -1)], 1),
        ]
    )
    return _single(verts, np.concatenate([sides, caps]), part)
