"""Bird's-eye view of a LiDAR sweep with ground-truth and predicted boxes (matplotlib, Agg).

A small stand-in written for the demo; the visualization workstream owns ``perception3d/viz/``
and may replace it. Needs the ``viz`` extra (matplotlib).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_bytes
from perception3d.geometry.boxes import corners_lidar


def render_bev(
    points_lidar: np.ndarray,
    gt_boxes_lidar: np.ndarray | None = None,
    pred_boxes_lidar: np.ndarray | None = None,
    pred_scores: np.ndarray | None = None,
    range_m: tuple[float, float, float, float] = (0.0, -30.0, 60.0, 30.0),
    title: str = "",
    size_px: int = 800,
) -> np.ndarray:
    """Render a top view: points coloured by height, ground truth green, predictions red
    (with their score), the heading marked by a line from the centre to the front face.

    Args:
        points_lidar: (N, 3+) LiDAR-frame points, metres.
        gt_boxes_lidar: (M, 7) ``[x, y, z, dx, dy, dz, heading]`` or None.
        pred_boxes_lidar: (K, 7) or None.
        pred_scores: (K,) scores printed next to the predictions, or None.
        range_m: ``(x_min, y_min, x_max, y_max)`` shown, LiDAR frame (x up in the picture,
            y to the left, as seen from above).
        title: figure title.
        size_px: height of the image in pixels.

    Returns:
        (H, W, 3) uint8 RGB image.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_min, y_min, x_max, y_max = range_m
    aspect = (y_max - y_min) / (x_max - x_min)
    fig = plt.figure(figsize=(size_px / 100 * aspect, size_px / 100), dpi=100)
    ax = fig.add_axes((0.08, 0.05, 0.9, 0.9))
    pts = np.asarray(points_lidar)
    keep = (pts[:, 0] >= x_min) & (pts[:, 0] < x_max) & (pts[:, 1] >= y_min) & (pts[:, 1] < y_max)
    pts = pts[keep]
    # plot (y, x) with the y axis reversed: x forward is up, y (left) is left
    ax.scatter(pts[:, 1], pts[:, 0], s=0.3, c=pts[:, 2], cmap="viridis", vmin=-2.5, vmax=1.0)
    for boxes, colour in ((gt_boxes_lidar, "tab:green"), (pred_boxes_lidar, "tab:red")):
        if boxes is None or len(boxes) == 0:
            continue
        corners = corners_lidar(np.asarray(boxes, dtype=np.float64))[:, :4, :2]  # bottom face
        for k, c in enumerate(corners):
            ring = np.vstack([c, c[:1]])
            ax.plot(ring[:, 1], ring[:, 0], color=colour, lw=1.2)
            front = (c[0] + c[3]) / 2
            centre = c.mean(axis=0)
            ax.plot([centre[1], front[1]], [centre[0], front[0]], color=colour, lw=1.2)
            if colour == "tab:red" and pred_scores is not None:
                ax.text(c[0, 1], c[0, 0], f"{pred_scores[k]:.2f}", color=colour, fontsize=7)
    ax.set_xlim(y_max, y_min)
    ax.set_ylim(x_min, x_max)
    ax.set_aspect("equal")
    ax.set_xlabel("y (m, left)")
    ax.set_ylabel("x (m, forward)")
    ax.set_title(title or "BEV: ground truth green, predictions red", fontsize=9)
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return image


def save_png(image_rgb: np.ndarray, path: str | Path) -> Path:
    """Write an (H, W, 3) uint8 RGB image as PNG, atomically."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image_rgb, dtype=np.uint8)).save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())
