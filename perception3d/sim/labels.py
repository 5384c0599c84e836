"""KITTI ``label_2`` rows from a rendered frame, and the instance map that matches them.

For every scene object with visible pixels in image_2 (KITTI label semantics, readme of the
object devkit):

- **2D box** (``LabelConfig.bbox_convention``, default "kitti"): KITTI's boxes follow its 3D
  labels (on the real frames of tests/data/kitti_samples every car's bbox is its 3D box
  projected through P2 and clipped to the image, within 1 %, occluded ones included; a
  pedestrian's has the projection's top and bottom and narrower sides). So a vehicle's box is
  its projected 3D box clipped to [0, W - 1] x [0, H - 1]; a person's or cyclist's takes the
  projection's top and bottom and the left and right of its visible pixels. "visible": the
  tight box of its visible pixels in the instance map, inclusive pixel indices (x1 = leftmost
  column, x2 = rightmost, so a box touching the right border of a 1242-wide image ends at
  1241). DontCare rows always carry the visible box, and the DontCare rules read it.
- **truncated**: 1 - (area of the projected 3D box inside the image) / (its whole area), from
  the 3D box's corners projected through P2 (edges cut at a 0.1 m near plane).
- **occluded**: from the visible fraction f = visible pixels / silhouette pixels, where the
  silhouette is the object rendered alone (inside the image): f >= occlusion_fractions[0] -> 0
  (fully visible), f >= occlusion_fractions[1] -> 1 (partly), else 2 (largely). Large objects'
  silhouettes are counted on a regular pixel grid (stride s, at most ~4,000 samples) and so are
  their visible pixels, so both counts see the same pixels.
- **alpha**: ry - atan2(x, z) of the box's bottom centre (camera frame), 3D box from the
  object's LiDAR box through the calibration.
- **DontCare** (like KITTI's regions of objects too far or too small to annotate): an object
  farther than ``max_distance_m`` (LiDAR origin to box centre), or whose visible box is lower
  than ``min_height_px``, or of which less than ``min_visible_fraction`` is visible, becomes a
  DontCare row with its visible 2D box. Objects with fewer than ``min_dontcare_pixels`` visible
  pixels are left out of label_2.

Rows: labelled objects in scene order, then the DontCare rows. The instance map written to
``instance_2`` holds k >= 1 for the object on row k - 1 (DontCare rows included) and
10001 + scene index for visible objects left out of label_2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.data.kitti import KittiObject
from perception3d.data.label_boxes import kitti_bbox
from perception3d.geometry.boxes import boxes_to_image_2d
from perception3d.geometry.calib import Calibration, alpha_from_rotation_y
from perception3d.sim.config import LabelConfig
from perception3d.sim.world import Scene

__all__ = ["FrameLabels", "make_labels"]

UNLABELLED_ID_BASE = 10001
_MAX_SAMPLES = 4000


@dataclass(frozen=True)
class FrameLabels:
    """Labels of one frame.

    Attributes:
        objects: label_2 rows.
        instance_map: (H, W) uint16 ids as documented in the module docstring.
        scene_index: (R,) int64 scene object of each row.
        visible_fraction: (R,) float64 of each row (NaN where not computed).
    """

    objects: list[KittiObject]
    instance_map: np.ndarray
    scene_index: np.ndarray
    visible_fraction: np.ndarray


def _dontcare(bbox) -> KittiObject:
    return KittiObject(
        "DontCare", -1.0, -1, -10.0, bbox, (-1.0, -1.0, -1.0), (-1000.0, -1000.0, -1000.0), -10.0
    )


def _pixel_boxes(instance: np.ndarray, count: int) -> np.ndarray:
    """(count + 1, 5) [x1, y1, x2, y2, pixels] of ids 0..count (rows of absent ids: pixels 0)."""
    w = instance.shape[1]
    flat = instance.ravel()
    nz = np.flatnonzero(flat)
    order = np.argsort(flat[nz], kind="stable")
    nz = nz[order]
    ids = flat[nz]
    out = np.zeros((count + 1, 5))
    if len(ids) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    present = ids[starts]
    rows, cols = nz // w, nz % w
    out[present, 0] = np.minimum.reduceat(cols, starts)
    out[present, 1] = rows[starts]  # pixels are in raster order within an id
    out[present, 2] = np.maximum.reduceat(cols, starts)
    out[present, 3] = rows[np.r_[starts[1:], len(ids)] - 1]
    out[present, 4] = np.diff(np.r_[starts, len(ids)])
    return out


def _visible_fraction(scene: Scene, k: int, box2d, instance, rays, shape_hw) -> float:
    """Visible / silhouette pixels of object k on a grid over its projected box."""
    import open3d as o3d

    from perception3d.sim.raycast import RAYCAST_THREADS

    h, w = shape_hw
    x1, y1, x2, y2 = (
        int(np.floor(box2d[0])),
        int(np.floor(box2d[1])),
        int(np.ceil(box2d[2])),
        int(np.ceil(box2d[3])),
    )
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w - 1), min(y2, h - 1)
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    stride = max(1, int(np.ceil(np.sqrt(area / _MAX_SAMPLES))))
    vv, uu = np.mgrid[y1 : y2 + 1 : stride, x1 : x2 + 1 : stride]
    pix = (vv * w + uu).ravel()
    mesh = scene.objects[k].surface.mesh
    alone = o3d.t.geometry.RaycastingScene(nthreads=RAYCAST_THREADS)
    alone.add_triangles(
        o3d.core.Tensor(mesh.vertices.astype(np.float32)),
        o3d.core.Tensor(mesh.triangles.astype(np.uint32)),
    )
    hit = alone.test_occlusions(o3d.core.Tensor(rays[pix]), nthreads=RAYCAST_THREADS).numpy()
    silhouette = int(hit.sum())
    visible = int((instance.ravel()[pix] == k + 1).sum())
    return 1.0 if silhouette == 0 else min(visible / silhouette, 1.0)


def make_labels(
    scene: Scene, instance: np.ndarray, calib: Calibration, rays: np.ndarray, cfg: LabelConfig
) -> FrameLabels:
    """Label rows and the label-consistent instance map of a rendered frame.

    Args:
        scene: the frame's scene (objects in the LiDAR frame).
        instance: (H, W) int scene instance ids from the renderer (k + 1 for object k).
        calib: calibration of the rendered image (P2 at its size).
        rays: (H * W, 6) float32 camera rays the instance map was rendered with.
        cfg: label rules.
    """
    h, w = instance.shape
    n = len(scene.objects)
    boxes = _pixel_boxes(instance, n)
    labelled, dontcare, fractions, unlabelled = [], [], [], []
    boxes_lidar = np.array([o.box_lidar for o in scene.objects]).reshape(-1, 7)
    proj, _ = boxes_to_image_2d(boxes_lidar, calib, None)  # (M, 4) unclipped projected boxes
    boxes_cam = np.array([o.box_cam for o in scene.objects]).reshape(-1, 7)
    for k in range(n):
        x1, y1, x2, y2, pixels = boxes[k + 1]
        if pixels == 0:
            continue
        if pixels < cfg.min_dontcare_pixels:
            unlabelled.append(k)
            continue
        bbox = (float(x1), float(y1), float(x2), float(y2))
        far = float(np.linalg.norm(boxes_lidar[k, :3])) > cfg.max_distance_m
        if far or (y2 - y1) < cfg.min_height_px:
            dontcare.append((k, _dontcare(bbox)))
            continue
        frac = _visible_fraction(scene, k, proj[k], instance, rays, (h, w))
        if frac < cfg.min_visible_fraction:
            dontcare.append((k, _dontcare(bbox)))
            continue
        fu1, fv1, fu2, fv2 = proj[k]
        full = max(fu2 - fu1, 1e-9) * max(fv2 - fv1, 1e-9)
        inside = max(min(fu2, w - 1) - max(fu1, 0), 0) * max(min(fv2, h - 1) - max(fv1, 0), 0)
        truncated = float(np.clip(1.0 - inside / full, 0.0, 1.0))
        hi, lo = cfg.occlusion_fractions
        occluded = 0 if frac >= hi else (1 if frac >= lo else 2)
        if cfg.bbox_convention == "kitti":
            bbox = kitti_bbox(scene.objects[k].label, proj[k], bbox, (h, w))
        x, y, z, l, bh, bw, ry = boxes_cam[k]
        alpha = float(alpha_from_rotation_y(np.array([ry]), np.array([[x, y, z]]))[0])
        obj = KittiObject(
            scene.objects[k].label,
            truncated,
            occluded,
            alpha,
            bbox,
            (float(bh), float(bw), float(l)),
            (float(x), float(y), float(z)),
            float(ry),
        )
        labelled.append((k, obj))
        fractions.append(frac)
    rows = labelled + dontcare
    lut = np.zeros(n + 1, np.int64)
    for row, (k, _) in enumerate(rows):
        lut[k + 1] = row + 1
    for k in unlabelled:
        lut[k + 1] = UNLABELLED_ID_BASE + k
    return FrameLabels(
        objects=[o for _, o in rows],
        instance_map=lut[instance].astype(np.uint16),
        scene_index=np.array([k for k, _ in rows], np.int64),
        visible_fraction=np.array(fractions + [np.nan] * len(dontcare)),
    )
