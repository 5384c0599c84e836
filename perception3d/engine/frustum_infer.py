"""Inference of the frustum pipeline over a split: 2D detections only (:func:`infer_2d`) or
2D detections lifted to 3D boxes (:func:`infer_frustum`), written as KITTI result files that
``perception3d eval kitti`` reads; :func:`evaluate_results` runs that evaluation in process.

``images_dir`` replaces ``<root>/training/image_2`` as the 2D detector's input (an ISP's
output folder of ``<frame_id>.png``); LiDAR, calibration and labels stay the dataset's.
``tiles`` (a :class:`~perception3d.engine.horizon_tiles.HorizonTiles`) adds the detections of
horizon windows zoomed x2 to the whole image's (far objects; docs/frustum.md, "Horizon tiles").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import yaml
from tqdm import tqdm

from perception3d.data.frustums import (
    boxes_frustum_to_cam,
    frustum_angle,
    frustum_mask_uv,
    rotate_y,
    sample_points,
)
from perception3d.data.kitti import KittiObject, KittiObjectDataset, read_image, write_result_file
from perception3d.engine.checkpoint import load_checkpoint
from perception3d.engine.frustum_config import Detector2DExperiment, FrustumExperiment
from perception3d.engine.horizon_tiles import HorizonTiles, detect_with_tiles
from perception3d.engine.result_dir import claim_result_dir
from perception3d.errors import ConfigError, MissingFrameError
from perception3d.geometry.calib import Calibration, alpha_from_rotation_y
from perception3d.models.detector2d import CenterNet2D, Detections2D, detect_2d
from perception3d.models.frustum import FrustumPointNet
from perception3d.models.frustum_coder import decode_boxes

EVAL_CLASSES = ("Car", "Pedestrian", "Cyclist")
WEIGHTS = Path(__file__).parents[1] / "assets" / "weights"
# the 2D detector chosen by the rule fixed before training (synthetic val in KITTI's box
# convention; docs/frustum.md, "Narrow boxes")
SHIPPED_DETECTOR2D = WEIGHTS / "frustum_detector2d_dense.pt"
SHIPPED_FRUSTUM = WEIGHTS / "frustum_pointnet_synth.pt"
# horizon windows in `frustum infer` / `infer-2d` unless asked otherwise: decided by the rule
# written before measuring (docs/frustum.md, "Horizon tiles")
DEFAULT_HORIZON_TILES = True


def build_detector2d(cfg: Detector2DExperiment) -> CenterNet2D:
    """A randomly initialised 2D detector of ``cfg.model``."""
    m = cfg.model
    return CenterNet2D(
        m.classes, m.channels, m.neck_channels, m.head_channels, m.input_hw,
        m.score_threshold, m.max_detections, m.backbone, m.freeze_backbone,
    )  # fmt: skip


def build_frustum_model(cfg: FrustumExperiment) -> FrustumPointNet:
    """A randomly initialised 3D frustum stage of ``cfg.model``."""
    m = cfg.model
    return FrustumPointNet(
        m.classes, m.size_templates_m, m.num_points, m.min_frustum_points, 4,
        m.num_heading_bins, m.num_object_points, m.seg_local_channels, m.seg_global_channels,
        m.seg_head_channels, m.center_channels, m.center_head_channels, m.box_channels,
        m.box_head_channels,
    )  # fmt: skip


def yaml_task(path: str | Path) -> object:
    """The top-level ``task:`` of a YAML file (None when absent).

    Raises:
        ConfigError: the file cannot be read or is not YAML.
    """
    try:
        head = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from exc
    return head.get("task") if isinstance(head, dict) else None


def load_detector2d(path: str | Path) -> tuple[CenterNet2D, Detector2DExperiment | None]:
    """The 2D detector of a ``detector2d`` checkpoint, in eval mode, and its config; a
    ``.yaml`` file gives the detector it describes and None: ``task: detector2d_combo``, a
    :class:`~perception3d.engine.detector2d_combo.ComboDetector2D` (checkpoint + pretrained
    person detector); ``task: detector2d_nanodet``, a
    :class:`~perception3d.engine.detector2d_nanodet.NanoDetKitti` (pretrained COCO detector)."""
    if Path(path).suffix in (".yaml", ".yml"):
        if yaml_task(path) == "detector2d_nanodet":
            from perception3d.engine.detector2d_nanodet import load_nanodet_detector2d

            return load_nanodet_detector2d(path), None
        from perception3d.engine.detector2d_combo import load_combo_detector2d

        return load_combo_detector2d(path), None
    ckpt = load_checkpoint(path, kind="detector2d")
    model = build_detector2d(ckpt["experiment"])
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt["experiment"]


def load_frustum_model(path: str | Path) -> FrustumPointNet:
    """The 3D stage of a ``frustum`` checkpoint, in eval mode."""
    ckpt = load_checkpoint(path, kind="frustum")
    model = build_frustum_model(ckpt["experiment"])
    model.load_state_dict(ckpt["model"])
    return model.eval()


def _frames(data_root, split: str, max_frames: int | None) -> KittiObjectDataset:
    return KittiObjectDataset(data_root, split, max_frames=max_frames)


def frame_image(frame, images_dir: str | Path | None) -> np.ndarray:
    """(3, H, W) float32 sRGB of a frame: its image_2, or ``images_dir/<id>.png``."""
    if images_dir is None:
        if frame.image is None:
            raise MissingFrameError(f"frame {frame.frame_id}: no image_2")
        return frame.image
    path = Path(images_dir) / f"{frame.frame_id}.png"
    if not path.is_file():
        raise MissingFrameError(f"frame {frame.frame_id}: {path} not found (--images)")
    return read_image(path)


def run_detector_2d(model2d, image_srgb: np.ndarray) -> Detections2D:
    """2D detections of one (3, H, W) sRGB image by a :class:`CenterNet2D` or by any detector
    with a ``detect(image)`` method (:mod:`perception3d.engine.detector2d_combo`)."""
    detect = getattr(model2d, "detect", None)
    return detect(image_srgb) if detect is not None else detect_2d(model2d, image_srgb)


def detect_frame_2d(model2d, image_srgb: np.ndarray, calib: Calibration,
                    tiles: HorizonTiles | None = None) -> Detections2D:  # fmt: skip
    """2D detections of one frame: the whole image, merged with those of the horizon windows
    ``tiles`` places from ``calib.P2`` (None: the whole image only)."""
    if tiles is None:
        return run_detector_2d(model2d, image_srgb)
    return detect_with_tiles(lambda im: run_detector_2d(model2d, im), image_srgb, calib.P2, tiles)


def detections_2d_to_objects(det: Detections2D, classes) -> list[KittiObject]:
    """2D-only result rows (KITTI's convention for 2D results: dimensions -1, location
    -1000, rotation -10), for the ``bbox`` metric."""
    return [
        KittiObject(
            type=classes[int(label)],
            truncated=0.0,
            occluded=0,
            alpha=-10.0,
            bbox=tuple(float(v) for v in box),
            dimensions=(-1.0, -1.0, -1.0),
            location=(-1000.0, -1000.0, -1000.0),
            rotation_y=-10.0,
            score=float(score),
        )
        for box, score, label in zip(det.boxes_img, det.scores, det.labels)
    ]


def infer_2d(model: CenterNet2D, data_root: str | Path, split: str, out_dir: str | Path,
             *args, **kwargs) -> dict:  # fmt: skip
    """Write 2D-only result files ``out_dir/<id>.txt`` (the ``bbox`` metric): the 2D
    detections of ``model``; the other arguments as :func:`infer_frustum`'s. Returns frame
    and detection counts."""
    return infer_frustum(model, None, data_root, split, out_dir, *args, **kwargs)


def evaluate_results(
    data_root: str | Path, pred_dir: str | Path, split: str, max_frames: int | None = None
) -> dict:
    """KITTI evaluation of a result folder on a split: ``{class: {"bbox"|"bev"|"3d":
    [easy, moderate, hard]}}`` AP_R40 at the class's strict overlaps (Car 0.7, others 0.5),
    plus ``"full"``: the evaluator's whole result."""
    from perception3d.eval.kitti import evaluate_kitti_dirs

    ids = _frames(data_root, split, max_frames).ids
    result = evaluate_kitti_dirs(data_root, pred_dir, ids, EVAL_CLASSES)
    summary: dict = {}
    for name in EVAL_CLASSES:
        thr = "0.7" if name == "Car" else "0.5"
        r40 = result[name]["R40"]
        summary[name] = {m: r40[f"{m}@{thr}"] for m in ("bbox", "bev", "3d")}
    summary["full"] = result
    return summary


