"""Horizon-window zoom of the 2D detector (perception3d/engine/horizon_tiles.py): windows
placed from the calibration, window boxes mapped back to frame pixels, boxes cut by a window
side dropped, the merge, and the pipeline's ``tiles`` option."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.engine.horizon_tiles import (
    HorizonTiles,
    detect_tiles,
    detect_with_tiles,
    keep_inside,
    merge,
    nms_per_class,
    tile_boxes,
)
from perception3d.geometry.iou import iou_2d
from perception3d.models.detector2d import Detections2D

# KITTI's P2 of a 375 x 1242 frame (principal point 609.6, 172.9)
P2 = np.array([[721.5, 0, 609.6, 44.9], [0, 721.5, 172.9, 0.2], [0, 0, 1, 0.003]])
HW = (375, 1242)


def _dets(boxes, scores, labels=None) -> Detections2D:
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    labels = np.zeros(len(boxes), np.int64) if labels is None else np.asarray(labels)
    return Detections2D(boxes, np.asarray(scores, np.float32), labels)


class _FixedDetector:
    """One Car box at fixed pixels of whatever image it is given; records the input shapes."""

    classes = ("Car", "Pedestrian", "Cyclist")

    def __init__(self, box=(10, 10, 30, 20)):
        self.box, self.shapes = box, []

    def detect(self, image):
        self.shapes.append(tuple(image.shape))
        return _dets([self.box], [0.8])


def test_tiles_sit_on_the_horizon_inside_the_image():
    cfg = HorizonTiles()
    tiles = tile_boxes(cfg, P2, HW)
    assert tiles.shape == (3, 4)
    assert (tiles[:, 1] == 173 - 40).all() and (tiles[:, 3] - tiles[:, 1] == 96).all()
    assert (tiles[:, 2] - tiles[:, 0] == 320).all()
    assert np.diff(tiles[:, 0]).tolist() == [240, 240]
    assert abs((tiles[0, 0] + tiles[-1, 2]) / 2 - 609.6) <= 1
    narrow = tile_boxes(HorizonTiles(tiles=5, tile_stride=400), P2, HW)
    assert narrow[:, 0].min() == 0 and narrow[:, 2].max() == 1242  # shifted inside
    tiny = tile_boxes(cfg, P2, (64, 200))
    assert tiny[0].tolist() == [0, 0, 200, 64]


def test_tiles_follow_the_principal_point():
    moved = P2.copy()
    moved[0, 2] += 50.0  # principal point 50 px right, 20 px lower
    moved[1, 2] += 20.0
    delta = tile_boxes(HorizonTiles(), moved, HW) - tile_boxes(HorizonTiles(), P2, HW)
    assert (delta[:, [0, 2]] == 50).all() and (delta[:, [1, 3]] == 20).all()


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="tile_hw"):
        HorizonTiles(tile_hw=(4, 320))
    with pytest.raises(ValueError, match="nms_iou"):
        HorizonTiles(nms_iou=0.0)


def test_boxes_cut_by_an_inner_window_side_are_dropped():
    tile = np.array([100, 50, 420, 146])
    boxes = np.array([[101, 60, 130, 70], [110, 60, 130, 70], [110, 60, 419, 70.0]])
    assert keep_inside(boxes, tile, HW, 2.0).tolist() == [False, True, False]
    at_border = np.array([0, 0, 320, 96])  # image sides cut nothing
    assert keep_inside(np.array([[0.0, 0, 20, 20]]), at_border, HW, 2.0).all()


def test_window_boxes_map_back_to_frame_pixels():
    image = np.zeros((3, *HW), np.float32)
    tile = np.array([[100, 50, 420, 146]])
    det = _FixedDetector()
    (plain,) = detect_tiles(det.detect, image, tile, None, 2.0)
    assert plain[0].tolist() == [[110, 60, 130, 70]]
    up = lambda x: torch.nn.functional.interpolate(x, scale_factor=2)  # noqa: E731
    (zoomed,) = detect_tiles(det.detect, image, tile, up, 2.0)
    assert zoomed[0].tolist() == [[105, 55, 115, 60]]
    assert det.shapes == [(3, 96, 320), (3, 192, 640)]


def test_merge_keeps_the_best_of_overlapping_boxes():
    a = (np.array([[0, 0, 10, 10.0]]), np.array([0.5]), np.array([0]))
    b = (np.array([[0, 0, 10, 11.0], [50, 0, 60, 10]]), np.array([0.7, 0.2]), np.array([0, 0]))
    boxes, scores, _ = merge([a, b], 0.5)
    assert scores.tolist() == [0.7, 0.2] and boxes[0].tolist() == [0, 0, 10, 11]


def _nms_reference(boxes, scores, labels, iou):
    """Textbook greedy NMS from the full pairwise IoU matrix (the implementation before
    session 9)."""
    ov = iou_2d(boxes, boxes)
    suppressed, keep = np.zeros(len(boxes), dtype=bool), []
    for i in np.argsort(-scores, kind="stable"):
        if not suppressed[i]:
            keep.append(int(i))
            suppressed |= (ov[i] > iou) & (labels == labels[i])
    return keep


@pytest.mark.parametrize("n", [1, 7, 400])
def test_nms_agrees_with_the_pairwise_matrix_reference(n):
    rng = np.random.default_rng(n)
    xy = rng.uniform(0, 300, (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 80, (n, 2))], 1)
    scores = rng.choice(np.linspace(0.05, 1.0, 9), n)  # ties: the stable order decides
    labels = rng.integers(0, 3, n)
    for iou in (0.3, 0.5):
        got = nms_per_class(boxes, scores, labels, iou).tolist()
        assert got == _nms_reference(boxes, scores, labels, iou)


def test_whole_frame_boxes_kept_when_the_windows_find_nothing():
    rng = np.random.default_rng(0)
    image = rng.random((3, *HW), dtype=np.float32)
    xy = rng.uniform(0, 900, (6, 2))
    full = _dets(np.c_[xy, xy + rng.uniform(10, 200, (6, 2))], rng.uniform(0.05, 1, 6),
                 rng.integers(0, 3, 6))  # fmt: skip
    full_nms = merge([(full.boxes_img.astype(np.float64), full.scores, full.labels)], 0.5)

    def detect(img):  # the whole frame: `full`; a window: nothing
        return full if img.shape[1:] == HW else _dets([], [])

    out = detect_with_tiles(detect, image, P2, HorizonTiles())
    order = np.argsort(-out.scores)
    assert np.allclose(out.boxes_img[order], full_nms[0]) and len(out.scores) >= 1
    assert out.labels[order].tolist() == full_nms[2].tolist()


def test_a_window_box_on_a_window_side_does_not_reach_the_output():
    image = np.zeros((3, *HW), np.float32)
    tiles = tile_boxes(HorizonTiles(), P2, HW)

    def detect(img):  # a window: one box touching its left side, one well inside
        if img.shape[1:] == HW:
            return _dets([], [])
        return _dets([[0, 30, 20, 50], [100, 30, 140, 50]], [0.9, 0.6])

    out = detect_with_tiles(detect, image, P2, HorizonTiles())
    # each window keeps only its inner box, mapped back (the left box of the first window
    # does not touch the image border either: the first window starts at x = 210)
    assert tiles[0, 0] > 0
    expected = sorted((t[0] + 100, t[1] + 30) for t in tiles)
    assert sorted((float(x), float(y)) for x, y in out.boxes_img[:, :2]) == expected


def test_pipeline_adds_window_boxes_only_with_tiles(frame8_root, tmp_path):
    from perception3d.data.kitti_labels import read_label_file
    from perception3d.engine.frustum_infer import infer_2d

    det = _FixedDetector()
    infer_2d(det, frame8_root, "val", tmp_path / "plain", progress=False)
    infer_2d(det, frame8_root, "val", tmp_path / "tiled", progress=False, tiles=HorizonTiles())
    plain = read_label_file(tmp_path / "plain" / "000008.txt")
    tiled = read_label_file(tmp_path / "tiled" / "000008.txt")
    assert [o.bbox for o in plain] == [(10.0, 10.0, 30.0, 20.0)]
    assert len(tiled) == 4 and (10.0, 10.0, 30.0, 20.0) in [o.bbox for o in tiled]
    assert det.shapes.count((3, 96, 320)) == 3  # the windows, given to the detector as cut


@pytest.mark.parametrize("flag", [None, "--horizon-tiles", "--no-horizon-tiles"])
def test_cli_flag_and_default_reach_the_2d_inference(flag, tmp_path, monkeypatch, capsys):
    from perception3d.cli import main
    from perception3d.engine import frustum_infer

    seen = []
    monkeypatch.setattr(frustum_infer, "infer_2d", lambda *a: seen.append(a[-1]) or {})
    args = ["frustum", "infer-2d", "--data-root", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main(args + ([flag] if flag else [])) == 0
    on = flag == "--horizon-tiles" or (flag is None and frustum_infer.DEFAULT_HORIZON_TILES)
    assert seen == [HorizonTiles() if on else None]
