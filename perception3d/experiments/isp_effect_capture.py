"""Camera captures of the ISP-effect experiment (:mod:`perception3d.experiments.isp_effect`): the
synthetic val frames' linear radiance seen by the physical sensor model
(:func:`perception3d.isp.sensor.capture`) under one condition.

Conditions (``Condition.kind``):

- ``clean``: daylight as rendered; the camera's auto exposure is the synthetic dataset's own
  (``meta/<id>.json`` ``exposure``, the one that made ``image_2``), reached with exposure time
  up to 1/30 s and then analog gain (ISO), so an ideal capture equals ``image_2``'s linear
  values;
- ``lowlight``: the scene's radiance scaled by ``level`` (relative illuminance, e.g. 1/100),
  the same auto exposure (time capped at 1/30 s, then ISO up to 25600 or the condition's
  ``max_iso``, then under-exposed): fewer photo-electrons, so relatively more shot and read
  noise; with a low ``max_iso`` the camera stores a dark image (what the sRGB low-light
  enhancer is for) and the display brings it up with a digital gain;
- ``hdr``: a sun-in-view / tunnel-exit exposure: the camera meters so that the brightest
  ``level`` fraction of pixels saturate in the raw (brightest channel after the white-balance
  sensitivities and vignetting; :func:`perception3d.isp.conditions.make_hdr_sample` clips
  1-5 %); the reference keeps the unclipped values;
- ``haze``: ``I = J t + A (1 - t)`` with MOR ``level`` metres over ``depth_2``
  (:func:`perception3d.isp.sensor.apply_haze`), airlight the 90th luminance percentile as in
  ``isp run``, then a clean capture.

Every capture is seeded by ``(seed, frame index)``. The reference of every condition is the
clean scene's ideal linear image (``image_2``'s linear values), so PSNR/SSIM measure the
distance to the image the segmentation network was trained on.

Frames without ``radiance_2`` (a dataset written without the extras) are regenerated from the
dataset's ``synth_config.yaml`` (the generator is deterministic: the regenerated ``image_2`` is
byte-identical) into a cache folder. A real KITTI root (``image_2``, ``velodyne``, ``calib``)
gives scenes too (:mod:`perception3d.isp.real_capture`): the unprocessed ``image_2`` as the
radiance (exposure 1) and the completed LiDAR depth, written to the same cache layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from perception3d.atomic import atomic_write
from perception3d.isp.color import luminance
from perception3d.isp.lowlight import MAX_ISO, exposed_camera
from perception3d.isp.meta import RawMeta
from perception3d.isp.sensor import SensorParams, apply_haze, capture, vignetting_map


@dataclass(frozen=True)
class Condition:
    """One capture condition of the experiment.

    Attributes:
        name: label in the tables (e.g. ``lowlight_0.01``).
        kind: ``clean``, ``lowlight``, ``hdr`` or ``haze``.
        level: lowlight: relative illuminance (0, 1]; hdr: clipped fraction of pixels (0, 0.5);
            haze: MOR in metres; clean: unused.
        max_iso: lowlight only: the camera's highest ISO (null: the sensor model's 25600);
            below what the exposure needs, the capture is under-exposed.
    """

    name: str
    kind: Literal["clean", "lowlight", "hdr", "haze"]
    level: float = 1.0
    max_iso: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("clean", "lowlight", "hdr", "haze"):
            raise ValueError(f"condition {self.name}: kind must be clean|lowlight|hdr|haze")
        if self.kind == "lowlight" and not 0 < self.level <= 1:
            raise ValueError(f"condition {self.name}: lowlight level must be in (0, 1]")
        if self.kind == "hdr" and not 0 < self.level < 0.5:
            raise ValueError(f"condition {self.name}: hdr level (clipped fraction) in (0, 0.5)")
        if self.kind == "haze" and self.level <= 0:
            raise ValueError(f"condition {self.name}: haze level (MOR, m) must be > 0")
        if self.max_iso is not None and (self.kind != "lowlight" or not self.max_iso >= 100):
            raise ValueError(
                f"condition {self.name}: max_iso is for lowlight conditions, >= 100 (ISO), "
                f"got {self.max_iso} for kind {self.kind}"
            )

    @property
    def fog_mor_m(self) -> float | None:
        """MOR of the LiDAR fog matching this condition (None: clear air)."""
        return self.level if self.kind == "haze" else None


def is_real_root(data_root: Path, ids: list[str]) -> bool:
    """Whether ``data_root`` holds real KITTI frames (``image_2``, ``velodyne``, ``calib`` for
    every id, and neither ``radiance_2`` nor a ``synth_config.yaml``)."""
    base = Path(data_root) / "training"
    if (data_root / "synth_config.yaml").is_file() or (base / "radiance_2").is_dir():
        return False
    need = (("image_2", "png"), ("velodyne", "bin"), ("calib", "txt"))
    return all((base / d / f"{i}.{e}").is_file() for i in ids for d, e in need)


def ensure_radiance(data_root: Path, ids: list[str], cache: Path) -> Path:
    """A root holding ``training/radiance_2`` and ``depth_2`` for ``ids``: ``data_root`` when
    it has them, else ``cache`` (missing frames only): regenerated from the synthetic root's
    ``synth_config.yaml``, or, for a real root (:func:`is_real_root`), made from each frame's
    ``image_2`` and LiDAR by :func:`ensure_real_scenes`."""
    base = data_root / "training"
    if all((base / "radiance_2" / f"{i}.npy").is_file() for i in ids):
        return data_root
    if is_real_root(data_root, ids):
        return ensure_real_scenes(data_root, ids, cache)
    from perception3d.config import load_config
    from perception3d.sim.config import SynthConfig
    from perception3d.sim.frame import generate_frame

    cfg_path = data_root / "synth_config.yaml"
    if not cfg_path.is_file():
        raise FileNotFoundError(
            f"{base}: no radiance_2, no synth_config.yaml to regenerate it, and not a real "
            "KITTI root (image_2, velodyne and calib for every frame)"
        )
    cfg = load_config(cfg_path, SynthConfig)
    for fid in ids:
        rad_path = cache / "training" / "radiance_2" / f"{fid}.npy"
        if rad_path.is_file():
            continue
        frame = generate_frame(cfg, int(fid))
        depth = frame.camera.depth_m.astype(np.float16)
        atomic_write(
            cache / "training" / "depth_2" / f"{fid}.npy", lambda f, d=depth: np.save(f, d)
        )
        rad = frame.camera.radiance.astype(np.float16)
        atomic_write(rad_path, lambda f, r=rad: np.save(f, r))  # last: marks the frame done
    return cache


def ensure_real_scenes(data_root: Path, ids: list[str], cache: Path) -> Path:
    """Scenes of real frames in ``cache`` (missing frames only): ``radiance_2`` (float32, the
    unprocessed ``image_2``), ``depth_2`` (float32, the completed LiDAR depth, ``inf`` = sky),
    ``meta/<id>.json`` (exposure 1: the real camera's) and ``depth_trust/<id>.json``
    (:func:`perception3d.isp.real_capture.depth_trust`). Returns ``cache``."""
    from perception3d.atomic import atomic_write_text
    from perception3d.isp.real_capture import depth_trust, real_scene_from_root

    base = cache / "training"
    for fid in ids:
        rad_path = base / "radiance_2" / f"{fid}.npy"
        if rad_path.is_file():
            continue
        scene = real_scene_from_root(data_root, fid)
        trust = depth_trust(scene)
        atomic_write_text(base / "depth_trust" / f"{fid}.json", json.dumps(trust, indent=1))
        meta = {"exposure": 1.0, "source": "real", "image": str(data_root / "training")}
        atomic_write_text(base / "meta" / f"{fid}.json", json.dumps(meta) + "\n")
        atomic_write(base / "depth_2" / f"{fid}.npy", lambda f, d=scene.depth_m: np.save(f, d))
        atomic_write(rad_path, lambda f, r=scene.radiance: np.save(f, r))  # last: marks done
    return cache


def load_scene(radiance_root: Path, data_root: Path, fid: str):
    """(radiance (1, 3, H, W) float32, depth (1, 1, H, W) float32 metres, exposure): the
    exposure from ``data_root``'s ``meta/<id>.json`` (a synthetic dataset's), else from
    ``radiance_root``'s (a real frame's, 1)."""
    base = radiance_root / "training"
    rad = np.load(base / "radiance_2" / f"{fid}.npy", allow_pickle=False).astype(np.float32)
    depth = np.load(base / "depth_2" / f"{fid}.npy", allow_pickle=False).astype(np.float32)
    meta_path = data_root / "training" / "meta" / f"{fid}.json"
    if not meta_path.is_file():
        meta_path = base / "meta" / f"{fid}.json"
    meta = json.loads(meta_path.read_text())
    return torch.from_numpy(rad)[None], torch.from_numpy(depth)[None, None], float(meta["exposure"])


def capture_condition(
    radiance: torch.Tensor,
    depth_m: torch.Tensor,
    exposure: float,
    condition: Condition,
    seed: int,
    index: int,
) -> tuple[torch.Tensor, RawMeta, torch.Tensor]:
    """Raw capture of one frame under ``condition``.

    Args:
        radiance: (1, 3, H, W) clean linear radiance.
        depth_m: (1, 1, H, W) metres, ``inf`` for sky.
        exposure: the dataset's auto exposure of the frame (radiance -> image_2 linear).
        condition: the condition.
        seed, index: the capture noise is drawn from ``torch.Generator`` seeded by both.

    Returns:
        raw (1, 1, H, W) in [0, 1], its metadata, the reference linear image
        (1, 3, H, W) = ``radiance x exposure`` (image_2's linear values, unclipped), and the
        display gain that maps an ideal ISP's linear output onto that reference (1 for clean
        and haze; ``1 / level`` for low light, larger where the ISO cap bites; below 1 for the
        over-exposed HDR capture).
    """
    scene = radiance
    target_scale = exposure  # the clean camera reproduces image_2's exposure
    if condition.kind == "lowlight":
        scene = radiance * condition.level
        target_scale = exposure / condition.level
    elif condition.kind == "haze":
        lum = luminance(radiance).flatten()[::7]
        airlight = float(torch.quantile(lum, 0.9))
        scene = apply_haze(radiance, depth_m, condition.level, airlight)
    elif condition.kind == "hdr":
        # meter on what reaches the photosites: the brightest channel after the white-balance
        # sensitivities and the vignetting of the daylight camera, so that the brightest
        # `level` fraction of pixels saturates in the raw
        base = SensorParams()
        h, w = radiance.shape[-2:]
        wb = torch.tensor(base.wb_gains, dtype=radiance.dtype).view(1, 3, 1, 1)
        peak = (radiance / wb).amax(dim=1, keepdim=True)
        peak = (peak * vignetting_map(h, w, base.vignetting)).flatten()
        clip_level = float(
            torch.quantile(peak[:: max(1, peak.numel() // 200_000)], 1.0 - condition.level)
        )
        target_scale = 1.0 / max(clip_level, 1e-8)
    max_iso = MAX_ISO if condition.max_iso is None else condition.max_iso
    params = exposed_camera(target_scale, max_iso=max_iso)
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(index))
    raw, meta = capture(scene, params, gen)
    # an ideal ISP returns scene x linear_scale; the display brings it to image_2's exposure
    # of the clean scene (a digital gain where the ISO cap left the capture under-exposed)
    illuminance = condition.level if condition.kind == "lowlight" else 1.0
    display_gain = exposure / (params.linear_scale * illuminance)
    return raw, meta, radiance * exposure, display_gain


def condition_from_dict(d: dict) -> Condition:
    """Condition from a plain mapping (the experiment config's entries)."""
    max_iso = d.get("max_iso")
    return Condition(
        str(d["name"]), d["kind"], float(d.get("level", 1.0)),
        None if max_iso is None else float(max_iso),
    )  # fmt: skip


def describe(condition: Condition) -> str:
    """Human text of a condition for tables.

    Example:
        >>> describe(Condition("fog_50", "haze", 50.0))
        'haze/fog, MOR 50 m (LiDAR fogged at the same MOR)'
    """
    if condition.kind == "lowlight":
        cap = "" if condition.max_iso is None else f", ISO at most {condition.max_iso:g}"
        return f"low light, {condition.level:g} x daylight illuminance{cap}"
    if condition.kind == "hdr":
        return f"HDR exposure, brightest {100 * condition.level:g} % of pixels clipped"
    if condition.kind == "haze":
        return f"haze/fog, MOR {condition.level:g} m (LiDAR fogged at the same MOR)"
    return "clean daylight"