@torch.no_grad()
def predict_frustum(
    model2d: CenterNet2D | None,
    model3d: FrustumPointNet,
    image_srgb: np.ndarray | None,
    points_lidar: np.ndarray,
    calib: Calibration,
    boxes_2d: np.ndarray | None = None,
    labels_2d: np.ndarray | None = None,
    scores_2d: np.ndarray | None = None,
    tiles: HorizonTiles | None = None,
) -> list[KittiObject]:
    """Frustum PointNet on one frame: 2D detections lifted to KITTI 3D result rows.

    Args:
        model2d: the 2D detector (eval mode); unused when ``boxes_2d`` is given.
        model3d: the 3D stage (eval mode).
        image_srgb: (3, H, W) float32 sRGB in [0, 1] fed to ``model2d`` (any ISP's output).
        points_lidar: (N, 4) ``[x, y, z, intensity]`` LiDAR frame.
        calib: the frame's calibration.
        boxes_2d, labels_2d, scores_2d: given 2D boxes (K, 4) image_2 pixels, class indices
            into ``model3d.classes`` and scores (default 1) instead of the 2D detector's.
        tiles: horizon windows whose detections join the whole image's (None: none).

    Returns:
        One row per 2D box whose frustum holds at least ``model3d.min_frustum_points``
        points: type = the 2D box's class, bbox = the 2D box, the 3D box (its size from the
        2D box's class template and the residual predicted for it), and score =
        2D score x segmentation confidence (the mean object probability of the points the
        segmentation PointNet calls object; when it calls none, the highest object
        probability in the frustum, below 0.5).
    """
    if boxes_2d is None:
        if model2d is None or image_srgb is None:
            raise ValueError("give model2d and image_srgb, or boxes_2d")
        det = detect_frame_2d(model2d, image_srgb, calib, tiles)
        boxes_2d, labels_2d, scores_2d = det.boxes_img, det.labels, det.scores
        if tuple(model2d.classes) != tuple(model3d.classes):
            raise ValueError(f"2D classes {model2d.classes} != 3D classes {model3d.classes}")
    boxes_2d = np.asarray(boxes_2d, dtype=np.float64).reshape(-1, 4)
    labels_2d = np.asarray(labels_2d, dtype=np.int64).reshape(-1)
    scores_2d = np.ones(len(boxes_2d)) if scores_2d is None else np.asarray(scores_2d)
    batch, kept, angles = frustum_batch(model3d, points_lidar, calib, boxes_2d)
    if not batch:
        return []
    dev = next(model3d.parameters()).device
    cls = torch.from_numpy(labels_2d[kept]).to(dev)
    one_hot = torch.eye(model3d.num_classes, device=dev)[cls]
    out = model3d(torch.from_numpy(np.stack(batch)).to(dev), one_hot)
    # the size template of the 2D box's class (the row's type), not the arg-max template
    boxes_f = decode_boxes(out, model3d.templates_lhw, cls).cpu().numpy().astype(np.float64)
    conf = _segmentation_confidence(out)
    rows = []
    for j, k in enumerate(kept):
        x, y, z, l, h, w, ry = boxes_frustum_to_cam(boxes_f[j], angles[j])[0]
        rows.append(
            KittiObject(
                type=model3d.classes[int(labels_2d[k])],
                truncated=0.0,
                occluded=0,
                alpha=float(alpha_from_rotation_y(np.array([ry]), np.array([[x, y, z]]))[0]),
                bbox=tuple(float(v) for v in boxes_2d[k]),
                dimensions=(float(h), float(w), float(l)),
                location=(float(x), float(y), float(z)),
                rotation_y=float(ry),
                score=float(scores_2d[k] * conf[j]),
            )
        )
    return rows


