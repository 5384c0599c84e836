"""OpenPCDet and mmdetection3d checkpoints -> perception3d checkpoints.

A KITTI 3-class PointPillars or SECOND trained with either framework runs here once its state
dict is renamed to ours (:mod:`perception3d.interop.keymap`) and put in a detector built from
the config that reproduces the framework's architecture (``configs/models/openpcdet/``,
``configs/models/mmdet3d/``). Files are read with ``torch.load(weights_only=True)``; a file of
another kind, another framework, another architecture, a missing or an extra key, a shape that
does not fit: each is refused with an error that names the file and lists the keys.

Example (no checkpoint is shipped; see docs/interop.md for the model-zoo files)::

    perception3d import-checkpoint openpcdet pointpillar_7728.pth --arch pointpillar \\
        --out pointpillar_openpcdet.pt
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from perception3d.engine.checkpoint import CheckpointError, save_checkpoint
from perception3d.engine.config import ExperimentConfig, load_experiment
from perception3d.interop.keymap import FRAMEWORKS, IGNORED_KEYS, Framework, key_map
from perception3d.models.detector import VoxelDetector, build_detector

Arch = Literal["pointpillar", "second"]
ARCHS = ("pointpillar", "second")
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "models"
DEFAULT_CONFIGS = {
    ("openpcdet", "pointpillar"): "openpcdet/pointpillar.yaml",
    ("openpcdet", "second"): "openpcdet/second.yaml",
    ("mmdet3d", "pointpillar"): "mmdet3d/pointpillars.yaml",
    ("mmdet3d", "second"): "mmdet3d/second.yaml",
}
# where each framework keeps the network's weights inside its checkpoint dict
STATE_KEY = {"openpcdet": "model_state", "mmdet3d": "state_dict"}
MODEL_TYPE = {"pointpillar": "pointpillars", "second": "second"}
_LIST_LIMIT = 12  # keys named in an error message


def _numpy_globals() -> list:
    """numpy scalar and array reconstructors (plain data) that checkpoints' metadata holds
    (an epoch or a score saved as ``np.int64``): allowed to the weights-only unpickler."""
    core = np._core.multiarray
    allowed = [core.scalar, core._reconstruct, np.ndarray, np.dtype]
    allowed += [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType")]
    # files written under numpy 1.x name the same functions numpy.core.multiarray.*
    allowed += [
        (core.scalar, "numpy.core.multiarray.scalar"),
        (core._reconstruct, "numpy.core.multiarray._reconstruct"),
    ]
    return allowed


def read_framework_file(path: str | Path) -> object:
    """``torch.load(path, weights_only=True)`` on CPU, numpy scalars allowed.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file is not a torch checkpoint of plain data.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path}: not a readable checkpoint (torch.load weights_only=True: {first})"
        ) from exc


def framework_state_dict(obj: object, framework: Framework, path: Path) -> dict:
    """The network's state dict inside a framework's checkpoint dict (``model_state`` for
    OpenPCDet, ``state_dict`` for mmdetection3d; a ``module.`` prefix of DDP is dropped).

    Raises:
        CheckpointError: ``obj`` is not such a checkpoint; the message names the keys found
            and, when they are another framework's or perception3d's, says so.
    """
    key = STATE_KEY[framework]
    if not isinstance(obj, dict) or not isinstance(obj.get(key), dict):
        found = sorted(map(str, obj))[:_LIST_LIMIT] if isinstance(obj, dict) else None
        hint = ""
        if isinstance(obj, dict):
            other = [
                f for f in FRAMEWORKS if f != framework and isinstance(obj.get(STATE_KEY[f]), dict)
            ]
            if other:
                hint = f"; it looks like a {other[0]} checkpoint (import-checkpoint {other[0]})"
            elif "model" in obj and "config" in obj:
                hint = "; it looks like a perception3d checkpoint already"
        got = f"keys {found}" if found is not None else f"a {type(obj).__name__}"
        raise CheckpointError(
            f"{path}: not a {framework} checkpoint (expected a dict with {key!r}, got {got}){hint}"
        )
    state = obj[key]
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path}: {key} holds non-tensor entries: {bad[:_LIST_LIMIT]}")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def _names(keys: list[str]) -> str:
    more = f" ... ({len(keys)} in all)" if len(keys) > _LIST_LIMIT else ""
    return ", ".join(keys[:_LIST_LIMIT]) + more


def _arch_hint(keys) -> str:
    if any(k.startswith(("backbone_3d.", "middle_encoder.")) for k in keys):
        return " (the file has a sparse 3D encoder: a SECOND checkpoint? --arch second)"
    if any(k.startswith(("vfe.pfn_layers", "voxel_encoder.pfn_layers")) for k in keys):
        return " (the file has a pillar encoder: a PointPillars checkpoint? --arch pointpillar)"
    return ""


