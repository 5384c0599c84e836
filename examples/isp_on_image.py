"""Run the ISP on an image.

Run the camera ISP on an image: a low-light raw capture of a KITTI image by the physical sensor
model, developed by no ISP, the classical ISP and the learned one (shipped weights), each scored
by PSNR / SSIM against the ideal capture.

Run from the repository root: ``python examples/isp_on_image.py [--image PNG] [--out DIR]``
(a few seconds on a CPU).
"""

# %%
import argparse
from pathlib import Path

import numpy as np
import torch

from perception3d.data.kitti import read_image
from perception3d.isp.color import linear_to_srgb, srgb_to_linear
from perception3d.isp.conditions import make_raw_sample
from perception3d.isp.metrics import psnr, ssim
from perception3d.isp.pipeline import IspPipeline, PipelineConfig, Stages
from perception3d.viz.canvas import save_png

parser = argparse.ArgumentParser(description="the ISP on a low-light capture of an image")
parser.add_argument(
    "--image", type=Path, default=Path("tests/data/kitti_samples/training/image_2/000008.png")
)
parser.add_argument("--out", type=Path, default=Path("outputs/examples"))
args, _ = parser.parse_known_args()  # parse_known_args: also runs inside a notebook

# %% [markdown]
# **Capture.** The 8-bit image is taken as the scene (linearized sRGB) and captured in low light
# by a random camera of the sensor model (shot, read, row and fixed-pattern noise, RGGB mosaic,
# 12-bit): `raw` is (1, 1, H, W) and `meta` travels with it (black level, white balance...).

# %%
torch.set_num_threads(2)
scene = srgb_to_linear(torch.from_numpy(read_image(args.image))[None])
sample = make_raw_sample(scene, np.random.default_rng(0), "lowlight")
reference = linear_to_srgb(sample.reference_linear.clamp(0, 1))
print(f"raw {tuple(sample.raw.shape)}, ISO {float(sample.meta.iso.flatten()[0]):.0f}")

# %% [markdown]
# **Develop** with three ISPs (`configs/isp/*.yaml` hold the same choices as YAML).

# %%
developed = {}
for choice in ("none", "classical", "learned"):
    isp = IspPipeline(PipelineConfig(stages=Stages(raw=choice)))
    developed[choice] = isp(sample.raw, sample.meta).clamp(0, 1)
    score = psnr(developed[choice], reference), ssim(developed[choice], reference)
    print(f"{choice:9s} PSNR {float(score[0]):5.2f} dB  SSIM {float(score[1]):.3f}")

# %%
top = torch.cat([developed["none"], developed["classical"]], dim=3)
bottom = torch.cat([developed["learned"], reference], dim=3)
grid = torch.cat([top, bottom], dim=2)[0]  # 2 x 2
picture = (grid.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
path = save_png(args.out / "isp_lowlight.png", picture)
print(f"wrote {path}: no ISP | classical (top), learned | ideal capture (bottom)")
