"""A frame as the browser viewer's data: points quantized and subsampled, boxes as corners with
their colours and labels, the camera frustum and the annotated camera image.

Everything here is plain JSON (numbers, strings, base64 byte strings), so one frame is a few
hundred kilobytes inside the HTML page (:mod:`perception3d.viz.web.page`).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from perception3d.data.kitti import Frame, KittiObject
from perception3d.geometry.boxes import corners_lidar
from perception3d.viz.frame import FrameBoxes, VizOptions, frame_boxes
from perception3d.viz.layout import objects_extent_lidar
from perception3d.viz.style import (
    BACKGROUND_RGB,
    FOV_RGB,
    HEIGHT_RANGE_M,
    RING_RGB,
    ViewBoxes,
    box_sets,
    colormap_rgb,
    legend_entries,
)

MAX_POINTS = 30_000  # per frame: 7 bytes each (int16 x, y, z in cm, uint8 reflectivity)
RANGE_MAX_M = 80.0  # the range colouring spans 0..80 m
FRUSTUM_DEPTH_M = 10.0


@dataclass(frozen=True)
class ViewerOptions:
    """What the viewer embeds.

    Attributes:
        max_points: points per frame; a larger sweep is subsampled (seeded, so the same frame
            gives the same bytes).
        image_width: the camera image is scaled to this width (pixels) and stored as JPEG.
        jpeg_quality: 1..95.
        viz: matching and score threshold (:class:`perception3d.viz.frame.VizOptions`).
    """

    max_points: int = MAX_POINTS
    image_width: int = 932
    jpeg_quality: int = 85
    viz: VizOptions = field(default_factory=VizOptions)

    def __post_init__(self) -> None:
        if self.max_points < 1:
            raise ValueError(f"max_points must be >= 1, got {self.max_points}")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError(f"jpeg_quality must be in 1..95, got {self.jpeg_quality}")


def subsample_points(points: np.ndarray, max_points: int, seed: int = 0) -> np.ndarray:
    """At most ``max_points`` rows of ``points`` (N, C), a seeded random subset kept in order.

    Example:
        >>> subsample_points(np.arange(10.0).reshape(5, 2), 3).shape
        (3, 2)
    """
    if len(points) <= max_points:
        return points
    keep = np.random.default_rng(seed).choice(len(points), max_points, replace=False)
    return points[np.sort(keep)]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def points_payload(points: np.ndarray, max_points: int) -> dict:
    """Points as base64 little-endian arrays: ``xyz`` int16 centimetres (N, 3) row-major,
    ``refl`` uint8 reflectivity x 255; ``count`` and ``total`` (before subsampling)."""
    pts = subsample_points(np.asarray(points, np.float64), max_points)
    xyz_cm = np.clip(np.round(pts[:, :3] * 100.0), -32768, 32767).astype("<i2")
    refl = pts[:, 3] if pts.shape[1] > 3 else np.zeros(len(pts))
    refl_u8 = np.round(np.clip(refl, 0.0, 1.0) * 255.0).astype(np.uint8)
    return {
        "count": len(pts),
        "total": len(points),
        "xyz": _b64(xyz_cm.tobytes()),
        "refl": _b64(refl_u8.tobytes()),
    }


def _box_dict(box_lidar: np.ndarray, kind: str, name, status, score) -> dict:
    """One box styled by :func:`perception3d.viz.style.box_sets` (the PNG views' palette)."""
    status_list = None if status is None else [status]
    if kind == "gt":
        one = ViewBoxes(box_lidar[None], gt_status=status_list)
    else:
        scores = None if score is None else [score]
        one = ViewBoxes(None, box_lidar[None], scores, pred_names=[name], pred_status=status_list)
    (styled,) = box_sets(one)
    out = {
        "kind": kind,
        "class": str(name),
        "status": "" if status is None else str(status),
        "color": [int(c) for c in styled.colors_rgb[0]],
        "label": styled.labels[0] or str(name),
        "width": styled.line_width,
        "corners": np.round(corners_lidar(box_lidar[None])[0], 3).tolist(),
    }
    if score is not None:
        out["score"] = round(float(score), 4)
    return out


def boxes_payload(boxes: FrameBoxes) -> list[dict]:
    """Each drawn box, ground truth first: kind ("gt" | "pred"), class, status ("tp", "fp",
    "fn", "ignored" or "" unmatched), colour (RGB), label, line width (px), score
    (predictions) and corners (8, 3) LiDAR frame, metres (``geometry.boxes`` corner order)."""
    out = []
    for k in range(len(boxes.gt_boxes_lidar)):
        status = None if boxes.gt_status is None else boxes.gt_status[k]
        out.append(_box_dict(boxes.gt_boxes_lidar[k], "gt", boxes.gt_names[k], status, None))
    if boxes.pred_boxes_lidar is not None:
        for k in range(len(boxes.pred_boxes_lidar)):
            status = None if boxes.pred_status is None else boxes.pred_status[k]
            score = None if boxes.pred_scores is None else boxes.pred_scores[k]
            name = boxes.pred_names[k]
            out.append(_box_dict(boxes.pred_boxes_lidar[k], "pred", name, status, score))
    return out


def frustum_lidar(frame: Frame, depth_m: float = FRUSTUM_DEPTH_M) -> list[list[float]]:
    """Camera 2's centre and its image corners at ``depth_m``: (5, 3) LiDAR frame, metres."""
    h, w = frame.image_shape or (375, 1242)
    uv = np.array([[0.0, 0.0], [w - 1.0, 0.0], [w - 1.0, h - 1.0], [0.0, h - 1.0]])
    rect = frame.calib.image_to_rect(uv, np.full(4, depth_m))
    centre = frame.calib.image_to_rect(np.array([[w / 2, h / 2]]), np.zeros(1))
    lidar = frame.calib.rect_to_lidar(np.concatenate([centre, rect]))
    return np.round(lidar, 3).tolist()


def image_payload(frame: Frame, boxes: FrameBoxes, options: ViewerOptions) -> str | None:
    """The camera view with projected points and boxes (:func:`render_image`), JPEG base64."""
    if frame.image_path is None:
        return None
    from PIL import Image

    from perception3d.viz.image import render_image

    rgb = render_image(frame.image, frame.calib, frame.points, boxes)
    im = Image.fromarray(rgb)
    if im.width > options.image_width:
        height = round(im.height * options.image_width / im.width)
        im = im.resize((options.image_width, height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=options.jpeg_quality)
    return _b64(buf.getvalue())


def frame_payload(
    frame: Frame,
    pred_objects: Sequence[KittiObject] | None = None,
    options: ViewerOptions | None = None,
) -> dict:
    """One frame's data for the viewer (JSON-ready dict)."""
    options = options or ViewerOptions()
    boxes = frame_boxes(frame, pred_objects, options.viz)
    box_list = boxes_payload(boxes)
    region = objects_extent_lidar([boxes.gt_boxes_lidar, boxes.pred_boxes_lidar])
    (x0, x1), (y0, y1) = region or ((-20.0, 70.0), (-40.0, 40.0))
    sets = box_sets(boxes)
    matched = boxes.gt_status is not None
    return {
        "id": frame.frame_id,
        "summary": boxes.summary()
        + (f" ({options.viz.metric}, {options.viz.difficulty})" if matched else ""),
        "labelled": boxes.labelled,
        "points": points_payload(frame.points, options.max_points),
        "boxes": box_list,
        "legend": [[text, list(color)] for text, color in legend_entries(sets)],
        "frustum": frustum_lidar(frame),
        "region": [[x0, x1], [y0, y1]],
        "image": image_payload(frame, boxes, options),
    }


def style_payload() -> dict:
    """The palette and colour lookup tables (256 x RGB) shared with the PNG views."""
    ramp = np.linspace(0.0, 1.0, 256)
    return {
        "background": list(BACKGROUND_RGB),
        "ring": list(RING_RGB),
        "frustum": list(FOV_RGB),
        "height_range_m": list(HEIGHT_RANGE_M),
        "range_max_m": RANGE_MAX_M,
        "lut": {
            "height": colormap_rgb(ramp, 0, 1, "viridis").reshape(-1).tolist(),
            "reflectivity": colormap_rgb(ramp, 0, 1, "inferno").reshape(-1).tolist(),
            "range": colormap_rgb(ramp, 0, 1, "turbo").reshape(-1).tolist(),
        },
    }
