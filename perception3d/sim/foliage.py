"""Porous vegetation: hedges, bushes and tree crowns as shells of leaf cards.

A real hedge or crown returns LiDAR pulses from many depths: some rays stop on the outer
leaves, others pass gaps and stop deeper. Here a volume's outer shell is several layers of
small triangles ("leaf cards", a clump of leaves each) jittered in position and orientation:
``cover`` is the share of each layer's area that cards cover, so a ray crossing L layers
passes all of them with probability about ``(1 - cover) ** L``. Hedges and crowns have a solid
core behind their layers (they are dense inside); bushes may have none, so some rays pass
right through them. Beyond the detail range the same shapes are plain bumpy solids.

Everything here is vectorized numpy: a 30 m hedge is a few thousand cards built in about a
millisecond, from the frame's generator (so every hedge differs and the bytes stay
deterministic). Local frame: x along, y across, z up, origin at the bottom centre. Part:
``foliage`` (and ``trunk`` for trees).

Example:
    >>> m = hedge(np.random.default_rng(0), 4.0, 1.5, 0.8, cover=0.6)
    >>> m.part_names, bool(np.ptp(m.vertices[:, 0]) > 3.8)
    (('foliage',), True)
"""

from __future__ import annotations

from functools import cache

import numpy as np

from perception3d.sim.meshes import (
    Mesh,
    box,
    cross3,
    cylinder,
    ellipsoid,
    freeze,
    merge,
    rotation_z,
)

__all__ = [
    "bush",
    "crown",
    "hedge",
    "leaf_cards",
    "random_bush",
    "random_tree",
    "tree",
    "warm_templates",
]

_LAYER_GAP = 0.15  # m between leaf layers
_CARD = 0.25  # m: spacing of card centres in a layer (a clump of leaves); sides 1.6 x that