def _fit(tensor: torch.Tensor, like: torch.Tensor) -> torch.Tensor | None:
    """``tensor`` in ``like``'s shape and dtype, or None when it does not fit. A 5-D sparse
    convolution weight of spconv 1.x, (kz, ky, kx, in, out), is permuted to spconv 2.x's
    (out, kz, ky, kx, in), as OpenPCDet and mmdetection3d do on load."""
    if tensor.shape != like.shape:
        if tensor.ndim == 5 and tensor.permute(4, 0, 1, 2, 3).shape == like.shape:
            tensor = tensor.permute(4, 0, 1, 2, 3).contiguous()
        else:
            return None
    return tensor.to(like.dtype)


def convert_state_dict(
    state: dict, model: VoxelDetector, framework: Framework, source: str = "<state dict>"
) -> dict:
    """A framework's state dict renamed to ``model``'s keys, in its shapes and dtypes.

    Raises:
        CheckpointError: a key is missing or extra, or a shape does not fit (all listed).
    """
    ours = model.state_dict()
    mapping = key_map(ours, framework)  # framework key -> our key
    ignored = set(IGNORED_KEYS[framework])
    missing = sorted(set(mapping) - set(state))
    extra = sorted(set(state) - set(mapping) - ignored)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing keys: {_names(missing)}")
        if extra:
            parts.append(f"unexpected keys: {_names(extra)}")
        raise CheckpointError(
            f"{source}: does not hold this {framework} architecture "
            f"({'; '.join(parts)}){_arch_hint(extra)}"
        )
    out, bad = {}, []
    for fkey, key in mapping.items():
        value = _fit(state[fkey], ours[key])
        if value is None:
            bad.append(f"{fkey} {tuple(state[fkey].shape)} (expected {tuple(ours[key].shape)})")
        out[key] = value
    if bad:
        raise CheckpointError(f"{source}: shapes do not fit the config: {_names(bad)}")
    return out


def default_config(framework: Framework, arch: Arch) -> Path:
    """The shipped config reproducing ``framework``'s ``arch``."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    path = CONFIG_DIR / DEFAULT_CONFIGS[(framework, arch)]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: the config of {framework} {arch} is not there (an installed package "
            "without the repository's configs/): pass --config"
        )
    return path


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`import_checkpoint` did: the files, the config, the counts."""

    source: Path
    out: Path
    config: Path
    tensors: int
    parameters: int
    epoch: int | None


def load_framework_model(
    framework: Framework, state: dict, cfg: ExperimentConfig, source: str = "<state dict>"
) -> VoxelDetector:
    """A detector built from ``cfg`` with a framework's state dict loaded (eval mode)."""
    model = build_detector(cfg.model)
    model.load_state_dict(convert_state_dict(state, model, framework, source))
    return model.eval()


def import_checkpoint(
    framework: Framework,
    src: str | Path,
    arch: Arch,
    out: str | Path,
    config: str | Path | None = None,
) -> ImportSummary:
    """Convert an OpenPCDet or mmdetection3d checkpoint into a perception3d checkpoint.

    Args:
        framework: ``openpcdet`` or ``mmdet3d``.
        src: the framework's ``.pth`` file.
        arch: ``pointpillar`` or ``second`` (KITTI 3-class).
        out: the perception3d ``.pt`` to write (atomically, weights only).
        config: the experiment config to build (default: :func:`default_config`).

    Raises:
        CheckpointError: unreadable file, another framework's or kind of file, a wrong
            architecture, missing / extra keys or shapes that do not fit (keys listed).
        FileNotFoundError: ``src`` or the config does not exist.
    """
    src = Path(src)
    config_path = Path(config) if config is not None else default_config(framework, arch)
    cfg = load_experiment(config_path)
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    if cfg.model.type != MODEL_TYPE[arch]:
        raise CheckpointError(
            f"{config_path}: a {cfg.model.type} config, but --arch {arch} was asked for"
        )
    obj = read_framework_file(src)
    state = framework_state_dict(obj, framework, src)
    model = load_framework_model(framework, state, cfg, str(src))
    epoch = obj.get("epoch") if isinstance(obj.get("epoch"), int) else None
    meta = obj.get("meta") if isinstance(obj.get("meta"), dict) else {}
    if epoch is None and isinstance(meta.get("epoch"), int):
        epoch = meta["epoch"]
    note = {
        "imported_from": {
            "framework": framework,
            "arch": arch,
            "file": src.name,
            "epoch": epoch,
            "version": str(obj.get("version", meta.get("mmdet3d_version", ""))),
        }
    }
    path = save_checkpoint(out, model, None, epoch or 0, cfg, extra=note)
    return ImportSummary(
        src,
        Path(path),
        config_path,
        len(state),
        sum(p.numel() for p in model.parameters()),
        epoch,
    )
