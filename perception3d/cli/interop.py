"""``perception3d import-checkpoint / export-onnx``: the field's checkpoints in, ONNX out."""

from __future__ import annotations

import argparse
from pathlib import Path

from perception3d.cli.common import add_command, add_options, print_outputs

IMPORT_EXAMPLE = """\
perception3d import-checkpoint openpcdet pointpillar_7728.pth --arch pointpillar \\
    --out pointpillar_openpcdet.pt
perception3d infer configs/models/openpcdet/pointpillar.yaml pointpillar_openpcdet.pt \\
    --data-root data/kitti --split val --out preds/
"""
EXPORT_EXAMPLE = """\
perception3d export-onnx configs/models/openpcdet/pointpillar.yaml pointpillar_openpcdet.pt \\
    --out pointpillar.onnx
(writes pointpillar.pfe.onnx, pointpillar.rpn.onnx and pointpillar.json)
"""


IMPORT_CHECKPOINT_DESCRIPTION = """\
Convert a KITTI 3-class PointPillars or SECOND checkpoint of OpenPCDet (model_state) or
mmdetection3d (state_dict) into a perception3d checkpoint for the config that reproduces
that architecture (configs/models/openpcdet|mmdet3d/).
"""
EXPORT_ONNX_DESCRIPTION = """\
Export a PointPillars-family detector as the field deploys it: the pillar feature net
(OUT.pfe.onnx) and the BEV backbone with its head (OUT.rpn.onnx); the scatter between them
and the decoding after them run outside ONNX (perception3d.interop.onnx_runtime). Both
graphs are checked against torch with onnxruntime when it is installed.
"""


def _cmd_import(args: argparse.Namespace) -> int:
    from perception3d.interop.checkpoints import import_checkpoint

    s = import_checkpoint(args.framework, args.source, args.arch, args.out, args.config)
    model = f"{args.framework} {args.arch}, config {s.config}"
    counts = f"{s.tensors} tensors, {s.parameters:,} parameters"
    print_outputs("import-checkpoint", s.out, f"{counts}, {model}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from perception3d.interop.onnx_export import export_pointpillars_onnx

    files = export_pointpillars_onnx(args.config, args.checkpoint, args.out, args.opset)
    print_outputs("export-onnx", files[0].parent, ", ".join(p.name for p in files))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    p = add_command(
        sub, "import-checkpoint",
        "convert an OpenPCDet or mmdetection3d KITTI checkpoint to perception3d", IMPORT_EXAMPLE,
        description=IMPORT_CHECKPOINT_DESCRIPTION,
    )  # fmt: skip
    p.add_argument("framework", choices=["openpcdet", "mmdet3d"], help="where SOURCE comes from")
    p.add_argument("source", type=Path, help="the framework's checkpoint (.pth)")
    p.add_argument("--arch", required=True, choices=["pointpillar", "second"], help="its model")
    add_options(
        p, "--out", "--config", required=("--out",), out="perception3d checkpoint to write",
        config="config to build (default: the shipped one)",
    )  # fmt: skip
    p.set_defaults(func=_cmd_import)

    p = add_command(
        sub, "export-onnx",
        "export a PointPillars detector to ONNX (pillar encoder + BEV network)",
        EXPORT_EXAMPLE, description=EXPORT_ONNX_DESCRIPTION,
    )  # fmt: skip
    p.add_argument("config", type=Path, help="the detector's config (type pointpillars)")
    p.add_argument("checkpoint", type=Path, help="its perception3d checkpoint")
    add_options(p, "--out", required=("--out",), out="OUT.onnx: the files' stem")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.set_defaults(func=_cmd_export)
