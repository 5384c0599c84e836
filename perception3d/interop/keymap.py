"""State-dict key names of OpenPCDet and mmdetection3d for our detectors' parameters.

Each function maps one of our keys (``VoxelDetector.state_dict()``) to the framework's, for
the KITTI PointPillars and SECOND of ``configs/models/openpcdet/`` and ``configs/models/mmdet3d/``
(the layouts of their layers are the same, only the names differ). Ours -> OpenPCDet /
mmdetection3d:

- ``encoder.feature_net.layers.i.{0,1}`` -> ``vfe.pfn_layers.i.{linear,norm}`` /
  ``voxel_encoder.pfn_layers.i.{linear,norm}``
- ``encoder.middle.stages.0.0`` -> ``backbone_3d.conv_input`` / ``middle_encoder.conv_input``
- ``encoder.middle.stages.0.j`` (j >= 1) -> ``backbone_3d.conv1.{j-1}`` /
  ``middle_encoder.encoder_layers.encoder_layer1.{j-1}``
- ``encoder.middle.stages.i.j`` (i >= 1) -> ``backbone_3d.conv{i+1}.j`` /
  ``middle_encoder.encoder_layers.encoder_layer{i+1}.j``
- ``encoder.middle.out_conv`` -> ``backbone_3d.conv_out`` / ``middle_encoder.conv_out``
- ``backbone.blocks.b.j`` -> ``backbone_2d.blocks.b.{j+1}`` (OpenPCDet puts a ZeroPad2d first)
  / ``backbone.blocks.b.j``
- ``backbone.upsample.b.j`` -> ``backbone_2d.deblocks.b.j`` / ``neck.deblocks.b.j``
- ``head.{cls,box,dir}`` -> ``dense_head.conv_{cls,box,dir_cls}`` /
  ``bbox_head.conv_{cls,reg,dir_cls}``
"""

from __future__ import annotations

import re
from typing import Literal

Framework = Literal["openpcdet", "mmdet3d"]
FRAMEWORKS = ("openpcdet", "mmdet3d")
# buffers a framework's state dict holds that are not weights of the network
IGNORED_KEYS = {"openpcdet": ("global_step",), "mmdet3d": ()}

_HEAD = {
    "openpcdet": {"cls": "dense_head.conv_cls", "box": "dense_head.conv_box"},
    "mmdet3d": {"cls": "bbox_head.conv_cls", "box": "bbox_head.conv_reg"},
}
for _names in _HEAD.values():
    _names["dir"] = _names["cls"].replace("conv_cls", "conv_dir_cls")
_PFN = {"openpcdet": "vfe.pfn_layers", "mmdet3d": "voxel_encoder.pfn_layers"}
_MIDDLE = {"openpcdet": "backbone_3d", "mmdet3d": "middle_encoder"}


def _middle(framework: str, stage: int, block: int) -> str:
    prefix = _MIDDLE[framework]
    if stage == 0 and block == 0:
        return f"{prefix}.conv_input"
    if stage == 0:
        stage_name, block = (1, block - 1)
    else:
        stage_name = stage + 1
    if framework == "openpcdet":
        return f"{prefix}.conv{stage_name}.{block}"
    return f"{prefix}.encoder_layers.encoder_layer{stage_name}.{block}"


def framework_key(key: str, framework: Framework) -> str:
    """The framework's name of our state-dict ``key``.

    Raises:
        ValueError: an unknown framework, or a key of a part the frameworks do not have.

    Example:
        >>> framework_key("backbone.blocks.1.3.weight", "openpcdet")
        'backbone_2d.blocks.1.4.weight'
        >>> framework_key("encoder.middle.stages.0.1.0.weight", "mmdet3d")
        'middle_encoder.encoder_layers.encoder_layer1.0.0.weight'
    """
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    if m := re.fullmatch(r"encoder\.feature_net\.layers\.(\d+)\.([01])\.(\w+)", key):
        part = "linear" if m[2] == "0" else "norm"
        return f"{_PFN[framework]}.{m[1]}.{part}.{m[3]}"
    if m := re.fullmatch(r"encoder\.middle\.stages\.(\d+)\.(\d+)\.(\d+\.\w+)", key):
        return f"{_middle(framework, int(m[1]), int(m[2]))}.{m[3]}"
    if m := re.fullmatch(r"encoder\.middle\.out_conv\.(\d+\.\w+)", key):
        return f"{_MIDDLE[framework]}.conv_out.{m[1]}"
    if m := re.fullmatch(r"backbone\.blocks\.(\d+)\.(\d+)\.(\w+)", key):
        if framework == "openpcdet":
            return f"backbone_2d.blocks.{m[1]}.{int(m[2]) + 1}.{m[3]}"
        return key
    if m := re.fullmatch(r"backbone\.upsample\.(\d+)\.(\d+)\.(\w+)", key):
        prefix = "backbone_2d" if framework == "openpcdet" else "neck"
        return f"{prefix}.deblocks.{m[1]}.{m[2]}.{m[3]}"
    if m := re.fullmatch(r"head\.(cls|box|dir)\.(\w+)", key):
        return f"{_HEAD[framework][m[1]]}.{m[2]}"
    raise ValueError(f"{key}: no {framework} counterpart (a part those frameworks do not have)")


def key_map(our_keys, framework: Framework) -> dict[str, str]:
    """``{framework key: our key}`` for all of ``our_keys``."""
    return {framework_key(k, framework): k for k in our_keys}
