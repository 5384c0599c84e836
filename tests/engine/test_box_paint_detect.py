"""``fusion paint --det2d`` (perception3d.engine.box_paint_detect): painting from a detector
run on each image equals painting from its boxes written as result files (``--boxes``)."""

from __future__ import annotations

import json

import numpy as np

from perception3d.cli import main
from perception3d.data.kitti import KittiObjectDataset, write_label_file
from perception3d.engine.box_paint_detect import paint_split_detector
from perception3d.engine.frustum_infer import detections_2d_to_objects
from perception3d.models.detector2d import Detections2D
from perception3d.models.fusion import load_painted_points


class _FixedDetector:
    """Returns the same boxes on every image; its classes in another order than
    SEG_CLASSES, with one class (Van) that paints nothing."""

    classes = ("Pedestrian", "Van", "Car")

    def __init__(self) -> None:
        self.images = []

    def detect(self, image):
        self.images.append(image.shape)
        return Detections2D(
            np.array([[300, 150, 500, 260], [0, 100, 400, 300], [600, 160, 700, 240]], "f4"),
            np.array([0.75, 0.9, 0.5], "f4"),
            np.array([2, 1, 0]),
        )


def test_detector_painting_equals_painting_from_its_result_files(kitti_copy, tmp_path):
    (kitti_copy / "ImageSets" / "val.txt").write_text("000008\n")
    det = _FixedDetector()
    summary = paint_split_detector(kitti_copy, det, tmp_path / "direct", split="val",
                                   cluster_gap_m=1.0, progress=False)  # fmt: skip
    assert summary["frames"] == 1 and det.images == [(3, 375, 1242)]  # the image_2
    rows = detections_2d_to_objects(det.detect(np.zeros((3, 1, 1))), det.classes)
    write_label_file(tmp_path / "boxes/000008.txt", rows)
    argv = ["fusion", "paint", "--data-root", str(kitti_copy), "--split", "val",
            "--boxes", str(tmp_path / "boxes"), "--cluster-gap-m", "1.0"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "via_files")]) == 0
    direct = load_painted_points(tmp_path / "direct", "000008")
    via_files = load_painted_points(tmp_path / "via_files", "000008")
    np.testing.assert_array_equal(direct, via_files)
    # the Car box (detector class 2) paints the Car column, the Pedestrian box the Pedestrian
    # column, the Van box nothing
    frame = KittiObjectDataset(kitti_copy, ids=["000008"]).frame(8)
    assert direct.shape == (len(frame.points), 8)
    assert set(np.unique(direct[:, 5]).round(4)) == {0.0, 0.75}
    assert set(np.unique(direct[:, 6]).round(4)) <= {0.0, 0.5} and direct[:, 6].max() == 0.5
    assert not direct[:, 7].any()
    info = json.loads((tmp_path / "direct/painting.json").read_text())
    assert info["det2d"] == "_FixedDetector" and info["cluster_gap_m"] == 1.0
