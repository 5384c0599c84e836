"""Image sources of the ISP-effect experiment (:mod:`perception3d.experiments.isp_effect`): what
turns a condition's raw capture into the 8-bit image the camera networks see.

- ``none``, ``classical``, ``learned``: an ISP (:class:`perception3d.isp.pipeline.IspPipeline`:
  the raw stage, plus dehaze for haze and highlight restoration for HDR) develops the raw to
  linear values, displayed like ``image_2`` (:func:`display_srgb`: brought to the dataset's
  exposure, sRGB, smoothstep, 8 bits);
- ``enhancer``: the 8-bit sRGB image the camera itself stores (the classical ISP without
  denoising, at the camera's own exposure, sRGB-encoded, 8 bits: the input domain of the
  enhancer's training pairs, :func:`perception3d.isp.enhance.pairs.make_lowlight_pair`) enhanced
  by the shipped sRGB low-light enhancer (:func:`perception3d.isp.enhance.illumination.enhance`,
  the function of ``perception3d isp lowlight-enhance``), whose output brightness is its own:
  it is displayed like ``image_2`` with gain 1 (sRGB decoded, smoothstep, 8 bits);
- ``reference``: the clean ``image_2`` (no capture; handled by the runner).
"""

from __future__ import annotations

from pathlib import Path

import torch

from perception3d.experiments.isp_effect_capture import Condition
from perception3d.isp.meta import RawMeta

ISP_CHOICES = ("none", "classical", "learned", "enhancer", "reference")
ENHANCER_WEIGHTS = Path(__file__).resolve().parents[1] / "assets" / "weights" / "isp_lowlight.pt"


def check_sources(isps: tuple[str, ...]) -> None:
    """Raise a ValueError naming the unknown entries of ``isps`` and the valid ones."""
    bad = [i for i in isps if i not in ISP_CHOICES]
    if bad:
        raise ValueError(f"isps: unknown image source(s) {bad}, expected some of {ISP_CHOICES}")


def _pipeline(isp: str, condition: Condition):
    """The ISP of ``isp`` for a condition: the raw stage, plus dehaze for haze and highlight
    restoration for HDR."""
    from perception3d.isp.pipeline import IspPipeline, PipelineConfig, Stages

    stage = "none" if isp == "none" else isp
    stages = Stages(
        raw=stage,
        dehaze=stage if condition.kind == "haze" else "none",
        hdr=stage if condition.kind == "hdr" else "none",
    )
    return IspPipeline(PipelineConfig(stages=stages))


def display_srgb(linear: torch.Tensor, gain: float) -> torch.Tensor:
    """``image_2``'s rendering of a linear image: ``gain`` (to the dataset's exposure), clip,
    sRGB, smoothstep (:mod:`perception3d.sim.tonemap`), 8-bit levels."""
    from perception3d.isp.color import linear_to_srgb, smoothstep

    srgb = smoothstep(linear_to_srgb((linear * gain).clamp(0.0, 1.0)))
    return torch.round(srgb.clamp(0, 1) * 255.0) / 255.0


def camera_srgb(raw: torch.Tensor, meta: RawMeta) -> torch.Tensor:
    """The 8-bit sRGB image (1, 3, H, W) in [0, 1] a camera stores of ``raw`` at its own
    exposure: lens shading, white balance, Malvar demosaic, colour matrix, no denoising, sRGB,
    8 bits (the enhancer's training input,
    :func:`perception3d.isp.enhance.pairs.make_lowlight_pair`)."""
    from perception3d.isp import classic
    from perception3d.isp.enhance.pairs import stored_srgb

    return stored_srgb(classic.raw_to_linear(raw, meta, "malvar"))


def enhance_camera_image(
    model: torch.nn.Module, raw: torch.Tensor, meta: RawMeta, device: torch.device
) -> torch.Tensor:
    """The ``enhancer`` source's displayed image (1, 3, H, W) in [0, 1], 8-bit levels: the
    camera's sRGB image (:func:`camera_srgb`) through the low-light enhancer on ``device``,
    decoded to linear and displayed like ``image_2`` at gain 1."""
    from perception3d.isp.color import srgb_to_linear
    from perception3d.isp.enhance.illumination import enhance

    out = enhance(model.to(device), camera_srgb(raw, meta).to(device)).cpu().float()
    return display_srgb(srgb_to_linear(out.clamp(0.0, 1.0)), 1.0)


def source_developer(isp: str, condition: Condition, device: str = "auto"):
    """A function ``(raw, meta, gain) -> displayed image (1, 3, H, W)`` of image source ``isp``
    (not ``reference``) under ``condition``; ``device`` (``auto``: CUDA when present) runs the
    enhancer, the ISPs run on the CPU."""
    check_sources((isp,))
    if isp == "reference":
        raise ValueError("the reference source has no capture to develop (it is image_2)")
    if isp == "enhancer":
        from perception3d.isp.enhance.illumination import load_enhancer
        from perception3d.runtime import resolve_device

        model, dev = load_enhancer(ENHANCER_WEIGHTS), resolve_device(device)
        return lambda raw, meta, gain: enhance_camera_image(model, raw, meta, dev)
    pipeline = _pipeline(isp, condition)

    def develop_isp(raw: torch.Tensor, meta: RawMeta, gain: float) -> torch.Tensor:
        with torch.inference_mode():
            linear = pipeline.hdr(pipeline.dehaze(pipeline.raw_to_linear(raw, meta)))
        return display_srgb(linear, gain)

    return develop_isp


__all__ = [
    "ENHANCER_WEIGHTS",
    "ISP_CHOICES",
    "camera_srgb",
    "check_sources",
    "display_srgb",
    "enhance_camera_image",
    "source_developer",
]