def leaf_cards(
    rng: np.random.Generator,
    centres: np.ndarray,
    normals: np.ndarray,
    cover: float,
    size: float = _CARD,
    part: str = "foliage",
) -> Mesh:
    """One triangle per kept centre: a leaf clump facing about ``normals``.

    Args:
        centres: (N, 3) candidate card centres (a layer sampled at spacing ``size``).
        normals: (N, 3) unit outward normals at the centres.
        cover: covered share of the layer's area, [0, 1]; centres are kept with the
            probability that gives it (cards overlap, so more than ``cover`` are kept).
        size: spacing of the centres, metres.

    Returns:
        Mesh of K <= N triangles (3 K vertices).
    """
    centres, normals = np.asarray(centres, np.float64), np.asarray(normals, np.float64)
    # A card (side 1.6 size, area 1.1 size^2) overlaps its neighbours: keeping a share k of
    # the centres covers about 1 - exp(-1.1 k) of the layer.
    keep_p = min(1.0, -np.log(max(1.0 - cover, 1e-6)) / 1.1)
    keep = rng.uniform(size=len(centres)) < keep_p
    c, n = centres[keep], normals[keep]
    k = len(c)
    jitter = rng.uniform(-0.5, 0.5, (k, 3)) * size
    n = n + rng.normal(0.0, 0.6, (k, 3))  # clumps face every which way around the normal
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
    helper = np.where(np.abs(n[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = cross3(n, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = cross3(n, u)
    ang = rng.uniform(0, 2 * np.pi, (k, 1)) + np.array([[0.0, 2.1, 4.2]])  # (K, 3) corners
    r = 0.95 * size * rng.uniform(0.8, 1.2, (k, 1))
    corners = (c + jitter)[:, None] + r[..., None] * (
        np.cos(ang)[..., None] * u[:, None] + np.sin(ang)[..., None] * v[:, None]
    )  # (K, 3 corners, 3)
    tris = np.arange(3 * k, dtype=np.int64).reshape(k, 3)
    return Mesh(corners.reshape(-1, 3), tris, np.zeros(k, np.int64), (part,))


def _box_layers(length: float, height: float, depth: float, layers: int, faces: str):
    """Centres and normals of ``layers`` shells inside a box's ``faces`` ("front" = -y,
    "back" = +y, "top", "ends"), sampled at the card spacing."""
    pts, nrm = [], []
    for layer in range(layers):
        d = layer * _LAYER_GAP
        xs = np.arange(-length / 2 + d, length / 2 - d + 1e-9, _CARD)
        zs = np.arange(_CARD / 2, height - d, _CARD)
        ys = np.arange(-depth / 2 + d, depth / 2 - d + 1e-9, _CARD)
        if "front" in faces or "back" in faces:
            gx, gz = np.meshgrid(xs, zs, indexing="ij")
            for sign, name in ((-1, "front"), (1, "back")):
                if name in faces:
                    p = np.stack([gx, np.full(gx.shape, sign * (depth / 2 - d)), gz], -1)
                    pts.append(p.reshape(-1, 3))
                    nrm.append(np.tile([0.0, sign, 0.0], (p.size // 3, 1)))
        if "top" in faces:
            gx, gy = np.meshgrid(xs, ys, indexing="ij")
            p = np.stack([gx, gy, np.full(gx.shape, height - d)], -1)
            pts.append(p.reshape(-1, 3))
            nrm.append(np.tile([0.0, 0.0, 1.0], (p.size // 3, 1)))
        if "ends" in faces:
            gy, gz = np.meshgrid(ys, zs, indexing="ij")
            for sign in (-1, 1):
                p = np.stack([np.full(gy.shape, sign * (length / 2 - d)), gy, gz], -1)
                pts.append(p.reshape(-1, 3))
                nrm.append(np.tile([sign, 0.0, 0.0], (p.size // 3, 1)))
    return np.concatenate(pts), np.concatenate(nrm)


def hedge(
    rng: np.random.Generator,
    length: float,
    height: float,
    depth: float,
    cover: float = 0.6,
    detail: bool = True,
    layers: int = 2,
) -> Mesh:
    """A clipped hedge along x: ``layers`` leaf layers on the front (-y, the road side), top
    and ends and a solid core behind them (``detail``), or a plain box (no detail)."""
    if not detail or depth < 3 * _LAYER_GAP:
        return box((length, depth, height), (0, 0, height / 2), part="foliage")
    centres, normals = _box_layers(length, height, depth, layers, "front top ends")
    inset = layers * _LAYER_GAP
    core = box(
        (length - 2 * inset, depth - 2 * inset, height - inset),
        (0, 0, (height - inset) / 2),
        part="foliage",
    )
    return merge([leaf_cards(rng, centres, normals, cover), core])


def _ellipsoid_layers(radii: np.ndarray, layers: int, card: float, gap: float = _LAYER_GAP):
    pts, nrm = [], []
    for layer in range(layers):
        r = np.maximum(radii - layer * gap, 0.05)
        area = (
            4
            * np.pi
            * ((r[0] * r[1]) ** 1.6 + (r[0] * r[2]) ** 1.6 + (r[1] * r[2]) ** 1.6) ** (1 / 1.6)
            / 3 ** (1 / 1.6)
        )  # Knud Thomsen's approximation of an ellipsoid's area
        n = max(8, int(area / card**2))
        # Fibonacci sphere: about uniform directions, then stretched to the ellipsoid.
        i = np.arange(n) + 0.5
        z = 1 - 2 * i / n
        phi = np.pi * (1 + 5**0.5) * i
        d = np.stack([np.sqrt(1 - z**2) * np.cos(phi), np.sqrt(1 - z**2) * np.sin(phi), z], 1)
        pts.append(d * r)
        g = d / r
        nrm.append(g / np.linalg.norm(g, axis=1, keepdims=True))
    return np.concatenate(pts), np.concatenate(nrm)


def crown(
    rng: np.random.Generator,
    radii: np.ndarray,
    centre: np.ndarray,
    cover: float = 0.55,
    detail: bool = True,
    layers: int = 2,
    core: float = 0.6,
    card: float = _CARD,
) -> Mesh:
    """An ellipsoidal crown of semi-axes ``radii`` at ``centre``: leaf layers (cards spaced
    ``card`` metres) around a solid core of ``core`` times the radii (0: none), or a bumpy
    solid ellipsoid (no detail)."""
    radii, centre = np.asarray(radii, np.float64), np.asarray(centre, np.float64)
    if not detail:
        m = ellipsoid(radii, (0, 0, 0), rings=7, segments=10, part="foliage")
        bumps = 1.0 + rng.uniform(-0.15, 0.15, (len(m.vertices), 1))
        return Mesh(m.vertices * bumps + centre, m.triangles, m.parts, m.part_names)
    centres, normals = _ellipsoid_layers(radii, layers, card)
    parts = [leaf_cards(rng, centres + centre, normals, cover, card)]
    if core > 0:
        parts.append(ellipsoid(radii * core, centre, rings=5, segments=8, part="foliage"))
    return merge(parts)


def bush(rng: np.random.Generator, size: float, cover: float = 0.5, detail: bool = True) -> Mesh:
    """A low bush of about ``size`` metres: two leaf layers and a small core, so some rays
    pass through it."""
    radii = size / 2 * rng.uniform(0.75, 1.25, 3) * np.array([1.0, 1.0, 0.7])
    return crown(rng, radii, np.array([0, 0, radii[2] * 0.85]), cover, detail, 2, core=0.3)


def tree(
    rng: np.random.Generator,
    trunk_height: float,
    crown_radius: float,
    trunk_radius: float = 0.15,
    cover: float = 0.5,
    detail: bool = True,
) -> Mesh:
    """A trunk and a porous ellipsoidal crown (parts ``trunk``, ``foliage``)."""
    radii = crown_radius * np.array([1.0, 1.0, rng.uniform(0.8, 1.3)])
    centre = np.array([0, 0, trunk_height + radii[2] * 0.9])
    return merge(
        [
            trunk(trunk_height, trunk_radius),
            crown(rng, radii, centre, cover, detail, 1, core=0.65, card=0.35),
        ]
    )


def trunk(height: float, radius: float) -> Mesh:
    """A tree trunk (part ``trunk``): a 7-sided cylinder of ``radius`` at the ground tapering
    to 70 % of it, from z = 0 to ``height + 0.5`` m (into the crown)."""
    return cylinder(
        radius,
        height + 0.5,
        (0, 0, (height + 0.5) / 2),
        segments=7,
        part="trunk",
        top_radius=radius * 0.7,
    )


# Templates: trees and bushes are built once per process per (size, cover level, variant)
# from a fixed seed, then turned, scaled by +-10 % and moved per placement.
_TRUNKS_M = (2.0, 2.6, 3.2)
_CROWNS_M = (1.6, 2.1, 2.7, 3.2)
_BUSHES_M = (0.7, 1.1, 1.6, 2.2)
_COVER_LEVELS = 3
_VARIANTS = 2


def _level(cover_range: tuple[float, float], k: int) -> float:
    lo, hi = cover_range
    return round(lo + (hi - lo) * (k + 0.5) / _COVER_LEVELS, 3)


@cache
def _tree_template(trunk: float, crown_r: float, cover: float, variant: int, detail: bool):
    seed = (variant, round(trunk * 100), round(crown_r * 100), round(cover * 1000), detail)
    rng = np.random.default_rng(seed)
    return freeze(tree(rng, trunk, crown_r, 0.05 * crown_r + 0.04, cover, detail))


@cache
def _bush_template(size: float, cover: float, variant: int, detail: bool) -> Mesh:
    rng = np.random.default_rng((variant, round(size * 100), round(cover * 1000), detail, 7))
    return freeze(bush(rng, size, cover, detail))


def _placed(template: Mesh, rng: np.random.Generator, position) -> Mesh:
    rot = rotation_z(rng.uniform(0, 2 * np.pi)) * rng.uniform(0.9, 1.1)
    return template.transformed(rot, position)


def random_tree(
    rng: np.random.Generator, cover_range: tuple[float, float], detail: bool, position
) -> Mesh:
    """A tree from the templates, turned, scaled and standing at ``position`` (3,)."""
    t = _tree_template(
        _TRUNKS_M[rng.integers(len(_TRUNKS_M))],
        _CROWNS_M[rng.integers(len(_CROWNS_M))],
        _level(cover_range, int(rng.integers(_COVER_LEVELS))),
        int(rng.integers(_VARIANTS)),
        bool(detail),
    )
    return _placed(t, rng, position)


def random_bush(
    rng: np.random.Generator,
    cover_range: tuple[float, float],
    detail: bool,
    position,
    sizes: tuple[float, ...] = _BUSHES_M,
) -> Mesh:
    """A bush (one of ``sizes``, metres) from the templates, at ``position`` (3,)."""
    t = _bush_template(
        sizes[rng.integers(len(sizes))],
        _level(cover_range, int(rng.integers(_COVER_LEVELS))),
        int(rng.integers(_VARIANTS)),
        bool(detail),
    )
    return _placed(t, rng, position)


def warm_templates(cover_range: tuple[float, float]) -> None:
    """Build every tree and bush template of ``cover_range`` now (see ``warmup.py``)."""
    for k in range(_COVER_LEVELS):
        cover = _level(cover_range, k)
        for v in range(_VARIANTS):
            for detail in (True, False):
                for trunk in _TRUNKS_M:
                    for crown_r in _CROWNS_M:
                        _tree_template(trunk, crown_r, cover, v, detail)
                for size in _BUSHES_M:
                    _bush_template(size, cover, v, detail)