def frustum_batch(model3d: FrustumPointNet, points_lidar: np.ndarray, calib: Calibration,
                   boxes_2d: np.ndarray):  # fmt: skip
    """The frustum-frame point sets (N, 4) float32 of the 2D boxes with enough points, their
    box indices and frustum angles."""
    rect = calib.lidar_to_rect(points_lidar)
    uv, depth = calib.rect_to_image(rect)
    batch, kept, angles = [], [], []
    for k, box in enumerate(boxes_2d):
        index = np.flatnonzero(frustum_mask_uv(uv, depth, box))
        if len(index) < model3d.min_frustum_points:
            continue
        index = index[sample_points(model3d.num_points, len(index), None)]
        angle = frustum_angle(box, calib)
        pts = np.concatenate([rotate_y(rect[index], -angle), points_lidar[index, 3:4]], axis=1)
        batch.append(pts.astype(np.float32))
        kept.append(k)
        angles.append(angle)
    return batch, kept, angles


def _segmentation_confidence(out: dict) -> np.ndarray:
    """(B,) mean object probability of the points segmented as object (when none is, the
    highest object probability in the frustum)."""
    prob = torch.softmax(out["seg_logits"], dim=2)[..., 1]  # (B, N)
    mask = out["mask"]
    return (
        torch.where(
            mask.any(dim=1),
            (prob * mask).sum(1) / mask.sum(1).clamp(min=1),
            prob.max(dim=1).values,
        )
        .cpu()
        .numpy()
    )


