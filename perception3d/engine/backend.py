"""The network that runs inference for ``detect``, ``infer`` and :class:`Detector`.

- ``eager``: the trained :class:`~perception3d.models.detector.VoxelDetector` itself (any
  detector, any device).
- ``fused``: :class:`~perception3d.models.fused.FusedPointPillars` built from it (the
  PointPillars family, on the CPU): batch norms, the pillar decoration and the upsampling folded
  into the weights, channels-last BEV network, sparse first convolution. The same detections
  as ``eager`` up to float rounding (tests/engine/test_backend.py); docs/detectors.md ("Speed")
  has what it buys.

Both take a :class:`~perception3d.models.detector.VoxelBatch` with any number of pillars,
including none (a sweep with no point in range), and have ``postprocess``, ``anchors``,
``box_coder``, ``post_cfg`` and ``classes``.

Example:
    >>> from perception3d.engine.config import load_experiment
    >>> from perception3d.models.detector import build_detector
    >>> model = build_detector(load_experiment("configs/models/pointpillars_lite.yaml").model)
    >>> type(inference_model(model.eval(), "fused")).__name__
    'FusedPointPillars'
"""

from __future__ import annotations

from typing import Literal

import torch

from perception3d.errors import ConfigError
from perception3d.models.detector import VoxelDetector
from perception3d.models.fused import FusedPointPillars
from perception3d.models.pillars import PillarEncoder

Backend = Literal["eager", "fused"]
BACKENDS: tuple[str, ...] = ("eager", "fused")


def inference_model(model: VoxelDetector, backend: str = "eager") -> torch.nn.Module:
    """The module that runs ``model``'s inference with ``backend`` (see the module docstring).

    Args:
        model: a trained detector in eval mode (its weights are folded as they are now).
        backend: ``eager`` or ``fused``.

    Raises:
        ConfigError: an unknown backend, ``fused`` for a detector without a pillar encoder
            (SECOND), or ``fused`` on a device other than the CPU.
    """
    if backend == "eager":
        return model
    if backend != "fused":
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if not isinstance(model.encoder, PillarEncoder):
        raise ConfigError(
            "backend 'fused' covers the PointPillars family (model.type: pointpillars), got a "
            f"{type(model.encoder).__name__} encoder; use backend 'eager'"
        )
    device = next(model.parameters()).device
    if device.type != "cpu":
        raise ConfigError(f"backend 'fused' runs on the CPU, the model is on {device}")
    return FusedPointPillars(model)
