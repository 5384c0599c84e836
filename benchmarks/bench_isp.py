"""Full learned ISP (learned denoise + demosaic, dehaze, HDR, Reinhard tone map) per
1242 x 375 frame on the CPU, in float32 and with bfloat16 convolutions (``precision:
bfloat16``), against the classical ISP (Malvar, bilateral denoise, dark channel prior, inverse
CRF) measured in the same run; each learned stage alone (float32) for information. Target:
10 frames/s (100 ms) on 2 cores. The temporal raw stage (one frame of the recurrent network:
its previous output warped by a backward flow, the network, the colour matrix) against the
single-frame raw stage in the same run (``temporal``; the temporal weights when shipped, else a
randomly initialised network of the same size: the same time). Target: 10 frames/s. With
OpenCV, the estimated-flow alignment too (``estimated_alignment_2_flows``: the two DIS flows
per frame that the temporal eval's ``alignment: estimated`` computes, tuned settings), and the
reprojection alignment (``reprojection_alignment``: one frame of ``alignment: reprojection``,
the previous frame's state given: de-skew, depth completion on the quarter grid, flow, the
depth and photometric checks, upsampling; on a real KITTI sweep of tests/data/kitti_samples
with the car 1 m further ahead) and the temporal stage with it (``temporal_fps_with_
reprojection``: one over the sum of the two medians).

Writes benchmarks/results/bench_isp.json. Run: python benchmarks/bench_isp.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import SAMPLES, measure, report, write_result

from perception3d.isp.conditions import make_raw_sample
from perception3d.isp.pipeline import IspPipeline, PipelineConfig, Stages
from perception3d.isp.scenes import procedural_scene

H, W = 375, 1242
SEED = 0


def main() -> dict:
    torch.set_num_threads(2)
    rng = np.random.default_rng(SEED)
    rad, _ = procedural_scene(H, W, rng)
    sample = make_raw_sample(torch.from_numpy(rad)[None], rng, "lowlight")
    raw, meta = sample.raw, sample.meta
    learned = IspPipeline(PipelineConfig(stages=Stages("learned", "learned", "learned")))
    learned_bf16 = IspPipeline(
        PipelineConfig(stages=Stages("learned", "learned", "learned"), precision="bfloat16")
    )
    classical = IspPipeline(PipelineConfig(stages=Stages("classical", "classical", "classical")))
    learned_cfg = learned.cfg
    figures = {
        "classical_isp(malvar+bilateral+dcp)": measure(lambda: classical(raw, meta), 3.0),
        "learned_isp(raw+dehaze+hdr)": measure(lambda: learned(raw, meta), 3.0),
        "learned_isp_bfloat16": measure(lambda: learned_bf16(raw, meta), 3.0),
    }
    out = report("bench_isp", figures, baseline="classical_isp(malvar+bilateral+dcp)")
    srgb = torch.rand(1, 3, H, W)
    with torch.inference_mode():
        stages = {
            "raw_unet": measure(lambda: learned.raw_to_linear(raw, meta)),
            "dehaze_net": measure(lambda: learned.models["dehaze"](srgb)),
            "hdr_net": measure(lambda: learned.models["hdr"](srgb)),
        }
    out["stages_no_baseline"] = stages
    out["temporal"] = _temporal_stage(learned, raw, meta)
    for key, fig in stages.items():
        print(f"  {key:<40s} median {fig['median_s'] * 1e3:9.3f} ms")
    fps = 1.0 / figures["learned_isp(raw+dehaze+hdr)"]["median_s"]
    fps_bf16 = 1.0 / figures["learned_isp_bfloat16"]["median_s"]
    print(f"  full learned ISP: {fps:.1f} frames/s float32, {fps_bf16:.1f} frames/s bfloat16")
    print(f"  at {W} x {H} (target 10)")
    out.update(
        frame_hw=[H, W],
        learned_fps=fps,
        learned_fps_bfloat16=fps_bf16,
        tonemap=learned_cfg.output.tonemap,
    )
    write_result("bench_isp", out)
    return out


def _temporal_stage(learned: IspPipeline, raw: torch.Tensor, meta) -> dict:
    """One frame of the temporal stage vs the single-frame raw stage (same raw, same run)."""
    from perception3d.isp.temporal import TemporalRawUNet, load_temporal_stage, temporal_step

    path = Path(__file__).parents[1] / "perception3d/assets/weights/isp_temporal.pt"
    if path.is_file():
        model = load_temporal_stage(path)
    else:
        model = TemporalRawUNet().eval().to(memory_format=torch.channels_last)
    flow = torch.full((1, 2, H, W), -3.0)  # the previous output 3 px to the left
    ok = torch.ones(1, 1, H, W)
    with torch.inference_mode():
        _, state = temporal_step(model, raw, meta, None)
        figures = {
            "single_frame_raw_stage": measure(lambda: learned.raw_to_linear(raw, meta)),
            "temporal_raw_stage": measure(lambda: temporal_step(model, raw, meta, state, flow, ok)),
        }
        figures.update(_estimated_alignment(state))
        figures["reprojection_alignment"] = _reprojection_alignment(raw, meta)
    out = report("bench_isp_temporal", figures, baseline="single_frame_raw_stage")
    fps = 1.0 / figures["temporal_raw_stage"]["median_s"]
    with_reprojection = 1.0 / (
        figures["temporal_raw_stage"]["median_s"] + figures["reprojection_alignment"]["median_s"]
    )
    print(f"  temporal raw stage: {fps:.1f} frames/s at {W} x {H} (target 10)")
    print(f"  temporal raw stage + reprojection alignment: {with_reprojection:.1f} frames/s")
    out["temporal_fps"] = fps
    out["temporal_fps_with_reprojection"] = with_reprojection
    return out


def _reprojection_alignment(raw: torch.Tensor, meta) -> dict:
    """One frame of the reprojection alignment on a real sweep (the previous frame's state:
    the same sweep seen from 1 m further back)."""
    from perception3d.data.kitti import read_velodyne
    from perception3d.geometry.calib import Calibration
    from perception3d.isp.reproject import reprojection_step

    frame = sorted((SAMPLES / "training" / "velodyne").glob("*.bin"))[0].stem
    points = read_velodyne(SAMPLES / "training" / "velodyne" / f"{frame}.bin")
    calib = Calibration.from_file(SAMPLES / "training" / "calib" / f"{frame}.txt")
    motion = np.eye(4)
    motion[0, 3] = -1.0  # the previous frame's sensor, 1 m behind
    before = points.copy()
    before[:, 0] += 1.0
    _, _, prev = reprojection_step(before, motion, calib, (H, W), None, (raw, meta))
    return measure(lambda: reprojection_step(points, motion, calib, (H, W), prev, (raw, meta)))


def _estimated_alignment(state: torch.Tensor) -> dict:
    """Two DIS flows between a frame and itself moved 3 px (skipped without OpenCV)."""
    try:
        from perception3d.isp.flow_estimate import estimate_flow
    except ImportError:
        return {}
    img = state[0].clamp(0.0, 1.0) ** (1 / 2.2)
    moved = torch.roll(img, 3, dims=-1)

    def both_ways():
        return estimate_flow(img, moved), estimate_flow(moved, img)

    try:
        return {"estimated_alignment_2_flows": measure(both_ways)}
    except ImportError:  # the extra is missing: cv2 is imported on first use
        return {}


if __name__ == "__main__":
    main()
