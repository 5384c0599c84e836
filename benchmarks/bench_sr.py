"""x2 super-resolution of a whole frame on the CPU: 621 x 188 sRGB input -> 1242 x 376
output, ESPCN and SRCNN (the shipped weights when present, else the same architectures
freshly built: the cost does not depend on the weights) against bicubic interpolation
measured in the same run. Target: 10 frames/s for ESPCN on 2 cores. ``--threads`` sets the
torch thread count (default 2, the target's).

The learned ISP's raw U-Net on a 1242 x 376 frame is timed too, as a reference whose speed on
the free machine is known (docs/isp.md), for runs on a loaded machine.

Also printed: each network's multiply-accumulates (MACs) per frame and the rate this CPU ran
them at, and from that rate the time one frame would take through SR3 (Saharia et al. 2021,
diffusion SR), whose cost is estimated from its architecture (see ``SR3_MACS_PER_PIXEL_STEP``).

Writes benchmarks/results/bench_sr.json. Run: python benchmarks/bench_sr.py [--threads N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import measure, report, write_result

from perception3d.isp.sr import SrModelConfig, build_sr_model, load_sr_model, super_resolve
from perception3d.isp.sr_eval import WEIGHTS_DIR
from perception3d.isp.weights import load_isp_stage

H, W, SCALE = 188, 621, 2
# SR3's 64 -> 256 U-Net (base width 128, channel multipliers 1, 2, 4, 4, 8, 8, 3 residual
# blocks per level; 625 M parameters in the paper's appendix): counting only its 3 x 3
# convolutions (two per residual block, 3 blocks down and 4 up per level) gives 5.2e11 MACs per
# network evaluation at 256 x 256, i.e. ~7.9e6 per output pixel (attention, time embedding
# and the other layers left out: a lower bound). SR3 samples with 100 refinement steps.
SR3_MACS_PER_PIXEL_STEP = 5.2e11 / 256**2
SR3_STEPS = 100


def conv_macs(model: torch.nn.Module, srgb: torch.Tensor) -> int:
    """Multiply-accumulates of ``model``'s convolutions on ``srgb``."""
    total = 0

    def hook(module, _inputs, output):
        nonlocal total
        k = module.weight[0].numel()  # (in / groups) x kh x kw
        total += k * output.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, torch.nn.Conv2d)]  # fmt: skip
    with torch.inference_mode():
        model(srgb)
    for h in handles:
        h.remove()
    return total


def _model(arch: str) -> tuple[torch.nn.Module, str]:
    path = WEIGHTS_DIR / f"sr_{arch}_x{SCALE}.pt"
    if path.is_file():
        return load_sr_model(path), path.name
    model = build_sr_model(SrModelConfig(arch, SCALE)).eval()
    return model.to(memory_format=torch.channels_last), "untrained (no weight file)"


def main(threads: int = 2) -> dict:
    torch.set_num_threads(threads)
    srgb = torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(0))
    espcn, espcn_src = _model("espcn")
    srcnn, srcnn_src = _model("srcnn")
    unet = load_isp_stage(WEIGHTS_DIR / "isp_raw.pt", "raw")
    raw = torch.rand(1, 1, 376, 1242, generator=torch.Generator().manual_seed(1)) * 0.3
    noise = torch.tensor([[1e-3, 1e-5]])
    figures = {
        "bicubic": measure(lambda: super_resolve(None, srgb, SCALE), 2.0),
        "espcn": measure(lambda: super_resolve(espcn, srgb), 3.0),
        "srcnn": measure(lambda: super_resolve(srcnn, srgb), 3.0),
    }
    with torch.inference_mode():  # a reference of known speed (docs/isp.md: 36-37 ms, free CPU)
        figures["isp_raw_unet_1242x376"] = measure(lambda: unet(raw, noise), 3.0)
    out = report("bench_sr", figures, baseline="bicubic")
    for key, fig in list(figures.items())[:3]:
        print(f"  {key:<8s} {1.0 / fig['median_s']:8.1f} frames/s "
              f"({W} x {H} -> {W * SCALE} x {H * SCALE}, {threads} threads)")  # fmt: skip
    out["weights"] = {"espcn": espcn_src, "srcnn": srcnn_src}
    rates = {}
    for key, model in (("espcn", espcn), ("srcnn", srcnn)):
        macs = conv_macs(model, srgb)
        rates[key] = macs / figures[key]["median_s"]
        print(f"  {key:<8s} {macs / 1e9:6.2f} GMAC per frame, {rates[key] / 1e9:6.1f} GMAC/s")
    sr3_macs = SR3_MACS_PER_PIXEL_STEP * H * W * SCALE**2 * SR3_STEPS
    sr3_s = sr3_macs / max(rates.values())
    print(f"  SR3 (estimate): {sr3_macs / 1e12:.0f} TMAC per frame ({SR3_STEPS} steps) -> "
          f"{sr3_s:.0f} s per frame at the faster network's rate")  # fmt: skip
    out["sr3_estimate"] = {"macs_per_frame": sr3_macs, "seconds_per_frame": sr3_s,
                           "gmac_per_s": {k: v / 1e9 for k, v in rates.items()}}  # fmt: skip
    write_result("bench_sr", out)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    main(parser.parse_args().threads)
