"""Run-time helpers shared by every stage: device choice and seeding."""

from __future__ import annotations

import os
import random
from typing import Literal

import numpy as np
import torch

DeviceName = Literal["auto", "cpu", "cuda"] | str


def resolve_device(device: DeviceName = "auto") -> torch.device:
    """Turn a ``device`` option into a ``torch.device``: ``"auto"`` picks CUDA when present.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available here")
    return dev


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch; return a fresh ``np.random.Generator`` for that seed."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds third-party code using the legacy API
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    return np.random.default_rng(seed)
