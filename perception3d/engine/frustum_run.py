"""The ``perception3d frustum`` commands as library calls (the CLI only parses arguments).

- ``train-2d CONFIG``: :func:`perception3d.engine.detector2d_train.train_detector2d`.
- ``train-3d CONFIG``: :func:`perception3d.engine.frustum_train.train_frustum`.
- ``infer``: :func:`perception3d.engine.frustum_infer.infer_frustum`.
- ``infer-2d``: :func:`perception3d.engine.frustum_infer.infer_2d`.
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS = Path(__file__).parents[1] / "assets" / "weights"
SHIPPED_DETECTOR2D = WEIGHTS / "frustum_detector2d_synth.pt"
SHIPPED_FRUSTUM = WEIGHTS / "frustum_pointnet_synth.pt"


def _summary(history: dict) -> dict:
    val = history.get("val", {})
    return {k: v for k, v in val.items() if k != "full"}


def run_frustum_command(command: str, options: dict) -> dict:
    """Run one ``perception3d frustum`` sub-command.

    Args:
        command: ``train-2d``, ``train-3d``, ``infer`` or ``infer-2d``.
        options: the parsed arguments (``config``, ``out``, ``resume``, ``set``, ``data_root``,
            ``split``, ``det2d``, ``model3d``, ``gt_boxes``, ``images``, ``max_frames``,
            ``no_progress``).

    Returns:
        A small JSON-able summary to print.
    """
    progress = not options.get("no_progress", False)
    if command == "train-2d":
        from perception3d.engine.detector2d_train import train_detector2d
        from perception3d.engine.frustum_config import load_detector2d_experiment

        cfg = load_detector2d_experiment(options["config"], options.get("set") or [])
        out = options.get("out") or Path("outputs/frustum") / options["config"].stem
        return _summary(train_detector2d(cfg, out, options.get("resume"), progress))
    if command == "train-3d":
        from perception3d.engine.frustum_config import load_frustum_experiment
        from perception3d.engine.frustum_train import train_frustum

        cfg = load_frustum_experiment(options["config"], options.get("set") or [])
        out = options.get("out") or Path("outputs/frustum") / options["config"].stem
        return _summary(train_frustum(cfg, out, options.get("resume"), progress))
    if command in ("infer", "infer-2d"):
        from perception3d.engine.detector2d_train import load_detector2d
        from perception3d.engine.frustum_infer import infer_2d, infer_frustum

        det2d = None
        if not options.get("gt_boxes"):
            det2d = load_detector2d(options.get("det2d") or SHIPPED_DETECTOR2D)[0]
        if command == "infer-2d":
            return infer_2d(
                det2d, options["data_root"], options["split"], options["out"],
                options.get("images"), options.get("max_frames"), progress,
            )  # fmt: skip
        from perception3d.engine.frustum_train import load_frustum_model

        model3d = load_frustum_model(options.get("model3d") or SHIPPED_FRUSTUM)
        return infer_frustum(
            det2d, model3d, options["data_root"], options["split"], options["out"],
            options.get("images"), options.get("max_frames"), progress,
        )  # fmt: skip
    raise ValueError(f"unknown frustum command {command!r}")
