"""The ISP-effect experiment on four frames.

Generate the four synthetic frames no network of the experiment was trained on (seed 1000, held
out; the same bytes as in the full set), capture them in clean, low-light, HDR and haze
conditions, develop them with no / classical / learned ISP, detect with PointPainting and
Frustum PointNet, and evaluate against the LiDAR-only floor.

Run from the repository root: ``python examples/isp_effect_four_frames.py [--out DIR]`` (the
README's quick run: a few minutes on 2 cores). ``PERCEPTION3D_EXAMPLES_SMALL=1`` shrinks it to
what the tests run: quarter-size frames, one condition, two image sources, PointPainting only.
"""

# %%
import argparse
import os
from pathlib import Path

from perception3d.experiments.isp_effect import load_isp_effect_config, run_isp_effect
from perception3d.experiments.isp_effect_stats import markdown_table
from perception3d.sim.config import load_synth_config
from perception3d.sim.subset import read_frame_ids_file
from perception3d.sim.writer import generate_dataset

parser = argparse.ArgumentParser(description="the ISP-effect experiment on four frames")
parser.add_argument("--data-root", type=Path, default=Path("data/isp_effect_heldout"))
parser.add_argument("--out", type=Path, default=Path("outputs/examples/isp_effect"))
args, _ = parser.parse_known_args()  # parse_known_args: also runs inside a notebook
small = os.environ.get("PERCEPTION3D_EXAMPLES_SMALL") == "1"
synth_small = ["camera.image_scale=0.25", "lidar.azimuth_steps=500", "lidar.beam_stride=4"]
experiment_small = [
    "conditions=[{name: lowlight_3e-3, kind: lowlight, level: 0.003}]",
    "isps=[none, learned]", "bootstrap=0", "threads=1",
    "frustum_2d_checkpoint=null", "frustum_3d_checkpoint=null",
]  # fmt: skip
root = args.out / "data" if small else args.data_root

# %% [markdown]
# **The frames.** `configs/fusion/isp_effect_frames.txt` lists frames of seed 1000 that none of
# the experiment's networks saw in training (each weight file records its frames); generating
# just four of them takes seconds instead of the 20 minutes of the whole set.

# %%
ids = read_frame_ids_file("configs/fusion/isp_effect_frames.txt")[:4]
synth = load_synth_config(None, ["frames=2400", "seed=1000", *(synth_small if small else [])])
done = (root / "synth_config.yaml").is_file()
generate_dataset(root, synth, frame_ids=ids, resume=done, progress=False)
print(f"frames {[f'{i:06d}' for i in ids]} of seed 1000 in {root}")

# %% [markdown]
# **The experiment** (`configs/fusion/isp_effect_quick.yaml`, 20 bootstrap resamples): it warns
# in its output and report if a frame is one a network was trained on.

# %%
overrides = [f"data.root={root.resolve()}", "data.max_val_frames=4", "bootstrap=20"]
cfg = load_isp_effect_config("configs/fusion/isp_effect_quick.yaml", overrides)
if small:
    cfg = load_isp_effect_config("configs/fusion/isp_effect_quick.yaml",
                                 [*overrides, *experiment_small])  # fmt: skip
summary = run_isp_effect(cfg, args.out, progress=False)
print(markdown_table(summary))
print(f"report: {args.out / 'report.html'}")
