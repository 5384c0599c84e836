"""Field-of-view masks: the three rules on the real sweep 004139 (its image is 370 x 1224),
against the masks OpenPCDet and mmdetection3d computed (SHA-256 in tests/data/interop)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset
from perception3d.geometry.fov import fov_mask

EXPECTED = Path(__file__).parents[1] / "data" / "interop" / "expected.json"


@pytest.fixture(scope="module")
def frame(kitti_root):
    return KittiObjectDataset(kitti_root).frame("004139")


@pytest.mark.parametrize(
    ("rule", "fixture", "count"),
    [("openpcdet", "openpcdet_pointpillar", 20046), ("mmdet3d", "mmdet3d_pointpillars", 20069)],
)
def test_framework_rules_reproduce_their_masks(frame, rule, fixture, count):
    mask = fov_mask(frame.points, frame.calib, (370, 1224), rule)
    assert int(mask.sum()) == count
    sha = json.loads(EXPECTED.read_text())[fixture]["sha256"]["in/fov_mask"]
    assert hashlib.sha256(mask.astype(np.uint8).tobytes()).hexdigest() == sha


def test_rules_differ_only_at_the_image_border(frame):
    masks = {
        r: fov_mask(frame.points, frame.calib, (370, 1224), r)
        for r in ("image", "openpcdet", "mmdet3d")
    }
    uv, depth = frame.calib.lidar_to_image(frame.points)
    differ = (masks["image"] != masks["openpcdet"]) | (masks["image"] != masks["mmdet3d"])
    # every disagreement is within 2 px of the image's edges (or at the 100 m far clip)
    near_edge = (
        (np.abs(uv[:, 0]) < 2)
        | (np.abs(uv[:, 0] - 1224) < 2)
        | (np.abs(uv[:, 1]) < 2)
        | (np.abs(uv[:, 1] - 370) < 2)
        | (depth > 99)
    )
    assert differ.sum() > 0 and near_edge[differ].all()


def test_bad_input(frame):
    with pytest.raises(ValueError, match="fov rule"):
        fov_mask(frame.points, frame.calib, (370, 1224), "camera")
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        fov_mask(np.zeros((4, 2)), frame.calib, (370, 1224))
