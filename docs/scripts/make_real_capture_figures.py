"""Make the picture of docs/isp_effect.md's real-frame section.

Run: ``.venv/bin/python docs/scripts/make_real_capture_figures.py [KITTI_REAL]`` (about half a
minute); writes ``docs/images/real_capture.jpg``: for three real KITTI frames (the sample frame
000008 of tests/data and frames 000001 and 000005 of ``KITTI_REAL``, default
``../shared/kitti_real``), the real image_2, its completed LiDAR depth (near light, far dark,
sky blue: no depth), and its captures in haze at MOR 150 m and at 1/300 of daylight, developed
without an ISP (bilinear demosaic) and displayed as the ISP-effect experiment does.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from perception3d.atomic import atomic_write_bytes
from perception3d.experiments.isp_effect import _pipeline, display_srgb
from perception3d.experiments.isp_effect_capture import Condition, capture_condition
from perception3d.isp.real_capture import real_scene_from_root

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "images" / "real_capture.jpg"


def _depth_picture(depth: np.ndarray) -> np.ndarray:
    """(H, W, 3) in [0, 1]: 1 - depth / 80 m in grey, sky blue."""
    grey = 1.0 - np.clip(np.where(np.isfinite(depth), depth, 0.0) / 80.0, 0, 1)
    out = np.repeat(grey[..., None], 3, axis=2)
    out[~np.isfinite(depth)] = (0.35, 0.55, 1.0)
    return out


def main(kitti_real: Path) -> None:
    frames = [(ROOT / "tests" / "data" / "kitti_samples", "000008")]
    frames += [(kitti_real, fid) for fid in ("000001", "000005")]
    rows = []
    for root, fid in frames:
        scene = real_scene_from_root(root, fid)
        rad = torch.from_numpy(scene.radiance)[None]
        depth = torch.from_numpy(scene.depth_m)[None, None]
        tiles = [scene.radiance, _depth_picture(scene.depth_m).transpose(2, 0, 1)]
        for cond in (Condition("haze", "haze", 150.0), Condition("dark", "lowlight", 0.003)):
            raw, meta, _, gain = capture_condition(rad, depth, 1.0, cond, 0, int(fid))
            with torch.inference_mode():
                linear = _pipeline("none", cond).raw_to_linear(raw, meta)
            tiles.append(display_srgb(linear, gain)[0].numpy())
        tiles[0] = display_srgb(torch.from_numpy(tiles[0])[None], 1.0)[0].numpy()
        h, w = 370, 1224  # the smallest KITTI image size
        rows.append(np.concatenate([t[:, :h, :w].transpose(1, 2, 0) for t in tiles], axis=1))
    grid = np.concatenate(rows, axis=0)[::2, ::2]
    buf = io.BytesIO()
    Image.fromarray((grid.clip(0, 1) * 255 + 0.5).astype(np.uint8)).save(buf, "JPEG", quality=85)
    atomic_write_bytes(OUT, buf.getvalue())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent.parent / "shared" / "kitti_real")
