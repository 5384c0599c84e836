"""AdaBN for the Frustum PointNet 2D detector: re-estimate its BatchNorm statistics on
unlabelled images of the target domain (real KITTI frames), the learned weights unchanged
(Li, Wang, Shi, Liu, Hou, "Revisiting Batch Normalization For Practical Domain Adaptation",
ICLR workshop 2017; :mod:`perception3d.models.adapt_norm`).

The images go through the detector's own inference preprocessing (the whole image, the
antialiased resize to ``input_hw`` of :func:`~perception3d.models.detector2d.detect_2d`), each
also mirrored (training flips half its inputs), so the statistics are those of the inputs the
network normalizes at test time. By default all of them form one batch: every layer then
normalizes, while its statistics are gathered, with exactly the statistics it keeps.

``layers="all"`` re-estimates every BatchNorm layer (standard AdaBN: for the MobileNetV2
detectors that includes the frozen encoder, whose stored statistics are ImageNet's);
``layers="head"`` only those after the encoder (top-down path and head).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from perception3d.checkpoint import read_checkpoint, write_weights_copy
from perception3d.data.kitti import read_image
from perception3d.engine.frustum_infer import load_detector2d
from perception3d.errors import Perception3DError
from perception3d.models.adapt_norm import reestimate_batchnorm
from perception3d.models.detector2d import CenterNet2D, resize_image

LAYERS = ("all", "head")
ENCODER_MODULES = ("encoder", "stage1", "stage2", "stage3", "stage4")
IMAGE_SUFFIXES = (".png",)


def adaptation_inputs(
    images_srgb: Sequence[np.ndarray], input_hw: tuple[int, int], flip: bool = True
) -> torch.Tensor:
    """(N, 3, *input_hw) float32 network inputs of (3, H, W) sRGB images in [0, 1], resized as
    :func:`~perception3d.models.detector2d.detect_2d` does; with ``flip`` each image's mirror
    follows it (2N inputs)."""
    if not images_srgb:
        raise ValueError("no image to adapt the BatchNorm statistics on")
    out = []
    for img in images_srgb:
        x = resize_image(torch.as_tensor(np.asarray(img, dtype=np.float32)), input_hw)
        out.append(x)
        if flip:
            out.append(x.flip(-1))
    return torch.cat(out)


def _head_modules(model: CenterNet2D) -> nn.ModuleList:
    return nn.ModuleList(m for name, m in model.named_children() if name not in ENCODER_MODULES)


@torch.no_grad()
def adapt_detector2d_batchnorm(
    model: CenterNet2D, inputs: torch.Tensor, layers: str = "all", batch_size: int | None = None
) -> int:
    """Re-estimate the BatchNorm statistics of ``model`` (in place) on ``inputs``
    (:func:`adaptation_inputs`); return the number of batches.

    Args:
        model: the 2D detector (left in eval mode; its parameters are not changed).
        inputs: (N, 3, H_in, W_in) network inputs.
        layers: ``all`` (every BatchNorm layer) or ``head`` (those after the encoder).
        batch_size: inputs per batch (None: all in one batch).
    """
    if layers not in LAYERS:
        raise ValueError(f"layers must be one of {LAYERS}, got {layers!r}")
    model.eval()
    batches = inputs.split(batch_size or len(inputs))
    if layers == "all":
        return reestimate_batchnorm(model, batches, lambda m, b: m(b))
    return reestimate_batchnorm(
        _head_modules(model), batches, lambda _, b: model.head_forward(*model.encode(b))
    )


def image_files(paths: Sequence[str | Path]) -> list[Path]:
    """The PNG files of ``paths`` (files, or folders whose ``*.png`` are taken, sorted).

    Raises:
        FileNotFoundError: a path does not exist.
        Perception3DError: a folder holds no PNG, or a file is not one.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise Perception3DError(f"{p}: no .png image in this folder (--images)")
            files += found
        elif p.is_file():
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                raise Perception3DError(f"{p}: expected a .png image (--images)")
            files.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such image or folder (--images)")
    if not files:
        raise Perception3DError("no image given to adapt the BatchNorm statistics on (--images)")
    return files


def adapt_detector2d_file(
    det2d: str | Path,
    images: Sequence[str | Path],
    out: str | Path,
    layers: str = "all",
    flip: bool = True,
    batch_size: int | None = None,
) -> dict:
    """``perception3d frustum adapt-bn``: write a copy of the 2D detector checkpoint ``det2d``
    whose BatchNorm statistics are re-estimated on ``images`` (PNG files or folders of them;
    no labels), weights only (no optimizer state), with ``extra["adapt_bn"]`` naming the images.

    Returns the note written to ``extra["adapt_bn"]``.
    """
    if Path(det2d).suffix in (".yaml", ".yml"):
        raise Perception3DError(f"{det2d}: adapt-bn needs a detector2d checkpoint, not a YAML")
    files = image_files(images)
    ckpt = read_checkpoint(det2d, kind="detector2d")
    model, _ = load_detector2d(det2d)
    inputs = adaptation_inputs([read_image(f) for f in files], model.input_hw, flip)
    batches = adapt_detector2d_batchnorm(model, inputs, layers, batch_size)
    note = {
        "method": "AdaBN (Li et al. 2017): BatchNorm running statistics re-estimated on "
        "unlabelled images, other weights unchanged",
        "source_checkpoint": str(det2d),
        "images": [str(f) for f in files],
        "layers": layers,
        "flip": flip,
        "inputs": len(inputs),
        "batches": batches,
        "preprocessing": f"whole image resized to {list(model.input_hw)} (as detect_2d)",
    }
    write_weights_copy(out, ckpt, model.state_dict(), {"adapt_bn": note})
    return note
