"""KITTI's 2D box convention from a label's 3D box (perception3d.data.label_boxes)."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset
from perception3d.data.kitti_labels import read_label_file
from perception3d.data.label_boxes import projected_label_boxes, write_projected_root


def _frame(root, frame_id):
    ds = KittiObjectDataset(root, "training")
    return next(f for f in ds if f.frame_id == frame_id)


def test_reproduces_the_real_kitti_car_boxes(kitti_root):
    """On real frame 000008 KITTI's car boxes are their 3D boxes' clipped projections (the
    occluded and truncated ones too): the recomputed boxes agree within a pixel."""
    frame = _frame(kitti_root, "000008")
    cars = [o for o in frame.objects if o.type == "Car"]
    moved = [replace(o, bbox=(0.0, 0.0, 1.0, 1.0)) for o in cars]  # forget the label's box
    out = projected_label_boxes(moved, frame.calib, frame.image_shape)
    got, want = np.array([o.bbox for o in out]), np.array([o.bbox for o in cars])
    assert len(cars) == 6
    np.testing.assert_allclose(got, want, atol=1.0)
    assert [o.type for o in out] == [o.type for o in cars]  # other fields kept
    assert [o.location for o in out] == [o.location for o in cars]


def test_persons_keep_their_width_and_take_the_projected_height(kitti_root):
    """KITTI's pedestrians: left / right annotated, top / bottom the projection's (real frame
    000000's pedestrian: 165 px tall, its top and bottom within a pixel of the projection)."""
    frame = _frame(kitti_root, "000000")
    (ped,) = [o for o in frame.objects if o.type == "Pedestrian"]
    squeezed = replace(ped, bbox=(ped.bbox[0], 200.0, ped.bbox[2], 210.0))
    (out,) = projected_label_boxes([squeezed], frame.calib, frame.image_shape)
    assert out.bbox[0] == ped.bbox[0] and out.bbox[2] == ped.bbox[2]
    np.testing.assert_allclose([out.bbox[1], out.bbox[3]], [ped.bbox[1], ped.bbox[3]], atol=1.0)


def test_dontcare_and_boxes_behind_the_camera_are_kept(kitti_root):
    frame = _frame(kitti_root, "000008")
    dontcare = next(o for o in frame.objects if o.is_dontcare)
    car = next(o for o in frame.objects if o.type == "Car")
    behind = replace(car, location=(car.location[0], car.location[1], -20.0))
    out = projected_label_boxes([dontcare, behind], frame.calib, frame.image_shape)
    assert out == [dontcare, behind]


def test_write_projected_root_links_images_and_rewrites_labels(kitti_copy, tmp_path):
    (kitti_copy / "ImageSets" / "two.txt").write_text("000000\n000008\n")
    out = write_projected_root(kitti_copy, tmp_path / "proj", "two")
    assert (out / "ImageSets" / "two.txt").read_text().split() == ["000000", "000008"]
    image = out / "training" / "image_2" / "000008.png"
    assert image.is_symlink() and os.path.samefile(image, kitti_copy / "training/image_2/000008.png")
    frame = _frame(kitti_copy, "000008")
    want = projected_label_boxes(frame.objects, frame.calib, frame.image_shape)
    got = read_label_file(out / "training" / "label_2" / "000008.txt")
    np.testing.assert_allclose([o.bbox for o in got], [o.bbox for o in want], atol=0.006)
    assert [o.type for o in got] == [o.type for o in want]
    with pytest.raises(FileExistsError, match="must differ"):
        write_projected_root(kitti_copy, kitti_copy, "two")
