"""How much disk a synthetic dataset takes, checked before a run starts.

A default frame (1242 x 375 camera, 64 beams x 2000 firings) takes about 5.4 MB: the float16
``radiance_2`` (2.8 MB) and ``depth_2`` (0.9 MB), the sweep (about 1.7 MB: some 105k returns of
16 bytes), the PNGs (about 0.15 MB) and small text files, as measured on 3,856 frames
(docs/synthetic.md, "Disk"); the estimate scales these with the image and the sweep.

Example:
    >>> from perception3d.sim.config import SynthConfig
    >>> [round(frame_bytes(SynthConfig(raw_camera=raw)) / 1e6, 1) for raw in (True, False)]
    [5.6, 1.9]
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from perception3d.sim.config import SynthConfig

__all__ = ["frame_bytes", "space_warning"]

_RETURN_SHARE = 0.85  # returns per firing of the default sweep (about 105k of 128k)
_PNG_BYTES_PER_PIXEL = 0.35  # image_2, instance_2 and semantic_2 together (zlib level 3)
_SMALL_FILES = 16_000  # calib, label, meta and the manifest entry


def frame_bytes(cfg: SynthConfig) -> int:
    """Estimated bytes one frame of ``cfg`` writes (an upper-side estimate, not a bound)."""
    h, w = cfg.camera.image_shape_hw
    beams = -(-64 // cfg.lidar.beam_stride)
    sweep = 16 * beams * cfg.lidar.azimuth_steps * _RETURN_SHARE
    raw = 8 * h * w if cfg.raw_camera else 0  # float16 radiance (3 channels) and depth
    return int(sweep + raw + _PNG_BYTES_PER_PIXEL * h * w + _SMALL_FILES)


def space_warning(root: Path, cfg: SynthConfig, frames: int) -> str | None:
    """A message when ``frames`` frames of ``cfg`` would not fit on the disk holding ``root``
    (its nearest existing parent), else None."""
    need = frames * frame_bytes(cfg)
    where = Path(root).absolute()
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    if need <= free:
        return None
    hint = ""
    if cfg.raw_camera:
        lean = frames * frame_bytes(replace(cfg, raw_camera=False))
        hint = (
            f"; --set raw_camera=false skips radiance_2 and depth_2 (about {lean / 1e9:.1f} GB), "
            "which only the ISP and camera experiments read"
        )
    return (
        f"{frames} frames need about {need / 1e9:.1f} GB and {where} has {free / 1e9:.1f} GB "
        f"free: the run will stop when the disk is full (--resume completes it){hint}"
    )
