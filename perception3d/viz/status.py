"""TP / FP / FN status of every box of a frame, by the KITTI evaluator's own matching rules.

The matching itself is not done here: it is ``perception3d.eval.kitti.match_frame`` (ignore
classes, difficulty cuts, DontCare, overlap thresholds), called once per class; this module
only merges the per-class answers into one status per box for colouring.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from perception3d.data.kitti import KittiObject

MatchFn = Callable[..., object]
DEFAULT_CLASSES = ("Car", "Pedestrian", "Cyclist")


def match_status(
    gt_objects: Sequence[KittiObject],
    pred_objects: Sequence[KittiObject],
    classes: Sequence[str] = DEFAULT_CLASSES,
    metric: str = "3d",
    difficulty: str = "moderate",
    match_fn: MatchFn | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Status of every ground-truth and predicted object of one frame.

    Args:
        gt_objects: the frame's label rows (DontCare included: the 2D metric uses them).
        pred_objects: result rows (``score`` set).
        classes: evaluated classes; objects of other types are "ignored".
        metric: "bbox", "bev" or "3d" (passed to ``match_fn``).
        difficulty: "easy", "moderate" or "hard" (passed to ``match_fn``).
        match_fn: the matcher, ``match_fn(gt, pred, class_name, metric=, difficulty=)`` ->
            an object with ``gt_status`` (G,) and ``pred_status`` (P,) arrays; default
            ``perception3d.eval.kitti.match_frame`` (the protocol's rules, every prediction
            given counted).

    Returns:
        gt_status: (G,) object array of "tp" / "fn" / "ignored", aligned with ``gt_objects``.
        pred_status: (P,) object array of "tp" / "fp" / "ignored", aligned with
        ``pred_objects``.

    Raises:
        ValueError: ``match_fn`` answered with arrays of the wrong length.

    Example:
        >>> from perception3d.data.kitti import read_label_file
        >>> gt = read_label_file("tests/data/kitti_samples/training/label_2/000008.txt")
        >>> gt_status, pred_status = match_status(gt, [gt[1]])  # gt[0]: 88 % truncated
        >>> gt_status[:6].tolist(), pred_status.tolist()
        (['ignored', 'tp', 'ignored', 'fn', 'fn', 'fn'], ['tp'])
    """
    if match_fn is None:
        from perception3d.eval.kitti import match_frame as match_fn
    gt_objects, pred_objects = list(gt_objects), list(pred_objects)
    gt_status = np.full(len(gt_objects), "ignored", dtype=object)
    pred_status = np.full(len(pred_objects), "ignored", dtype=object)
    for cls in classes:
        result = match_fn(gt_objects, pred_objects, cls, metric=metric, difficulty=difficulty)
        g = np.asarray(result.gt_status, dtype=object)
        p = np.asarray(result.pred_status, dtype=object)
        if g.shape != (len(gt_objects),) or p.shape != (len(pred_objects),):
            raise ValueError(
                f"match_fn for {cls!r} returned gt_status {g.shape} and pred_status {p.shape}, "
                f"expected ({len(gt_objects)},) and ({len(pred_objects)},)"
            )
        # Each box takes the answer of the call for its own class; a box of another class is
        # "ignored" in that call and must not overwrite its own class's answer.
        own_g = np.array([o.type == cls for o in gt_objects], dtype=bool)
        own_p = np.array([o.type == cls for o in pred_objects], dtype=bool)
        gt_status[own_g] = g[own_g]
        pred_status[own_p] = p[own_p]
    return gt_status, pred_status