def infer_frustum(
    model2d: CenterNet2D | None,
    model3d: FrustumPointNet | None,
    data_root: str | Path,
    split: str,
    out_dir: str | Path,
    images_dir: str | Path | None = None,
    max_frames: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    tiles: HorizonTiles | None = None,
) -> dict:
    """Write Frustum PointNet result files ``out_dir/<id>.txt`` for a split (a folder of
    another run's results is refused unless ``overwrite``).

    ``model2d=None`` uses the labels' 2D boxes of ``model3d.classes`` (score 1 before the
    segmentation confidence): the "ground-truth 2D boxes" upper bound. ``model3d=None``
    writes the 2D detections alone (:func:`infer_2d`). ``images_dir`` replaces image_2 as the
    2D detector's input; ``tiles`` adds horizon windows to the 2D detection.
    """
    ds = _frames(data_root, split, max_frames)
    claim_result_dir(out_dir, overwrite)
    total = 0
    desc = "infer 2d" if model3d is None else "infer frustum"
    for frame in tqdm(ds, desc=desc, disable=not progress, leave=False):
        rows = _frame_rows(model2d, model3d, frame, images_dir, tiles)
        write_result_file(Path(out_dir) / f"{frame.frame_id}.txt", rows)
        total += len(rows)
    return {"frames": len(ds), "detections": total, "out_dir": str(out_dir)}


def _frame_rows(model2d, model3d, frame, images_dir, tiles) -> list[KittiObject]:
    if model3d is None:
        det = detect_frame_2d(model2d, frame_image(frame, images_dir), frame.calib, tiles)
        return detections_2d_to_objects(det, model2d.classes)
    if model2d is None:
        cared = [o for o in frame.objects if o.type in model3d.classes]
        return predict_frustum(
            None, model3d, None, frame.points, frame.calib,
            np.array([o.bbox for o in cared]).reshape(-1, 4),
            np.array([model3d.classes.index(o.type) for o in cared], dtype=np.int64),
        )  # fmt: skip
    return predict_frustum(model2d, model3d, frame_image(frame, images_dir), frame.points,
                           frame.calib, tiles=tiles)  # fmt: skip


def run_frustum_inference(
    data_root: str | Path,
    out_dir: str | Path,
    split: str = "val",
    det2d: str | Path | None = None,
    model3d: str | Path | None = None,
    two_d_only: bool = False,
    gt_boxes: bool = False,
    images: str | Path | None = None,
    max_frames: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    horizon_tiles: bool | None = None,
) -> dict:
    """``perception3d frustum infer`` / ``infer-2d`` (and ``perception3d infer`` of a frustum
    or detector2d config): result files of the shipped or given checkpoints.

    Args:
        data_root: KITTI-layout root; ``split`` its ImageSets name.
        out_dir: result folder (refused when it holds another run's results, unless
            ``overwrite``).
        det2d: 2D detector checkpoint (None: the shipped ``frustum_detector2d_dense.pt``;
            unused with ``gt_boxes``).
        model3d: 3D stage checkpoint (None: the shipped weights).
        two_d_only: write the 2D detections only (the ``bbox`` metric).
        gt_boxes: lift the labels' 2D boxes instead of the 2D detector's.
        images: folder of ``<id>.png`` replacing image_2 for the 2D detector.
        max_frames: the first N frames of the split only.
        progress: a progress bar.
        horizon_tiles: add the detections of the horizon windows of :class:`HorizonTiles`
            (its defaults) zoomed x2 by the detector's own resize (far objects; None:
            ``DEFAULT_HORIZON_TILES``).
    """
    if horizon_tiles is None:
        horizon_tiles = DEFAULT_HORIZON_TILES
    tiles = HorizonTiles() if horizon_tiles and not gt_boxes else None
    model2d = None
    if not gt_boxes:
        model2d = load_detector2d(det2d or SHIPPED_DETECTOR2D)[0]
    if two_d_only:
        if model2d is None:
            raise ValueError("2D-only inference needs the 2D detector, not gt_boxes")
        return infer_2d(model2d, data_root, split, out_dir, images, max_frames, progress,
                        overwrite, tiles)  # fmt: skip
    model = load_frustum_model(model3d or SHIPPED_FRUSTUM)
    return infer_frustum(model2d, model, data_root, split, out_dir, images, max_frames,
                         progress, overwrite, tiles)  # fmt: skip
