"""The learned ISP stages as weight files: the model config a file stores, building and
loading a stage, and the raw stage's input preparation (what inference needs; training is
:mod:`perception3d.engine.tasks.isp`).

A stage's file is a checkpoint of :mod:`perception3d.checkpoint` of kind ``isp_raw``,
``isp_hdr`` or ``isp_dehaze``; its ``config["model"]`` is an :class:`IspModelConfig`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import torch

from perception3d.checkpoint import (
    make_checkpoint,
    read_model_checkpoint,
    write_checkpoint,
)
from perception3d.config import to_dict
from perception3d.isp.bayer import cfa_gains
from perception3d.isp.classic import lens_shading_correction
from perception3d.isp.color import apply_color_matrix
from perception3d.isp.meta import RawMeta
from perception3d.isp.models import DehazeNet, HdrNet, RawUNet

Stage = Literal["raw", "hdr", "dehaze"]


@dataclasses.dataclass(frozen=True)
class IspModelConfig:
    """``model:`` of a learned ISP stage.

    Attributes:
        stage: ``raw`` (denoise + demosaic, :class:`RawUNet`), ``hdr`` (:class:`HdrNet`) or
            ``dehaze`` (:class:`DehazeNet`).
        width: the U-Net's base width.
        head: dehaze output head (``affine``, ``guided``, ``transmission``).
        row_coordinate: dehaze: the row position as an extra input.
        global_context: dehaze: the global path of the U-Net.
        crf: hdr: how the camera response is estimated (``conv``, ``stats``).
    """

    stage: Stage
    width: int = 16
    head: Literal["affine", "guided", "transmission"] = "affine"
    row_coordinate: bool = False
    global_context: bool = False
    crf: Literal["conv", "stats"] = "conv"

    @property
    def kind(self) -> str:
        """The checkpoint kind of this stage."""
        return f"isp_{self.stage}"


def build_isp_model(cfg: IspModelConfig) -> torch.nn.Module:
    """A randomly initialised network of ``cfg``."""
    if cfg.stage == "raw":
        return RawUNet(cfg.width)
    if cfg.stage == "hdr":
        return HdrNet(cfg.width, crf=cfg.crf)
    if cfg.stage == "dehaze":
        return DehazeNet(cfg.width, head=cfg.head, row_coordinate=cfg.row_coordinate,
                         global_context=cfg.global_context)  # fmt: skip
    raise ValueError(f"stage must be raw, hdr or dehaze, got {cfg.stage!r}")


def save_isp_stage(
    model: torch.nn.Module, cfg: IspModelConfig, path: str | Path, extra: dict | None = None
) -> Path:
    """Write a stage's weights (weights only) with its model config."""
    config = {"task": "isp", "model": to_dict(cfg)}
    return write_checkpoint(path, make_checkpoint(cfg.kind, model.state_dict(), config,
                                                  extra=extra))  # fmt: skip


def load_isp_stage(path: str | Path, stage: str | None = None) -> torch.nn.Module:
    """A learned stage from its weight file, in eval mode and channels-last memory format
    (the same results; oneDNN's CPU convolutions ran the raw U-Net 1.7-2.2x faster that way,
    measured here).

    Args:
        path: the weight file.
        stage: the stage the caller needs (``raw``, ``hdr``, ``dehaze``); None: any.

    Raises:
        FileNotFoundError: the file is missing (the message says so and names the stage).
        CheckpointError: not a stage file, or one of another stage (both are named).
    """
    what = f"the learned {stage} stage" if stage else "a learned ISP stage"
    kinds = (f"isp_{stage}",) if stage else ("isp_raw", "isp_hdr", "isp_dehaze")
    ckpt, cfg = read_model_checkpoint(path, kinds, IspModelConfig, what)
    model = build_isp_model(cfg)
    model.load_state_dict(ckpt["model"])
    return model.eval().to(memory_format=torch.channels_last)


def prepare_raw(raw: torch.Tensor, meta: RawMeta) -> tuple[torch.Tensor, torch.Tensor]:
    """Lens-shading corrected, white-balanced raw and its (B, 2) noise variances, the
    :class:`RawUNet` input (green's noise level; red/blue scale with their gains)."""
    x = lens_shading_correction(raw, meta)
    x = x * cfa_gains(meta.wb_gains.to(x), *x.shape[-2:])
    noise = torch.stack([meta.shot_noise, meta.read_noise], 1).to(x)
    return x, noise


def learned_raw_to_linear(model: torch.nn.Module, raw: torch.Tensor, meta: RawMeta) -> torch.Tensor:
    """Raw (B, 1, H, W) -> linear sRGB (B, 3, H, W) with the learned denoise + demosaic."""
    x, noise = prepare_raw(raw, meta)
    return apply_color_matrix(model(x, noise), meta.cam_to_rgb.to(x))
