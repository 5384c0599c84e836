"""Scene sources for ISP training and evaluation: linear radiance (3, H, W) and depth (H, W).

- :func:`procedural_scene`: a seeded street-like scene made of sky (depth ``inf``), a ground
  plane seen from 1.65 m (pinhole depth), and upright slabs (buildings, vehicles, poles) with
  textures and small emitters (lamps, lit windows, tail lights) far above 1 for HDR;
- :func:`load_radiance_frame`: the synthetic dataset's ``radiance_2`` / ``depth_2`` files;
- :func:`ground_plane_depth`: a plausible depth for real photographs without one (KITTI's
  camera height and focal length), used to haze unprocessed images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from perception3d.errors import DataFormatError

CAMERA_HEIGHT_M = 1.65  # KITTI camera above the road (REFERENCE.md)


def ground_plane_depth(height: int, width: int, horizon: float, focal_px: float | None = None):
    """Depth (H, W) float32 of a flat road below ``horizon`` (row index, float), ``inf`` above.

    Example:
        >>> d = ground_plane_depth(4, 2, horizon=1.0, focal_px=10.0)
        >>> d[:, 0].tolist()  # rows 0-1 at or above the horizon, then 16.5 m and 8.25 m
        [inf, inf, 16.5, 8.25]
    """
    f = focal_px if focal_px is not None else 0.58 * width  # KITTI: 721 px for 1242 px
    rows = np.arange(height, dtype=np.float64)[:, None] - horizon
    with np.errstate(divide="ignore"):
        depth = np.where(rows > 0, CAMERA_HEIGHT_M * f / np.maximum(rows, 1e-9), np.inf)
    return np.broadcast_to(depth, (height, width)).astype(np.float32)


def _texture(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Smooth multiplicative texture around 1 (sum of a few random sinusoids and noise)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.ones((h, w), np.float32)
    for _ in range(3):
        fy, fx = rng.uniform(0.02, 0.4, 2) / scale
        t += rng.uniform(0.02, 0.15) * np.sin(fy * yy + fx * xx + rng.uniform(0, 6.3))
    t += rng.uniform(0.0, 0.08) * rng.standard_normal((h, w)).astype(np.float32)
    return np.clip(t, 0.2, 2.0)


def procedural_scene(
    height: int, width: int, rng: np.random.Generator, night: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A street-like scene: radiance (3, H, W) float32 (>= 0; diffuse white in daylight ~1,
    emitters up to ~200) and depth (H, W) float32 metres, ``inf`` for sky."""
    if night is None:
        night = bool(rng.random() < 0.3)
    h, w = height, width
    horizon = rng.uniform(0.3, 0.5) * h
    f = 0.58 * w
    depth = ground_plane_depth(h, w, horizon, f).copy()
    light = rng.uniform(0.05, 0.2) if night else rng.uniform(0.6, 1.4)
    tint = rng.uniform(0.85, 1.15, 3).astype(np.float32)
    rad = np.zeros((3, h, w), np.float32)
    # sky: brighter towards the horizon, bluish by day
    rows = np.arange(h, dtype=np.float32)[:, None]
    sky_col = np.array([0.55, 0.7, 1.0] if not night else [0.15, 0.15, 0.25], np.float32)
    grad = 1.0 + 0.8 * np.clip(rows / max(horizon, 1.0), 0, 1)
    sky = sky_col[:, None, None] * grad[None] * light * rng.uniform(1.0, 3.0) * tint[:, None, None]
    rad[:] = np.broadcast_to(sky, (3, h, w))
    # ground: asphalt with texture, lane markings, darker far away is not physical: keep albedo
    ground = np.isfinite(depth)
    albedo = rng.uniform(0.08, 0.25)
    tex = _texture(rng, h, w, 3.0)
    road = albedo * tex
    x_img = (np.arange(w, dtype=np.float32)[None, :] - w / 2) / f
    lateral = x_img * np.where(ground, depth, 0.0)  # metres from the optical axis
    for lane in rng.choice([-5.25, -1.75, 1.75, 5.25], size=rng.integers(1, 4), replace=False):
        dash = np.sin(np.where(ground, depth, 0.0) * rng.uniform(0.3, 0.6)) > -0.2
        road = np.where((np.abs(lateral - lane) < 0.08) & dash & ground, 0.7, road)
    for c in range(3):
        rad[c] = np.where(ground, road * light * tint[c], rad[c])
    # upright slabs, far to near so that nearer ones occlude
    n_obj = int(rng.integers(4, 14))
    dists = np.sort(rng.uniform(6.0, 90.0, n_obj))[::-1]
    for dist in dists:
        v_bottom = horizon + CAMERA_HEIGHT_M * f / dist
        if v_bottom <= horizon + 1:
            continue
        kind = rng.choice(["building", "vehicle", "pole"], p=[0.4, 0.45, 0.15])
        if kind == "building" and dist < 20.0:
            dist = dist + 20.0
            v_bottom = horizon + CAMERA_HEIGHT_M * f / dist
        size_h, size_w = {
            "building": (rng.uniform(5, 20), rng.uniform(6, 30)),
            "vehicle": (rng.uniform(1.4, 3.2), rng.uniform(1.6, 4.5)),
            "pole": (rng.uniform(4, 9), rng.uniform(0.2, 0.5)),
        }[kind]
        ph, pw = size_h * f / dist, size_w * f / dist
        u0 = rng.uniform(-0.2 * w, 1.1 * w)
        r0, r1 = int(max(0, v_bottom - ph)), int(min(h, v_bottom))
        c0, c1 = int(max(0, u0)), int(min(w, u0 + pw))
        if r1 - r0 < 1 or c1 - c0 < 1:
            continue
        colour = rng.uniform(0.05, 0.8, 3).astype(np.float32)
        if rng.random() < 0.4:  # grey-ish
            colour = np.full(3, colour.mean(), np.float32)
        patch = colour[:, None, None] * _texture(rng, r1 - r0, c1 - c0, 1.0 + 3 * rng.random())
        shade = rng.uniform(0.5, 1.0)
        rad[:, r0:r1, c0:c1] = patch * light * shade * tint[:, None, None]
        depth[r0:r1, c0:c1] = dist
        # emitters: windows, lamps, lights; strong at night, still bright by day
        for _ in range(int(rng.integers(0, 5))):
            eh = int(rng.integers(1, max(2, (r1 - r0) // 8 + 1)))
            ew = int(rng.integers(1, max(2, (c1 - c0) // 8 + 1)))
            er = int(rng.integers(r0, max(r0 + 1, r1 - eh)))
            ec = int(rng.integers(c0, max(c0 + 1, c1 - ew)))
            power = np.exp(rng.uniform(np.log(2.0), np.log(200.0)))
            col = rng.uniform(0.6, 1.0, 3).astype(np.float32)
            rad[:, er : er + eh, ec : ec + ew] = (
                col[:, None, None] * power * (0.3 if not night else 1)
            )
    if not night and rng.random() < 0.3:  # sun glare in the sky
        cy, cx = rng.uniform(0, horizon), rng.uniform(0, w)
        yy, xx = np.mgrid[0:h, 0:w]
        r2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (0.03 * w) ** 2
        glow = 50.0 * np.exp(-r2) * np.isinf(depth)
        rad += glow[None].astype(np.float32)
    return np.clip(rad, 0.0, None).astype(np.float32), depth.astype(np.float32)


def load_radiance_frame(root: str | Path, frame_id: str) -> tuple[np.ndarray, np.ndarray]:
    """``training/radiance_2/<id>.npy`` (3, H, W) and ``training/depth_2/<id>.npy`` (H, W) of a
    synthetic KITTI-layout root, as float32 (radiance: NaN -> 0, +inf -> 65504, clipped at 0).

    Raises:
        FileNotFoundError: a file is missing.
        DataFormatError: wrong shape.
    """
    rad, depth = map_radiance_frame(root, frame_id)
    rad = np.nan_to_num(rad.astype(np.float32), nan=0.0, posinf=65504.0).clip(0, None)
    return rad, depth.astype(np.float32)


def map_radiance_frame(root: str | Path, frame_id: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`load_radiance_frame`'s arrays memory-mapped read-only, as stored (float16 from
    ``perception3d synth``; NaN / inf / negatives kept: clean each crop,
    :func:`perception3d.isp.data.clean_radiance`).

    Raises:
        FileNotFoundError: a file is missing.
        DataFormatError: wrong shape.
    """
    base = Path(root) / "training"
    rpath, dpath = base / "radiance_2" / f"{frame_id}.npy", base / "depth_2" / f"{frame_id}.npy"
    for p in (rpath, dpath):
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found (written by `perception3d synth`)")
    rad = np.load(rpath, mmap_mode="r", allow_pickle=False)
    depth = np.load(dpath, mmap_mode="r", allow_pickle=False)
    if rad.ndim != 3 or rad.shape[0] != 3:
        raise DataFormatError(rpath, f"expected (3, H, W) radiance, got {rad.shape}")
    if depth.shape != rad.shape[1:]:
        raise DataFormatError(dpath, f"expected depth {rad.shape[1:]}, got {depth.shape}")
    return rad, depth
