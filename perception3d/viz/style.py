"""Colours and box styles shared by every view (BEV, camera image, 3D, panels).

One palette for the whole package, so a box has the same colour in every picture:

    ground truth        green        predictions (no matching)   azure
    TP prediction       green        FP prediction                red
    FN ground truth     amber        matched ground truth         green, thin
    ignored (either)    grey         (the evaluator's "ignored": DontCare, Van for Car,
                                      outside the difficulty, too small)

With matching, a green pair (thin GT + thick prediction) is a hit, a red box a false alarm, an
amber box a miss. Colours are RGB uint8 and drawn without anti-aliasing where the renderer
allows it, so a test (or a user's script) can find them in the picture exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass

import numpy as np

from perception3d.geometry.boxes import check_boxes

GT_RGB = (40, 230, 70)
PRED_RGB = (30, 150, 255)
TP_RGB = (40, 230, 70)
FP_RGB = (255, 45, 45)
FN_RGB = (255, 190, 0)
IGNORED_RGB = (150, 150, 150)
BACKGROUND_RGB = (18, 18, 24)
RING_RGB = (90, 90, 100)
FOV_RGB = (200, 200, 210)

# Point heights (LiDAR z, metres) spanned by the height colormap: KITTI's ground is near
# -1.73 m (the sensor height, REFERENCE.md), car roofs near 0 m.
HEIGHT_RANGE_M = (-2.5, 1.5)

STATUS_RGB = {"tp": TP_RGB, "fp": FP_RGB, "fn": FN_RGB, "ignored": IGNORED_RGB}

# Front-face diagonals (corner indices, see geometry/boxes.py): mark the heading in 3D views.
HEADING_EDGES = np.array([[0, 7], [3, 4]])


@dataclass(frozen=True, eq=False)
class BoxSet:
    """Boxes drawn with one line width, each with its own colour and text label.

    Attributes:
        boxes_lidar: (M, 7) float64 ``[x, y, z, dx, dy, dz, heading]``, LiDAR frame.
        colors_rgb: (M, 3) uint8.
        labels: M strings drawn next to the boxes ("" for none).
        line_width: pixels (BEV: points at 100 dpi, which is the same here).
        kind: "gt" or "pred" (legend and drawing order: predictions are drawn on top).
    """

    boxes_lidar: np.ndarray
    colors_rgb: np.ndarray
    labels: tuple[str, ...]
    line_width: int
    kind: str

    def __post_init__(self) -> None:
        boxes = check_boxes(self.boxes_lidar, "boxes_lidar")
        colors = np.asarray(self.colors_rgb, dtype=np.uint8).reshape(-1, 3)
        if len(colors) != len(boxes) or len(self.labels) != len(boxes):
            raise ValueError(
                f"BoxSet: {len(boxes)} boxes but {len(colors)} colours and "
                f"{len(self.labels)} labels"
            )
        object.__setattr__(self, "boxes_lidar", boxes)
        object.__setattr__(self, "colors_rgb", colors)

    def __len__(self) -> int:
        return len(self.boxes_lidar)


def _status_array(status, count: int, name: str, allowed: set[str]) -> np.ndarray | None:
    if status is None:
        return None
    arr = np.asarray(status, dtype=object).reshape(-1)
    if len(arr) != count:
        raise ValueError(f"{name} must have one entry per box ({count}), got {len(arr)}")
    bad = sorted({str(s) for s in arr} - allowed)
    if bad:
        raise ValueError(f"{name}: unknown status {bad}, expected one of {sorted(allowed)}")
    return arr


@dataclass(frozen=True, eq=False)
class ViewBoxes:
    """Ground truth and predictions to draw, LiDAR frame: the one box argument of every view
    (:func:`perception3d.viz.bev.render_bev`, ``image.render_image``, ``scene3d``).

    Attributes:
        gt_boxes_lidar: (G, 7) ground-truth boxes, LiDAR frame (None: none drawn).
        pred_boxes_lidar: (P, 7) predicted boxes, LiDAR frame (None: none drawn).
        pred_scores: (P,) confidences, printed as labels.
        gt_names, pred_names: class names; prediction labels read "Car 0.87".
        gt_status: (G,) "tp" / "fn" / "ignored" (``perception3d.eval.kitti.match_frame``).
        pred_status: (P,) "tp" / "fp" / "ignored".
    """

    gt_boxes_lidar: np.ndarray | None = None
    pred_boxes_lidar: np.ndarray | None = None
    pred_scores: Sequence[float] | None = None
    _: KW_ONLY
    gt_names: Sequence[str] | None = None
    pred_names: Sequence[str] | None = None
    gt_status: Sequence[str] | None = None
    pred_status: Sequence[str] | None = None


def box_sets(boxes: ViewBoxes | None) -> list[BoxSet]:
    """Ground truth and predictions as styled :class:`BoxSet` s (GT first, drawn below).

    Args:
        boxes: what to draw (None: nothing). Statuses colour by TP/FP/FN, unmatched boxes are
            green (GT) and azure (predictions).

    Returns:
        Up to three BoxSets: ground truth (matched GT thin), predictions.

    Raises:
        ValueError: boxes not (M, 7), a status of the wrong length or an unknown status.

    Example:
        >>> sets = box_sets(ViewBoxes(np.zeros((1, 7)), np.zeros((2, 7)), [0.9, 0.2],
        ...                           gt_status=["fn"], pred_status=["tp", "fp"]))
        >>> [s.kind for s in sets], sets[1].colors_rgb.tolist(), sets[1].labels
        (['gt', 'pred'], [[40, 230, 70], [255, 45, 45]], ('0.90', '0.20'))
    """
    out: list[BoxSet] = []
    if boxes is None:
        return out
    if boxes.gt_boxes_lidar is not None:
        gt = check_boxes(boxes.gt_boxes_lidar, "gt_boxes_lidar")
        status = _status_array(boxes.gt_status, len(gt), "gt_status", {"tp", "fn", "ignored"})
        if status is None:
            colors = np.tile(GT_RGB, (len(gt), 1))
            out.append(BoxSet(gt, colors, ("",) * len(gt), 2, "gt"))
        else:
            colors = np.array([STATUS_RGB[s] for s in status]).reshape(-1, 3)
            thin = status == "tp"  # matched GT under its (thicker) TP prediction
            labels = tuple("missed" if s == "fn" else "" for s in status)
            for mask, width in ((thin, 1), (~thin, 2)):
                if mask.any():
                    sel = np.flatnonzero(mask)
                    out.append(
                        BoxSet(gt[sel], colors[sel], tuple(labels[i] for i in sel), width, "gt")
                    )
    if boxes.pred_boxes_lidar is not None:
        pred = check_boxes(boxes.pred_boxes_lidar, "pred_boxes_lidar")
        status = _status_array(boxes.pred_status, len(pred), "pred_status", {"tp", "fp", "ignored"})
        if status is None:
            colors = np.tile(PRED_RGB, (len(pred), 1))
        else:
            colors = np.array([STATUS_RGB[s] for s in status]).reshape(-1, 3)
        labels = []
        for i in range(len(pred)):
            parts = []
            if boxes.pred_names is not None:
                parts.append(str(boxes.pred_names[i]))
            if boxes.pred_scores is not None:
                parts.append(f"{float(boxes.pred_scores[i]):.2f}")
            labels.append(" ".join(parts))
        out.append(BoxSet(pred, colors, tuple(labels), 2, "pred"))
    return out


def legend_entries(sets: Sequence[BoxSet]) -> list[tuple[str, tuple[int, int, int]]]:
    """(text, colour) pairs describing the colours present in ``sets``, in palette order."""
    present = {(s.kind, tuple(int(v) for v in c)) for s in sets for c in s.colors_rgb}
    kinds = {k for k, _ in present}
    matched = any(c in (FP_RGB, FN_RGB, IGNORED_RGB) for _, c in present) or (
        ("gt", TP_RGB) in present and ("pred", TP_RGB) in present
    )
    table = (
        [
            ("pred", TP_RGB, "TP (prediction)"),
            ("gt", TP_RGB, "matched GT"),
            ("pred", FP_RGB, "FP"),
            ("gt", FN_RGB, "FN (missed GT)"),
            ("pred", IGNORED_RGB, "ignored"),
            ("gt", IGNORED_RGB, "ignored"),
        ]
        if matched
        else [("gt", GT_RGB, "ground truth"), ("pred", PRED_RGB, "prediction")]
    )
    out, seen = [], set()
    for kind, color, text in table:
        if kind in kinds and (kind, color) in present and text not in seen:
            out.append((text, color))
            seen.add(text)
    return out


def colormap_rgb(values: np.ndarray, vmin: float, vmax: float, cmap: str = "viridis") -> np.ndarray:
    """Map values to colours through a matplotlib colormap.

    Args:
        values: (N,) real values; clipped to [vmin, vmax].
        vmin, vmax: the range mapped to the ends of the colormap.
        cmap: matplotlib colormap name.

    Returns:
        (N, 3) uint8 RGB.

    Example:
        >>> colormap_rgb(np.array([0.0, 1.0]), 0.0, 1.0, "gray").tolist()
        [[0, 0, 0], [255, 255, 255]]
    """
    import matplotlib

    v = np.asarray(values, dtype=np.float64).reshape(-1)
    span = max(float(vmax) - float(vmin), 1e-12)
    t = np.clip((v - vmin) / span, 0.0, 1.0)
    lut = (matplotlib.colormaps[cmap](np.linspace(0.0, 1.0, 256))[:, :3] * 255).round()
    return lut.astype(np.uint8)[np.round(t * 255).astype(np.int64)]
