"""Which parts of a synthetic car's greenhouse (upper 40 % of its box) return at range, after
the sensor's response: the HDL-64E beam table cast on one car at a time (five car bodies, three
variants each, end-on or side-on), glass passed as ``lidar.cast_sweep`` passes it, and
``lidar.respond`` with the generator's defaults. Analysis only (docs/sim2real.md, "The
greenhouse at range").

Usage:
    python tools/greenhouse_parts.py [--view end|side] [--set lidar.KEY=VALUE ...]
"""

from __future__ import annotations

import argparse

import numpy as np

from perception3d.sim.config import LidarConfig, ObjectsConfig
from perception3d.sim.lidar import (
    KITTI_HDL64E_HEAD_M,
    KITTI_HDL64E_THETA_DEG,
    LidarHits,
    respond,
)
from perception3d.sim.objects import _materials
from perception3d.sim.vehicles import CAR_SHAPES, VARIANTS, vehicle_mesh

LIDAR_HEIGHT_M = 1.73
BODIES = ("sedan", "hatchback", "wagon", "suv", "mpv")
DISTANCES_M = (10, 20, 30, 40, 50)


def _cast_car(body: str, variant: int, dist: float, yaw: float, rng: np.random.Generator):
    """First hits (glass passed with its transmission) of the beams on one car."""
    import open3d as o3d

    size = CAR_SHAPES[body].size
    m = vehicle_mesh(body, *size, variant=variant)
    mats = _materials("Car", body, rng, ObjectsConfig(), lights_on=False)
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    verts = m.vertices @ rot.T + np.array([dist, 0.0, -LIDAR_HEIGHT_M])
    scene = o3d.t.geometry.RaycastingScene(nthreads=1)
    scene.add_triangles(
        o3d.core.Tensor(verts.astype(np.float32)), o3d.core.Tensor(m.triangles.astype(np.uint32))
    )
    half = np.degrees(np.arctan2(3.0, dist))
    az = np.radians(np.arange(-half, half, 0.18) + rng.uniform(0, 0.18))
    th = np.radians(KITTI_HDL64E_THETA_DEG)[:, None]
    d = np.stack(
        [np.cos(th) * np.cos(az), np.cos(th) * np.sin(az), np.sin(th) * np.ones_like(az)], -1
    ).reshape(-1, 3)
    ring = np.repeat(np.arange(64), len(az))
    o = np.zeros_like(d)
    o[:, 2] = KITTI_HDL64E_HEAD_M[ring]
    start, travelled = o.copy(), np.zeros(len(d))
    part = np.full(len(d), -1)
    out_t, out_cos = np.zeros(len(d)), np.zeros(len(d))
    pending = np.arange(len(d))
    for passes_left in (2, 1, 0):
        rays = np.concatenate([start[pending], d[pending]], 1).astype(np.float32)
        r = scene.cast_rays(o3d.core.Tensor(rays))
        t = r["t_hit"].numpy().astype(np.float64)
        tri = r["primitive_ids"].numpy().astype(np.int64)
        normal = r["primitive_normals"].numpy().astype(np.float64)
        hit = np.isfinite(t)
        p = np.where(hit, m.parts[np.where(hit, tri, 0)], -1)
        trans = np.array([mats[m.part_names[k]].lidar_transmission if k >= 0 else 0 for k in p])
        through = hit & (passes_left > 0) & (rng.uniform(size=len(p)) < trans)
        done = hit & ~through
        idx = pending[done]
        part[idx] = p[done]
        out_t[idx] = travelled[idx] + t[done]
        out_cos[idx] = np.abs(np.einsum("ij,ij->i", normal[done], d[idx]))
        nxt = pending[through]
        start[nxt] = start[nxt] + (t[through] + 1e-3)[:, None] * d[nxt]
        travelled[nxt] += t[through] + 1e-3
        pending = nxt
        if not len(pending):
            break
    ok = part >= 0
    z = (o[:, 2] + out_t * d[:, 2] + LIDAR_HEIGHT_M) / size[2]
    names = np.array(m.part_names)[part[ok]]
    refl = np.array([mats[n].lidar_reflectivity for n in names])
    unread = np.array([mats[n].lidar_unread for n in names])
    k = int(ok.sum())
    hits = LidarHits(
        np.flatnonzero(ok), o[ok], d[ok], out_t[ok], out_cos[ok], refl,
        np.zeros(k, np.uint8), np.ones(k, np.int32), ring[ok], unread,
    )  # fmt: skip
    return hits, names, z[ok]


def probe(cfg: LidarConfig, view: str, seed: int = 0) -> None:
    """Print, per distance, the upper share and what the upper returns are."""
    rng = np.random.default_rng(seed)
    yaws = (0.0, np.pi) if view == "end" else (np.pi / 2, -np.pi / 2)
    for dist in DISTANCES_M:
        names_all, z_all, zero_all = [], [], []
        for body in BODIES:
            for variant in range(VARIANTS):
                for yaw in yaws:
                    hits, names, z = _cast_car(body, variant, dist, yaw, rng)
                    keep, inten, _ = respond(hits, cfg, 64, rng)
                    names_all.append(names[keep])
                    z_all.append(z[keep])
                    zero_all.append(inten[keep] == 0)
        names, z, zero = map(np.concatenate, (names_all, z_all, zero_all))
        up = z >= 0.6
        parts = {str(n): int(np.sum(names[up] == n)) for n in np.unique(names[up])}
        print(
            f"{dist:3d} m {view}: {len(z) / (len(BODIES) * VARIANTS * 2):6.1f} points per car, "
            f"upper share {up.mean():.2f}, upper reading 0 {zero[up].mean():.2f}, "
            f"lower reading 0 {zero[~up].mean():.2f}; upper by part {parts}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--view", choices=("end", "side"), default="end")
    parser.add_argument("--set", action="append", default=[], help="lidar.KEY=VALUE")
    args = parser.parse_args()
    kw = {}
    for item in args.set:
        key, value = item.split("=", 1)
        kw[key.removeprefix("lidar.")] = float(value)
    probe(LidarConfig(**kw), args.view)


if __name__ == "__main__":
    main()
