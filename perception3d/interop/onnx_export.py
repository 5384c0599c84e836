"""PointPillars to ONNX, as the field deploys it: two graphs with the scatter between them.

- ``OUT.pfe.onnx``, the pillar feature net: ``points`` (V, P, C) float32, ``num_points`` (V,)
  int32, ``coords`` (V, 4) int32 ``[batch, z, y, x]`` -> ``pillar_features`` (V, C_bev); V is
  dynamic.
- ``OUT.rpn.onnx``, the BEV backbone, neck and anchor head: ``bev`` (1, C_bev, H, W) ->
  ``cls_logits`` (1, A, classes), ``box_deltas`` (1, A, 7), ``dir_logits`` (1, A, 2), anchors in
  the order of :func:`perception3d.models.anchors.make_anchors`.
- ``OUT.json``: the experiment config, the checkpoint it came from, the graphs' input and output
  names, and the largest difference from torch measured at export.

The scatter of pillar features onto the BEV canvas and the decoding + NMS after the head run
outside ONNX (:mod:`perception3d.interop.onnx_runtime`), as in the field's deployments
(Autoware's and NVIDIA's PointPillars split the network the same way): a scatter with a
data-dependent index is slow or unsupported in many runtimes.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from perception3d.atomic import atomic_write, atomic_write_text
from perception3d.config import to_dict
from perception3d.engine.checkpoint import load_checkpoint
from perception3d.engine.config import load_experiment
from perception3d.errors import Perception3DError
from perception3d.lidar.voxelize import voxelize
from perception3d.models.detector import VoxelDetector, build_detector

PFE_INPUTS = ("points", "num_points", "coords")
PFE_OUTPUTS = ("pillar_features",)
RPN_INPUTS = ("bev",)
RPN_OUTPUTS = ("cls_logits", "box_deltas", "dir_logits")
ONNX_ATOL = 1e-4  # largest |onnxruntime - torch| accepted at export


class ExportError(Perception3DError, ValueError):
    """The model cannot be exported, or the exported graphs disagree with torch."""


class _Rpn(nn.Module):
    """Backbone + neck + head as one module with tensor outputs (the export's second graph)."""

    def __init__(self, model: VoxelDetector) -> None:
        super().__init__()
        self.backbone, self.head = model.backbone, model.head

    def forward(self, bev: torch.Tensor):
        return tuple(self.head(self.backbone(bev)))


def output_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """``OUT.pfe.onnx``, ``OUT.rpn.onnx``, ``OUT.json`` of ``--out OUT.onnx``."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix == ".onnx" else out
    return (
        stem.with_name(stem.name + ".pfe.onnx"),
        stem.with_name(stem.name + ".rpn.onnx"),
        stem.with_name(stem.name + ".json"),
    )


def example_inputs(model: VoxelDetector, cfg, num_voxels: int = 2000, seed: int = 0):
    """A voxelized random cloud inside the model's range: (points, num_points, coords) and the
    BEV map the encoder makes of it (inputs to trace and to check the export with)."""
    rng = np.random.default_rng(seed)
    r = np.asarray(cfg.voxel.point_range_m)
    xyz = rng.uniform(r[:3], r[3:], (num_voxels * 4, 3))
    extra = rng.uniform(0, 1, (len(xyz), cfg.point_features - 3))
    v = voxelize(np.concatenate([xyz, extra], 1).astype(np.float32), cfg.voxel, num_voxels)
    coords = np.concatenate([np.zeros((len(v.coords_zyx), 1), np.int32), v.coords_zyx], 1)
    inputs = (torch.from_numpy(v.points), torch.from_numpy(v.num_points), torch.from_numpy(coords))
    with torch.no_grad():
        bev = model.encoder(*inputs, 1)
    return inputs, bev


def _export(module, args, path: Path, inputs, outputs, dynamic_axes, opset: int) -> None:
    def write(f):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
            torch.onnx.export(
                module,
                args,
                f,
                input_names=list(inputs),
                output_names=list(outputs),
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                dynamo=False,
            )

    atomic_write(path, write)


def check_against_torch(model: VoxelDetector, cfg, pfe: Path, rpn: Path) -> float:
    """Largest |onnxruntime - torch| over both graphs' outputs on :func:`example_inputs`
    (CPU execution provider). Needs onnxruntime."""
    from perception3d.interop.onnx_runtime import session

    inputs, bev = example_inputs(model, cfg, seed=1)
    with torch.no_grad():
        want = [model.encoder.feature_net(*inputs), *model.head(model.backbone(bev))]
    got = session(pfe).run(None, dict(zip(PFE_INPUTS, (t.numpy() for t in inputs))))
    got += session(rpn).run(None, {"bev": bev.numpy()})
    return max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))


def export_pointpillars_onnx(
    config: str | Path, checkpoint: str | Path, out: str | Path, opset: int = 17
) -> list[Path]:
    """Export a PointPillars-family checkpoint to ``OUT.pfe.onnx`` + ``OUT.rpn.onnx`` +
    ``OUT.json``; when onnxruntime is installed both graphs are run and must match torch
    within 1e-4.

    Raises:
        ExportError: not a PointPillars config, or onnxruntime disagrees with torch.
        CheckpointError: the checkpoint is not of this config's model.
    """
    cfg = load_experiment(config)
    if cfg.model.type != "pointpillars":
        raise ExportError(
            f"{config}: export-onnx covers the PointPillars family (type pointpillars), got "
            f"{cfg.model.type!r} (SECOND's sparse convolutions have no ONNX operator)"
        )
    ckpt = load_checkpoint(checkpoint, expected=cfg)
    model = build_detector(cfg.model)
    model.load_state_dict(ckpt["model"])
    model.eval()
    pfe, rpn, meta = output_paths(out)
    inputs, bev = example_inputs(model, cfg.model)
    v_axes = {name: {0: "num_voxels"} for name in (*PFE_INPUTS, *PFE_OUTPUTS)}
    _export(model.encoder.feature_net, inputs, pfe, PFE_INPUTS, PFE_OUTPUTS, v_axes, opset)
    # the wrapper must be in eval mode: the exporter restores the mode it found, and a
    # training-mode wrapper would leave the model's batch norms in training mode
    _export(_Rpn(model).eval(), (bev,), rpn, RPN_INPUTS, RPN_OUTPUTS, None, opset)
    model.eval()
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        err = None
    else:
        err = check_against_torch(model, cfg.model, pfe, rpn)
        if not err <= ONNX_ATOL:
            raise ExportError(f"{pfe}, {rpn}: onnxruntime differs from torch by {err:.3g}")
    info = {
        "config": to_dict(cfg),
        "checkpoint": str(checkpoint),
        "pfe": {"file": pfe.name, "inputs": PFE_INPUTS, "outputs": PFE_OUTPUTS},
        "rpn": {"file": rpn.name, "inputs": RPN_INPUTS, "outputs": RPN_OUTPUTS},
        "bev_shape": list(bev.shape),
        "opset": opset,
        "max_abs_diff_vs_torch": err,
    }
    atomic_write_text(meta, json.dumps(info, indent=1) + "\n")
    return [pfe, rpn, meta]
