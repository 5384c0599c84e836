"""Lofted solids: a symmetric cross-section swept along x, changing from station to station.

A car body is a loft: at each station along its length the section (a closed polygon in the
y-z plane, symmetric about y = 0) has the height of the side profile there (bumper, hood,
windshield, roof, rear window, trunk), the width of the plan view (rounded corners) and the
inward lean of the greenhouse (tumblehome); its bottom rises over the wheels (arches). Each
quad between two stations belongs to a part (``body``, ``window``...), so glass and paint
follow the profile.

Sections have an even number K of points, ordered from the bottom up the left side (+y),
across the top and down the right side (-y), point i mirroring point K - 1 - i; the end caps
are the quads between mirrored pairs, so a band of a cap (the rear window of a hatchback) can
be its own part.

Example:
    >>> x = np.array([0.0, 1.0])
    >>> sq = np.array([[0.5, 0], [0.5, 1], [-0.5, 1], [-0.5, 0]], float)  # K = 4
    >>> m = loft(x, np.stack([sq, sq]), np.zeros((1, 4), int), ("body",))
    >>> m.triangles.shape, np.round(m.bounds, 6).tolist()
    ((12, 3), [[0.0, -0.5, 0.0], [1.0, 0.5, 1.0]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perception3d.sim.meshes import Mesh

__all__ = ["loft"]


def loft(
    x: np.ndarray,
    sections_yz: np.ndarray,
    quad_parts: np.ndarray,
    part_names: Sequence[str],
    cap_parts: tuple[np.ndarray, np.ndarray] | None = None,
) -> Mesh:
    """A closed solid through sections at stations along x.

    Args:
        x: (N,) increasing station positions, N >= 2.
        sections_yz: (N, K, 2) [y, z] of each station's section, K even, symmetric pairs
            i <-> K - 1 - i (see module docstring).
        quad_parts: (N - 1, K) part index of the quad between stations n and n + 1 along
            section edge k (points k and k + 1 mod K).
        part_names: names indexed by the part indices.
        cap_parts: (rear, front), each (K // 2 - 1,) part index of the cap bands from the
            bottom up; default: the part of the neighbouring bottom quad for every band.

    Returns:
        Mesh with N * K vertices, 2 K (N - 1) side triangles and 2 (K - 2) cap triangles,
        wound outwards for sections ordered as the module docstring says.

    Raises:
        ValueError: inconsistent shapes.
    """
    x = np.asarray(x, np.float64)
    sec = np.asarray(sections_yz, np.float64)
    n, k = len(x), sec.shape[1] if sec.ndim == 3 else 0
    if n < 2 or sec.shape != (n, k, 2) or k < 4 or k % 2:
        raise ValueError(f"need N >= 2 stations and (N, K even >= 4, 2) sections, got {sec.shape}")
    parts = np.asarray(quad_parts, np.int64)
    if parts.shape != (n - 1, k):
        raise ValueError(f"quad_parts must be ({n - 1}, {k}), got {parts.shape}")
    verts = np.empty((n, k, 3))
    verts[..., 0] = x[:, None]
    verts[..., 1:] = sec
    idx = np.arange(n * k).reshape(n, k)
    a, b = idx[:-1], np.roll(idx[:-1], -1, axis=1)  # (N - 1, K): edge k at station n
    c, d = np.roll(idx[1:], -1, axis=1), idx[1:]
    side = np.concatenate([np.stack([a, c, d], -1), np.stack([a, b, c], -1)], axis=1)
    side_parts = np.concatenate([parts, parts], axis=1)
    half = k // 2
    j = np.arange(half - 1)
    if cap_parts is None:
        cap_parts = (parts[0, j], parts[-1, j])
    caps, cap_p = [], []
    for row, flip, cp in ((idx[0], True, cap_parts[0]), (idx[-1], False, cap_parts[1])):
        q0, q1, q2, q3 = row[j], row[j + 1], row[k - 2 - j], row[k - 1 - j]
        tris = np.concatenate([np.stack([q0, q1, q2], 1), np.stack([q0, q2, q3], 1)])
        caps.append(tris[:, ::-1] if flip else tris)
        cap_p.append(np.concatenate([cp, cp]))
    tris = np.concatenate([side.reshape(-1, 3), *caps])
    tri_parts = np.concatenate([side_parts.reshape(-1), *cap_p])
    return Mesh(verts.reshape(-1, 3), tris, tri_parts, tuple(part_names))
