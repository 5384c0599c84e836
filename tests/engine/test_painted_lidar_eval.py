"""Point IoU of a painted root (perception3d.engine.painted_lidar_eval): on a root painted by a
segmentation net it is that net's eval-seg-lidar figure; box painting with the labels' own
boxes scores the cars."""

from __future__ import annotations

import json

import numpy as np
import torch

from perception3d.cli import main
from perception3d.data.kitti import KittiObjectDataset, write_label_file
from perception3d.data.kitti_labels import KittiObject
from perception3d.engine.painted_lidar_eval import evaluate_painted_lidar
from perception3d.engine.seg_lidar_eval import evaluate_segnet_lidar
from perception3d.models.fusion import paint_split
from perception3d.models.segnet import SegNet, save_segnet


def test_segnet_painted_root_gives_the_nets_figure(kitti_copy, tmp_path):
    (kitti_copy / "ImageSets" / "val.txt").write_text("000008\n")
    torch.manual_seed(0)
    net = SegNet(width=4)
    with torch.no_grad():  # without its bias the random net predicts two classes, not one
        net.classifier.bias.zero_()
    seg = save_segnet(net, tmp_path / "seg.pt")
    paint_split(kitti_copy, None, seg, tmp_path / "painted", split="val", fov_only=True,
                progress=False)  # fmt: skip
    by_net = evaluate_segnet_lidar(net, kitti_copy, "val")
    by_paint = evaluate_painted_lidar(tmp_path / "painted", kitti_copy, "val")
    assert by_paint["points"] == by_net["points"] and by_paint["objects"] == by_net["objects"]
    assert by_paint["points"]["Car"] > 1000 and 0.3 < by_net["point_accuracy"] < 0.7
    for name, value in by_net["iou"].items():
        if np.isnan(value):
            assert by_paint["iou"][name] is None
        else:
            assert abs(by_paint["iou"][name] - value) < 1e-12
    assert abs(by_paint["point_accuracy"] - by_net["point_accuracy"]) < 1e-12


def test_box_painting_with_the_label_boxes_scores_the_cars(kitti_copy, tmp_path, capsys):
    (kitti_copy / "ImageSets" / "val.txt").write_text("000008\n")
    frame = KittiObjectDataset(kitti_copy, ids=["000008"]).frame(8)
    rows = [KittiObject("Car", 0.0, 0, -10.0, o.bbox, (-1.0, -1.0, -1.0),
                        (-1000.0, -1000.0, -1000.0), -10.0, 0.9)
            for o in frame.objects if o.type == "Car"]  # fmt: skip
    write_label_file(tmp_path / "boxes/000008.txt", rows)
    base = ["fusion", "paint", "--data-root", str(kitti_copy), "--split", "val", "--fov-only"]
    for name, extra in (("all", []), ("cluster", ["--cluster-gap-m", "1.0"])):
        argv = [*base, "--boxes", str(tmp_path / "boxes"), "--out", str(tmp_path / name), *extra]
        assert main(argv) == 0
    capsys.readouterr()
    out = tmp_path / "m.json"
    argv = ["fusion", "eval-seg-lidar", "--data-root", str(kitti_copy), "--split", "val"]
    assert main([*argv, "--painted", str(tmp_path / "all"), "--out", str(out)]) == 0
    whole = json.loads(out.read_text())
    assert whole["objects"]["Car"] == 6 and whole["iou"]["Pedestrian"] is None
    # every car point lies in its own 2D box: IoU is lowered only by background points the
    # boxes hold (road, what lies behind), fewer once the nearest depth cluster is taken
    assert 0.3 < whole["iou"]["Car"] < 1.0
    clustered = evaluate_painted_lidar(tmp_path / "cluster", kitti_copy, "val")
    assert whole["iou"]["Car"] < clustered["iou"]["Car"]
