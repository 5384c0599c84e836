"""One-off conversion of weight files of the formats before the one checkpoint format
(:mod:`perception3d.checkpoint`, version 2): ``python tools/convert_checkpoint.py OLD NEW``.

The old formats: the detector checkpoint (``{model, optimizer, scheduler, epoch, config,
version: 1, extra}``), the Frustum PointNet checkpoints (the same with ``kind``), the
segmentation net file (``{arch, classes, state_dict, info}``) and ``train-seg`` checkpoint,
ObjectNet3D's ``model.pt`` (``{state_dict, config, classes}``) and the ISP stage file
(``{info: {stage, width, options}, state_dict}``). The tensors are copied unchanged; the
config is rewritten into the experiment schema (task, model, data, train) and checked by
loading it; sections an old file did not record (an ISP stage's training, a segmentation
net's data) take their defaults, which ``extra["converted_from"]`` says.
"""

from __future__ import annotations

from pathlib import Path

from perception3d.checkpoint import (
    CheckpointError,
    describe_legacy,
    make_checkpoint,
    read_checkpoint_file,
    write_checkpoint,
)
from perception3d.config import to_dict
from perception3d.engine.config import experiment_from_dict

_TWO_STAGE_TRAIN = {"pct_start": 0.2, "div_factor": 25.0, "final_div_factor": 1e4,
                    "grad_clip_norm": 10.0}  # fmt: skip
_DATA_KEYS = ("root", "train_split", "val_split", "max_train_frames", "max_val_frames")


def convert_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """Convert an old-format weight file ``src`` into ``dst`` (the one format).

    Raises:
        CheckpointError: ``src`` is not one of the old formats (or already converted).
    """
    src = Path(src)
    old = read_checkpoint_file(src)
    what = describe_legacy(old)
    if what is None:
        raise CheckpointError(f"{src}: not a weight file of an old perception3d format")
    kind, config, progress = _convert(old)
    config = to_dict(experiment_from_dict(config, source=f"{src} (converted)"))
    trained = "optimizer" in old and bool(old["optimizer"]) and kind != "segnet"
    extra = {**old.get("extra", {}), **old.get("info", {})} if isinstance(old, dict) else {}
    extra["converted_from"] = {"file": src.name, "format": what,
                               "defaults": _defaulted(old)}  # fmt: skip
    ckpt = make_checkpoint(
        kind, old.get("model", old.get("state_dict")), config, progress,
        old["optimizer"] if trained else None, old.get("scheduler") if trained else None, extra,
    )  # fmt: skip
    return write_checkpoint(dst, ckpt)


def _convert(old: dict) -> tuple[str, dict, dict]:
    """(kind, new-schema config, progress) of an old file."""
    if "arch" not in old and "info" in old:
        return _isp(old["info"])
    if "arch" in old:
        arch = old["arch"]
        model = {"width": int(arch["width"]), "input_scale": float(arch["input_scale"])}
        return "segnet", {"task": "segnet", "model": model}, {"step": int(old.get("step", 0))}
    if "classes" in old:
        return _objectnet3d(old["config"], list(old["classes"]))
    progress = {"epoch": int(old["epoch"]),
                "step": int((old.get("scheduler") or {}).get("last_epoch", 0))}  # fmt: skip
    kind = old.get("kind", "detector")
    if kind == "detector":
        return kind, _detector(old["config"]), progress
    return kind, _two_stage(kind, old["config"]), progress


def _detector(cfg: dict) -> dict:
    train = dict(cfg["train"])
    data = dict(cfg["data"])
    for key in ("max_train_frames", "max_val_frames"):
        data[key] = train.pop(key, None)
    return {**cfg, "task": "detector", "data": data, "train": train}


def _two_stage(kind: str, cfg: dict) -> dict:
    old = dict(cfg["train"])
    data = {"root": old.pop("data_root")}
    for key in _DATA_KEYS[1:]:
        data[key] = old.pop(key, None) or ("train" if key == "train_split" else None)
    data["val_split"] = data["val_split"] or "val"
    own = ("crop_width", "gaussian_alpha") if kind == "detector2d" else (
        "jitter_shift", "jitter_scale", "min_object_points")  # fmt: skip
    data.update({key: old.pop(key) for key in own if key in old})
    model = dict(cfg["model"])
    if "corner_loss_weight" in old:
        model["corner_loss_weight"] = old.pop("corner_loss_weight")
    train = {**_TWO_STAGE_TRAIN, **old, "validate_every": old.get("epochs", 1)}
    return {"task": kind, "model": model, "data": data, "train": train}


def _objectnet3d(flat: dict, classes: list[str]) -> tuple[str, dict, dict]:
    task = "viewpoint" if "num_bins" in flat else "recognition"
    if task == "viewpoint":
        model_keys = ("num_bins", "widths", "label_sigma_bins")
        data_keys = ("crop_size", "context", "precrop_size", "precrop_context", "flip",
                     "shift_jitter", "scale_jitter", "train_split", "val_split")  # fmt: skip
        recipe = {"optimizer": "adamw", "schedule": "onecycle", "pct_start": 0.3,
                  "div_factor": 25.0, "final_div_factor": 1e4}  # fmt: skip
    else:
        model_keys = ("input_transform", "widths")
        data_keys = ("num_points", "clouds_per_mesh", "test_clouds_per_mesh", "test_fraction",
                     "train_rotation", "jitter_std", "scale_range")  # fmt: skip
        recipe = {"optimizer": "adam", "schedule": "cosine"}
    train = {key: flat[key] for key in ("epochs", "batch_size", "weight_decay", "seed", "device")}
    train.update(recipe, lr_max=flat["lr"], grad_clip_norm=None, validate_every=flat["epochs"],
                 num_threads=flat.get("num_threads") or None)  # fmt: skip
    model = {key: flat[key] for key in model_keys if key in flat}
    data = {key: flat[key] for key in data_keys if key in flat}
    config = {"task": task, "model": {**model, "classes": classes}, "data": data, "train": train}
    return task, config, {"epoch": int(flat["epochs"])}


def _isp(info: dict) -> tuple[str, dict, dict]:
    options = info.get("options")
    if options is None:  # files saved before the options (dehaze: only the head was stored)
        options = {"head": info.get("head", "transmission")} if info["stage"] == "dehaze" else {}
    model = {"stage": info["stage"], "width": int(info["width"]), **options}
    return f"isp_{info['stage']}", {"task": "isp", "model": model}, {}


def _defaulted(old: dict) -> list[str]:
    """The config sections an old file did not record (they take their defaults)."""
    if "arch" in old:
        return ["data", "train"]
    if "info" in old:
        return ["data", "train", "loss"]
    return []
