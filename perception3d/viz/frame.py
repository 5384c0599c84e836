"""One KITTI frame with its predictions: every view, composed into one picture
(``perception3d viz``).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from perception3d.data.kitti import Frame, KittiObject, KittiObjectDataset
from perception3d.eval.kitti_io import read_predictions as read_result_file
from perception3d.geometry.calib import boxes_cam_to_lidar
from perception3d.viz.bev import BevGrid
from perception3d.viz.canvas import save_png, text_strip, vstack
from perception3d.viz.layout import (
    FLEXIBLE_VIEWS,
    Row,
    compose_rows,
    fit_bev_grid,
    objects_extent_lidar,
    plan_rows,
)
from perception3d.viz.status import DEFAULT_CLASSES, MatchFn, match_status
from perception3d.viz.style import ViewBoxes

VIEWS = ("bev", "image", "3d", "range")
_TITLES = {"bev": "bird's-eye view", "image": "image_2", "3d": "3D", "range": "range image"}


@dataclass(frozen=True)
class VizOptions:
    """What to draw and how.

    Attributes:
        views: subset of ("bev", "image", "3d", "range"), in display order.
        classes: evaluated classes for the TP/FP/FN colouring.
        match: colour by TP/FP/FN when predictions are given (needs the evaluator).
        metric: "3d", "bev" or "bbox" overlap for matching; difficulty: "easy" | "moderate" |
            "hard" (the evaluator's rules decide what is ignored).
        score_threshold: predictions below it are neither drawn nor matched.
        color_by: BEV point colours, "height" or "intensity".
        bev_grid: the least BEV extent shown, widened to its panel's aspect ratio (its
            resolution is the panel's); None (default): zoom to the ground truth and the
            predictions (:func:`perception3d.viz.layout.objects_extent_lidar`).
        backend_3d: "auto", "open3d" or "matplotlib" (see ``perception3d.viz.scene3d``).
        width: pixel width of the composed picture.
    """

    views: tuple[str, ...] = ("bev", "image")
    classes: tuple[str, ...] = DEFAULT_CLASSES
    match: bool = True
    metric: str = "3d"
    difficulty: str = "moderate"
    score_threshold: float = 0.0
    color_by: str = "height"
    bev_grid: BevGrid | None = None
    backend_3d: str = "auto"
    width: int = 1242

    def __post_init__(self) -> None:
        bad = [v for v in self.views if v not in VIEWS]
        if bad or not self.views:
            raise ValueError(f"views must be a non-empty subset of {VIEWS}, got {self.views}")
        if self.metric not in ("3d", "bev", "bbox"):
            raise ValueError(f"metric must be '3d', 'bev' or 'bbox', got {self.metric!r}")
        if self.difficulty not in ("easy", "moderate", "hard"):
            raise ValueError(f"difficulty must be easy/moderate/hard, got {self.difficulty!r}")


@dataclass(frozen=True, eq=False)
class FrameBoxes(ViewBoxes):
    """A frame's boxes in the LiDAR frame, ready for the renderers: :class:`ViewBoxes` whose
    ``gt_boxes_lidar`` and ``gt_names`` are always set.

    Statuses are None without matching; DontCare rows have no 3D box and are left out (they
    still take part in the matching). ``labelled`` is False for a frame without a label file
    (no ground truth: predictions are drawn unmatched).
    """

    labelled: bool = field(default=True, kw_only=True)

    def summary(self) -> str:
        """e.g. "6 GT, 5 predictions: 4 TP, 1 FP, 2 FN"; "no label file, 5 predictions"."""
        text = f"{len(self.gt_boxes_lidar)} GT" if self.labelled else "no label file"
        if self.pred_boxes_lidar is not None:
            text += f", {len(self.pred_boxes_lidar)} predictions"
        if self.pred_status is not None and self.gt_status is not None:
            tp, fp = int((self.pred_status == "tp").sum()), int((self.pred_status == "fp").sum())
            fn = int((self.gt_status == "fn").sum())
            text += f": {tp} TP, {fp} FP, {fn} FN"
        return text


def read_predictions(pred_dir: str | Path, frame_id: str) -> list[KittiObject]:
    """The result rows of ``frame_id`` in ``pred_dir`` (``<id>.txt``), read and checked as the
    evaluator reads them; a missing file is a frame without detections (warned).

    Raises:
        KittiFormatError: a row without its score column, a malformed number or an inverted
            bbox (file and line named).
    """
    path = Path(pred_dir) / f"{frame_id}.txt"
    if not path.is_file():
        warnings.warn(f"{path}: no prediction file, frame drawn without detections", stacklevel=2)
        return []
    return read_result_file(path)


def _boxes_of(objects: Sequence[KittiObject], calib) -> np.ndarray:
    boxes_cam = np.array([o.box_cam for o in objects], dtype=np.float64).reshape(-1, 7)
    return boxes_cam_to_lidar(boxes_cam, calib)


def labels_absent(frame: Frame) -> bool:
    """True for a frame of a root without ground truth: a ``testing/`` frame without a label
    file, or a ``training/`` folder with no ``label_2/`` at all (raw drives). A ``training/``
    frame whose file is missing from an existing ``label_2/`` is not: reading it raises."""
    if frame.has_labels:
        return False
    expected = frame.expected_label_path
    return expected is None or not expected.parent.is_dir()


def frame_boxes(
    frame: Frame,
    pred_objects: Sequence[KittiObject] | None = None,
    options: VizOptions | None = None,
    match_fn: MatchFn | None = None,
) -> FrameBoxes:
    """Ground truth and predictions of a frame in the LiDAR frame, with TP/FP/FN statuses when
    predictions are given and ``options.match`` (by ``match_fn``, default the KITTI evaluator's
    ``match_frame``; see :func:`perception3d.viz.status.match_status`)."""
    options = options or VizOptions()
    labelled = not labels_absent(frame)
    gt_all = list(frame.objects) if labelled else []  # a missing file in label_2/ raises
    cared = np.array([not o.is_dontcare for o in gt_all], dtype=bool)
    gt_boxes = _boxes_of([o for o in gt_all if not o.is_dontcare], frame.calib)
    gt_names = np.array([o.type for o in gt_all if not o.is_dontcare], dtype=object)
    if pred_objects is None:
        return FrameBoxes(gt_boxes, gt_names=gt_names, labelled=labelled)
    preds = [o for o in pred_objects if o.score is None or o.score >= options.score_threshold]
    scores = np.array([np.nan if o.score is None else o.score for o in preds])
    boxes = FrameBoxes(
        gt_boxes,
        _boxes_of(preds, frame.calib),
        scores if np.isfinite(scores).all() else None,
        gt_names=gt_names,
        pred_names=np.array([o.type for o in preds], dtype=object),
        labelled=labelled,
    )
    if not options.match or not labelled:
        return boxes
    gt_status, pred_status = match_status(
        gt_all, preds, options.classes, options.metric, options.difficulty, match_fn
    )
    return replace(boxes, gt_status=gt_status[cared], pred_status=pred_status)


DEFAULT_PANEL_HW = (600, 600)  # a flexible view's size when none is planned


def bev_grid_of(boxes: FrameBoxes, options: VizOptions, height_px: int, width_px: int) -> BevGrid:
    """The BEV grid of a frame's panel: ``options.bev_grid``'s extent, or else the region of
    its boxes (ground truth and predictions, with the ego car), fitted to the panel size."""
    if options.bev_grid is not None:
        region = (options.bev_grid.x_range_m, options.bev_grid.y_range_m)
    else:
        region = objects_extent_lidar([boxes.gt_boxes_lidar, boxes.pred_boxes_lidar])
    return fit_bev_grid(height_px, width_px, region)


def _view_camera(grid: BevGrid, height_px: int, width_px: int):
    """The 3D view's camera: behind and above the BEV region's centre, looking at it."""
    from perception3d.viz.scene3d import ViewCamera

    (x0, x1), (y0, y1) = grid.x_range_m, grid.y_range_m
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    scale = float(np.clip(min(x1 - x0, y1 - y0) / 70.0, 0.4, 1.5))
    target = (cx, cy, -1.5)
    eye = (cx - 32.0 * scale, cy, -1.5 + 11.5 * scale)  # ViewCamera's default pose, scaled
    return ViewCamera(eye=eye, target=target, width=width_px, height=height_px)


def render_frame_views(
    frame: Frame,
    boxes: FrameBoxes,
    options: VizOptions | None = None,
    sizes: dict[str, tuple[int, int]] | None = None,
) -> dict[str, np.ndarray]:
    """Each requested view of a frame as (H, W, 3) uint8, keyed by view name; a view the frame
    cannot give (no image_2 for "image") is left out with a warning.

    Args:
        sizes: view -> (height, width) pixels for the views rendered at any size ("bev",
            "3d"; default 600 x 600); the image and range views keep their own size.
    """
    options = options or VizOptions()
    sizes = sizes or {}
    out: dict[str, np.ndarray] = {}
    for view in options.views:
        if view in FLEXIBLE_VIEWS:
            height_px, width_px = sizes.get(view, DEFAULT_PANEL_HW)
            grid = bev_grid_of(boxes, options, height_px, width_px)
        if view == "bev":
            from perception3d.viz.bev import render_bev

            out[view] = render_bev(
                frame.points,
                boxes,
                calib=frame.calib,
                image_width=(frame.image_shape or (375, 1242))[1],
                grid=grid,
                color_by=options.color_by,
            )
        elif view == "image":
            if frame.image_path is None:
                warnings.warn(
                    f"frame {frame.frame_id}: no image_2, 'image' view skipped", stacklevel=2
                )
                continue
            from perception3d.viz.image import render_image

            out[view] = render_image(frame.image, frame.calib, frame.points, boxes)
        elif view == "3d":
            from perception3d.viz.scene3d import render_scene3d

            out[view] = render_scene3d(
                frame.points,
                boxes,
                camera=_view_camera(grid, height_px, width_px),
                backend=options.backend_3d,
            )
        elif view == "range":
            from perception3d.geometry.beams import estimate_beam_table
            from perception3d.geometry.spherical import RangeImage
            from perception3d.viz.range import occupied_columns, render_range_image

            table = estimate_beam_table(frame.points)
            image = RangeImage.from_points(frame.points, table.elevations_rad, rows=table.ring)
            start, stop = occupied_columns(image)
            narrow = stop - start < image.width // 2  # a camera-FOV crop: panels in a row
            out[view] = render_range_image(image, columns=(start, stop), side_by_side=narrow)
    return out


def render_frame(
    frame: Frame,
    pred_objects: Sequence[KittiObject] | None = None,
    options: VizOptions | None = None,
    match_fn: MatchFn | None = None,
) -> np.ndarray:
    """All requested views of a frame composed into one titled picture, (H, W, 3) uint8,
    ``options.width`` wide: the fixed-size views (image, range) are rendered first, then the
    rows are planned (:func:`perception3d.viz.layout.plan_rows`) and the BEV and 3D views
    rendered at their panels' sizes, so every row spans the width."""
    return render_frame_layout(frame, pred_objects, options, match_fn)[0]


def render_frame_layout(
    frame: Frame,
    pred_objects: Sequence[KittiObject] | None = None,
    options: VizOptions | None = None,
    match_fn: MatchFn | None = None,
) -> tuple[np.ndarray, list[Row]]:
    """:func:`render_frame`'s picture and its rows (below a 26 px header; each row's panels
    under 22 px titles, rows 4 px apart)."""
    options = options or VizOptions()
    boxes = frame_boxes(frame, pred_objects, options, match_fn)
    fixed = [v for v in options.views if v not in FLEXIBLE_VIEWS]
    views = render_frame_views(frame, boxes, replace(options, views=tuple(fixed))) if fixed else {}
    present = [v for v in options.views if v in FLEXIBLE_VIEWS or v in views]
    if not present:
        raise ValueError(f"frame {frame.frame_id}: none of the views {options.views} available")
    aspects = {k: v.shape[1] / v.shape[0] for k, v in views.items()}
    rows = plan_rows(present, aspects, options.width)
    sizes = {v: hw for row in rows for v, hw in zip(row.views, row.sizes)}
    flexible = tuple(v for v in present if v in FLEXIBLE_VIEWS)
    if flexible:
        views.update(render_frame_views(frame, boxes, replace(options, views=flexible), sizes))
    body = compose_rows(rows, {v: (_TITLES[v], views[v]) for v in present})
    matched = f" ({options.metric}, {options.difficulty})" if boxes.gt_status is not None else ""
    header = text_strip(
        f"frame {frame.frame_id}: {boxes.summary()}{matched}", options.width, 26, 16
    )
    return vstack([header, body], gap=0), rows


def _show(rgb: np.ndarray, frame: Frame, boxes: FrameBoxes, options: VizOptions) -> None:
    from perception3d.viz.scene3d import display_available, show_scene3d

    if not display_available():
        print("perception3d viz: no display (DISPLAY unset); --show skipped", file=sys.stderr)
        return
    import matplotlib.pyplot as plt

    plt.figure(f"frame {frame.frame_id}")
    plt.imshow(rgb)
    plt.axis("off")
    plt.show()
    if "3d" in options.views:
        show_scene3d(frame.points, boxes)


def visualize(
    data_root: str | Path,
    frame_id: str,
    out: str | Path,
    pred_dir: str | Path | None = None,
    options: VizOptions | None = None,
    show: bool = False,
) -> Path:
    """Render one frame of a KITTI-layout root (``perception3d viz``) and write a PNG.

    Args:
        data_root: folder holding ``training/``.
        frame_id: e.g. "000008" or "8".
        out: the PNG to write.
        pred_dir: folder of KITTI result files (``<id>.txt`` with scores), optional.
        options: views and matching (:class:`VizOptions`).
        show: also open windows (the picture, and Open3D's interactive 3D view) when a display
            exists.

    Returns:
        The written path.
    """
    options = options or VizOptions()
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out {out}: a single frame is written as .png")
    frame = KittiObjectDataset(data_root).frame(frame_id)
    preds = read_predictions(pred_dir, frame.frame_id) if pred_dir is not None else None
    rgb = render_frame(frame, preds, options)
    save_png(out, rgb)
    if show:
        _show(rgb, frame, frame_boxes(frame, preds, options), options)
    return out
