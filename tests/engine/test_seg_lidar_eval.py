"""Segmentation IoU from LiDAR-labelled points (perception3d.engine.seg_lidar_eval) on the
real sample frame 000008."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from perception3d.cli import main
from perception3d.data.kitti import KittiObjectDataset
from perception3d.engine.seg_lidar_eval import evaluate_segnet_lidar, lidar_seg_labels
from perception3d.models.segnet import SegNet, save_segnet


@pytest.fixture
def frame(kitti_root):
    return KittiObjectDataset(kitti_root, ids=["000008"]).frame(8)


def test_label_rules(frame):
    objects = frame.objects
    rc, labels, counted = lidar_seg_labels(frame.points, objects, frame.calib, (375, 1242))
    assert counted.tolist() == [0, 6, 0, 0] and len(rc) == len(labels)
    assert (labels == 1).sum() > 1000 and (labels == 0).sum() > 5000
    # The same boxes called Van are ignored, not background; called Truck, background.
    as_van = [dataclasses.replace(o, type="Van") if o.type == "Car" else o for o in objects]
    _, van, n = lidar_seg_labels(frame.points, as_van, frame.calib, (375, 1242))
    assert n.sum() == 0 and not (van == 1).any() and (van[labels == 1] == -1).all()
    as_truck = [dataclasses.replace(o, type="Truck") if o.type == "Car" else o for o in objects]
    _, truck, _ = lidar_seg_labels(frame.points, as_truck, frame.calib, (375, 1242))
    assert (truck[labels == 1] == 0).all()
    # A DontCare box over the whole image ignores every point.
    everything = dataclasses.replace(next(o for o in objects if o.is_dontcare),
                                     bbox=(0.0, 0.0, 1241.0, 374.0))  # fmt: skip
    _, none, _ = lidar_seg_labels(frame.points, [*objects, everything], frame.calib, (375, 1242))
    assert (none == -1).all()


class _Oracle(SegNet):
    """Predicts Car exactly at the pixels of a given label map's Car points."""

    def __init__(self, car_pixels):
        super().__init__(width=4)
        self.car_pixels = car_pixels

    def forward(self, image_srgb):
        logits = torch.zeros(1, 4, *image_srgb.shape[-2:])
        logits[0, 0] = 1.0
        logits[0, 1, self.car_pixels[:, 0], self.car_pixels[:, 1]] = 5.0
        return logits


def test_oracle_scores_one_and_cli_writes_json(frame, kitti_root, tmp_path, capsys):
    rc, labels, _ = lidar_seg_labels(frame.points, frame.objects, frame.calib, (375, 1242))
    root = tmp_path / "kitti"
    for sub in ("calib", "image_2", "label_2", "velodyne"):
        (root / "training" / sub).mkdir(parents=True)
        src = next((kitti_root / "training" / sub).glob("000008.*"))
        shutil.copy(src, root / "training" / sub / src.name)
    (root / "ImageSets").mkdir()
    (root / "ImageSets" / "val.txt").write_text("000008\n")
    # Pixels shared by a Car point and a background point make the oracle imperfect there.
    car = {tuple(p) for p in rc[labels == 1]}
    clash = {tuple(p) for p in rc[labels == 0]} & car
    metrics = evaluate_segnet_lidar(_Oracle(rc[labels == 1]), root, "val")
    assert metrics["objects"]["Car"] == 6 and metrics["points"]["Car"] == (labels == 1).sum()
    assert metrics["iou"]["Car"] > 0.95 and len(clash) < 0.05 * len(car)
    assert np.isnan(metrics["iou"]["Pedestrian"])
    seg = save_segnet(SegNet(width=4), tmp_path / "seg.pt")
    capsys.readouterr()
    assert main(["fusion", "eval-seg-lidar", "--data-root", str(root), "--seg", str(seg),
                 "--out", str(tmp_path / "m.json")]) == 0  # fmt: skip
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["frames"] == 1 and set(saved["iou"]) == {"background", "Car", "Pedestrian",
                                                          "Cyclist"}  # fmt: skip
