"""The multi-sweep study's breakdown (``perception3d.experiments.multisweep``): distance bins,
occlusion levels, the detector's range, neighbour classes and DontCare, on hand-made frames."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.lidar_folder import LidarLabels
from perception3d.experiments.multisweep import evaluate_breakdown

RANGE = (0.0, -25.6, -3.0, 51.2, 25.6, 1.0)


class _Frame:
    """The attributes of a ``DriveFrame`` the breakdown reads."""

    def __init__(self, frame_id, boxes, names, occlusion, speeds, dontcare=()):
        self.frame_id = frame_id
        self.labels = LidarLabels(np.array(boxes, float).reshape(-1, 7), np.array(names, object))
        self.occlusion = np.array(occlusion)
        self.dontcare_boxes_lidar = np.array(dontcare, float).reshape(-1, 7)
        self.objects_in_image = (None, None, None, np.ones(len(names), bool))
        self.speeds_mps = np.array(speeds, float)


def _car(x, y=0.0):
    return [x, y, -0.9, 4.0, 1.7, 1.5, 0.0]


@pytest.fixture
def scene():
    frames = [
        _Frame(
            "a",
            [_car(10), _car(30, 5), _car(45, -5), _car(60)],
            ["Car"] * 4,
            [0, 1, 2, 0],
            speeds=[0, 8, 0, 0],
        ),
        _Frame(
            "b",
            [_car(15, 3), _car(25, -3)],
            ["Car", "Van"],
            [0, 0],
            speeds=[0, 0],
            dontcare=[_car(35)],
        ),
    ]
    # found: the 10 m and 30 m cars, the van (as a Car) and the DontCare car; missed: 45 m
    boxes = [_car(10), _car(30, 5), _car(60)]
    pred = {
        "a": LidarLabels(np.array(boxes), np.array(["Car"] * 3, object), np.array([0.9, 0.8, 0.7])),
        "b": LidarLabels(np.array([_car(25, -3), _car(35), _car(15, 3)]),
                         np.array(["Car"] * 3, object), np.array([0.95, 0.9, 0.6])),
    }  # fmt: skip
    return frames, pred


def test_distance_bins_and_occlusion_levels(scene):
    frames, pred = scene
    out = evaluate_breakdown(pred, frames, RANGE, classes=("Car",))["strict"]
    # counted cars: 10, 15 (frame b), 30, 45 m; the 60 m car is out of range, the van a
    # neighbour, the 35 m car DontCare: all three found but ignored, never false positives
    assert out["all"]["Car"]["objects"] == 4
    assert out["all"]["Car"]["bev"]["recall_at_score"] == pytest.approx(0.75)
    assert out["0-20 m"]["Car"]["objects"] == 2
    assert out["0-20 m"]["Car"]["bev"]["all_point"] == pytest.approx(100.0)
    assert out["20-40 m"]["Car"]["bev"]["all_point"] == pytest.approx(100.0)
    assert out[">= 40 m"]["Car"]["objects"] == 1
    assert out[">= 40 m"]["Car"]["bev"]["all_point"] == 0.0
    counts = [out[f"occlusion {k}"]["Car"]["objects"] for k in (0, 1, 2)]
    assert counts == [2, 1, 1]
    assert out["occlusion 2"]["Car"]["bev"]["recall_at_score"] == 0.0
    # the 30 m car moves: static 10, 15, 45 m (two found), moving 30 m (found)
    assert out["static"]["Car"]["objects"] == 3 and out["moving"]["Car"]["objects"] == 1
    assert out["static"]["Car"]["bev"]["recall_at_score"] == pytest.approx(2 / 3)
    assert out["moving"]["Car"]["bev"]["recall_at_score"] == 1.0


def test_loose_set_uses_looser_iou(scene):
    frames, pred = scene
    shifted = {
        f: LidarLabels(p.boxes_lidar + np.array([0.8, 0, 0, 0, 0, 0, 0]), p.names, p.scores)
        for f, p in pred.items()
    }
    out = evaluate_breakdown(shifted, frames, RANGE, classes=("Car",))
    # a 0.8 m shift along a 4 m car: BEV IoU 3.2 / 4.8 = 0.67, under 0.7, over 0.5
    assert out["strict"]["0-20 m"]["Car"]["bev"]["all_point"] == 0.0
    assert out["loose"]["0-20 m"]["Car"]["bev"]["all_point"] == pytest.approx(100.0)
