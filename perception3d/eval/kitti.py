"""The official KITTI object evaluation: AP of bbox (2D), bev, 3d and aos at R11 and R40.

The protocol is the devkit's (Geiger et al., CVPR 2012, ``evaluate_object.cpp``) as its python
port in OpenPCDet / mmdetection3d (``kitti_object_eval_python/eval.py``) runs it, rule for rule
(``kitti_protocol`` holds the numbers, ``kitti_matching`` the matching, ``kitti_ap`` the
precision curves), with one deliberate difference: overlaps come from
``perception3d.geometry.iou``, exact in float64, so identical boxes overlap by exactly 1.0 (the
port's float32 rotated IoU can give less, OpenPCDet #972) and ground truth scored as
predictions gives 100 wherever there is ground truth. docs/evaluation.md tells how the
agreement with the port was checked.

- ``evaluate_kitti(gt, pred, classes)``: in memory, frame id -> ``KittiObject`` lists.
- ``evaluate_kitti_dirs(gt_dir, pred_dir, ids, classes)``: from label / result files.
- ``format_kitti_table(result)``: the familiar printed table; ``write_metrics``: the JSON.
- ``match_frame(...)``: one frame's TP / FP / FN per object, for visualization.
"""

from perception3d.eval.kitti_evaluate import FrameMatch, evaluate_kitti, match_frame, metric_keys
from perception3d.eval.kitti_io import (
    KittiEvalWarning,
    evaluate_kitti_dirs,
    format_kitti_table,
    read_predictions,
    write_metrics,
)

__all__ = [
    "FrameMatch",
    "KittiEvalWarning",
    "evaluate_kitti",
    "evaluate_kitti_dirs",
    "format_kitti_table",
    "match_frame",
    "metric_keys",
    "read_predictions",
    "write_metrics",
]
