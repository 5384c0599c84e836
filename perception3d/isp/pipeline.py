"""An ISP assembled from a YAML config (``configs/isp/*.yaml``): three stages, each ``none``,
``classical`` or ``learned``, in the order raw (denoise + demosaic) -> dehaze -> hdr -> display.

Representations between stages: the raw stage turns raw (B, 1, H, W) + :class:`RawMeta` into
linear sRGB (B, 3, H, W); dehaze and hdr read the display encoding of that linear image (what
their models were trained on) and return linear images; the output is rendered by
:func:`perception3d.isp.color.render_srgb`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import torch

from perception3d.isp import classic
from perception3d.isp.color import ToneMap, linear_to_srgb, render_srgb
from perception3d.isp.meta import RawMeta
from perception3d.isp.models import set_precision
from perception3d.isp.weights import learned_raw_to_linear, load_isp_stage

Choice = Literal["none", "classical", "learned"]
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "assets" / "weights"


@dataclasses.dataclass(frozen=True)
class Stages:
    """Which implementation runs each stage."""

    raw: Choice = "learned"
    dehaze: Choice = "none"
    hdr: Choice = "none"


@dataclasses.dataclass(frozen=True)
class ClassicalOptions:
    """Options of the classical stages."""

    demosaic: Literal["bilinear", "malvar", "menon"] = "malvar"
    white_balance: Literal["metadata", "gray_world", "white_patch"] = "metadata"
    denoise: Literal["none", "bilateral", "nlmeans", "bm3d"] = "bilateral"


@dataclasses.dataclass(frozen=True)
class Weights:
    """Weight files of the learned stages (default: the shipped ones)."""

    raw: Path = WEIGHTS_DIR / "isp_raw.pt"
    dehaze: Path = WEIGHTS_DIR / "isp_dehaze.pt"
    hdr: Path = WEIGHTS_DIR / "isp_hdr.pt"


@dataclasses.dataclass(frozen=True)
class Capture:
    """How ``isp run`` makes raw captures of frames that have no ``raw_2``.

    Attributes:
        condition: ``normal`` (daylight ISO), ``lowlight`` (ISO 1600-12800) or ``haze``
            (normal ISO through haze of MOR ``mor_m``; needs depth_2).
        mor_m: meteorological optical range of the haze, metres.
        seed: frames are seeded with ``(seed, frame index)``.
    """

    condition: Literal["normal", "lowlight", "haze"] = "lowlight"
    mor_m: float = 100.0
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class Output:
    """Display rendering of the final linear image (``exposure`` scales it first)."""

    tonemap: ToneMap = "clip"
    exposure: float = 1.0


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """An ISP config (``configs/isp/*.yaml``). ``precision: bfloat16`` runs the learned stages'
    convolutions in bfloat16 (autocast; colour response, guided filter and residuals stay in
    float32): about 15 % faster for the full learned ISP on a CPU with AVX512-BF16, slower on
    CPUs without bfloat16 arithmetic; speed and image-quality cost are in docs/isp.md."""

    stages: Stages = Stages()
    classical: ClassicalOptions = ClassicalOptions()
    weights: Weights = Weights()
    capture: Capture = Capture()
    output: Output = Output()
    threads: int = 2
    precision: Literal["float32", "bfloat16"] = "float32"


class IspPipeline:
    """Callable ISP: ``pipeline(raw, meta) -> sRGB (B, 3, H, W)`` in [0, 1].

    Example:
        >>> p = IspPipeline(PipelineConfig(stages=Stages(raw="classical")))
        >>> from perception3d.isp.sensor import SensorParams, capture
        >>> raw, meta = capture(torch.full((1, 3, 8, 8), 0.5), SensorParams().noiseless())
        >>> p(raw, meta).shape
        torch.Size([1, 3, 8, 8])
    """

    def __init__(self, cfg: PipelineConfig) -> None:
        self.cfg = cfg
        self.models: dict[str, torch.nn.Module] = {}
        for name in ("raw", "dehaze", "hdr"):
            if getattr(cfg.stages, name) == "learned":
                model = load_isp_stage(getattr(cfg.weights, name), name)
                self.models[name] = set_precision(model, cfg.precision)

    def raw_to_linear(self, raw: torch.Tensor, meta: RawMeta) -> torch.Tensor:
        choice, opts = self.cfg.stages.raw, self.cfg.classical
        if choice == "learned":
            return learned_raw_to_linear(self.models["raw"], raw, meta)
        if choice == "classical":
            return classic.raw_to_linear(raw, meta, opts.demosaic, opts.white_balance, opts.denoise)
        return classic.raw_to_linear(raw, meta, "bilinear", opts.white_balance, "none")

    def dehaze(self, linear: torch.Tensor) -> torch.Tensor:
        choice = self.cfg.stages.dehaze
        if choice == "learned":
            return self.models["dehaze"](linear_to_srgb(linear), linear)
        if choice == "classical":
            return classic.dehaze(linear.clamp(0, 1))
        return linear

    def hdr(self, linear: torch.Tensor) -> torch.Tensor:
        choice = self.cfg.stages.hdr
        if choice == "learned":
            return self.models["hdr"](linear_to_srgb(linear), linear)
        if choice == "classical":
            return classic.ldr_to_hdr(linear_to_srgb(linear))
        return linear

    @torch.inference_mode()
    def __call__(self, raw: torch.Tensor, meta: RawMeta) -> torch.Tensor:
        linear = self.hdr(self.dehaze(self.raw_to_linear(raw, meta)))
        return render_srgb(linear, self.cfg.output.tonemap, self.cfg.output.exposure)
