"""Run-time helpers shared by every stage: device choice, seeding, CPU thread count, data files
shipped inside installed packages."""

from __future__ import annotations

import importlib.util
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


@contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(num_threads)`` and restore the previous count.

    ``None`` or a value < 1 leaves the count alone. Library entry points use this instead of a
    bare ``set_num_threads`` so one job's setting does not leak into the next job of the same
    process (the thread count changes the order of float reductions, hence the results).

    Example:
        >>> before = torch.get_num_threads()
        >>> with torch_threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    before = torch.get_num_threads()
    if num_threads is not None and num_threads >= 1:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def installed_package_file(package: str, relative_path: str, missing: str) -> Path:
    """The file ``relative_path`` inside the installed package ``package`` (import name).

    Raises:
        FileNotFoundError: ``"{missing}; looked for {relative_path} in {locations}"`` when the
            package or the file is not installed.
    """
    spec = importlib.util.find_spec(package)
    locations = [] if spec is None else list(spec.submodule_search_locations or [])
    for loc in locations:
        path = Path(loc) / relative_path
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{missing}; looked for {relative_path} in {locations or 'no installed package'}"
    )
