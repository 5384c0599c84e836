"""Scale augmentation of an image and its 2D boxes (perception3d.data.zoom_crop)."""

from __future__ import annotations

import numpy as np

from perception3d.data.zoom_crop import PAD_VALUE, zoom_crop

NONE = np.zeros((0, 4))
NO_LABELS = np.zeros(0, np.int64)


def _image(h: int = 60, w: int = 200) -> np.ndarray:
    """A horizontal ramp: the value at column x is x / w."""
    ramp = (np.arange(w, dtype=np.float32) + 0.5) / w
    return np.broadcast_to(ramp, (3, h, w)).copy()


def test_scale_one_full_window_maps_boxes_to_the_base_size():
    boxes = np.array([[20.0, 6.0, 60.0, 30.0]])
    out, b, lab, ign, _ = zoom_crop(_image(), boxes, np.array([2]), NONE, NO_LABELS,
                                    (30, 100), 1.0, (30, 100), np.random.default_rng(0))  # fmt: skip
    assert out.shape == (3, 30, 100)
    np.testing.assert_allclose(b, [[10.0, 3.0, 30.0, 15.0]])
    assert lab.tolist() == [2] and len(ign) == 0


def test_zoom_in_enlarges_boxes_and_windows_the_image():
    """At scale 2 the box doubles; the window's pixels are the rescaled image's at its offset."""
    boxes = np.array([[90.0, 20.0, 110.0, 40.0]])  # 20 px -> 20 px at base (60, 200) scale 2
    rng = np.random.default_rng(1)
    out, b, lab, _, _ = zoom_crop(_image(), boxes, np.array([0]), NONE, NO_LABELS,
                                  (30, 100), 2.0, (60, 64), rng, 1.0)  # fmt: skip
    assert len(b) == 1 and lab.tolist() == [0]
    np.testing.assert_allclose(b[0, 2:] - b[0, :2], [20.0, 20.0])
    x0 = 90.0 - b[0, 0]  # the window's left edge in the 200-px-wide rescaled image
    np.testing.assert_allclose(out[0, 10, :], (x0 + np.arange(64) + 0.5) / 200, atol=2e-3)


def test_truncated_boxes_are_clipped_or_ignored():
    """A 96-px window of a 100-px image cuts both boxes: each keeps > half its width, so it is
    clipped to the window (as KITTI clips truncated objects); a box that cannot keep
    ``min_visible`` becomes an ignore region of its class."""
    boxes = np.array([[0.0, 10.0, 40.0, 20.0], [90.0, 10.0, 100.0, 20.0]])
    _, b, lab, ign, _ = zoom_crop(_image(30, 100), boxes, np.array([0, 1]), NONE, NO_LABELS,
                                  (30, 100), 1.0, (30, 96), np.random.default_rng(0), 0.0)  # fmt: skip
    assert lab.tolist() == [0, 1] and len(ign) == 0
    assert b[0, 0] == 0 and b[1, 2] == 95
    _, b, lab, ign, ign_lab = zoom_crop(
        _image(30, 100), np.array([[20.0, 5.0, 60.0, 25.0]]), np.array([1]), NONE, NO_LABELS,
        (30, 100), 1.0, (30, 32), np.random.default_rng(0), 1.0, min_visible=0.99,
    )  # fmt: skip
    assert len(b) == 0 and ign_lab.tolist() == [1] and len(ign) == 1


def test_zoom_out_pads_with_grey_and_is_deterministic():
    args = (_image(), np.array([[20.0, 6.0, 60.0, 30.0]]), np.array([0]), NONE, NO_LABELS,
            (32, 100), 0.8, (32, 64))  # fmt: skip
    out, b, *_ = zoom_crop(*args, np.random.default_rng(3))
    again, b2, *_ = zoom_crop(*args, np.random.default_rng(3))
    assert np.array_equal(out, again) and np.array_equal(b, b2)
    rows_grey = np.all(out == PAD_VALUE, axis=(0, 2))
    assert rows_grey.sum() == 32 - round(32 * 0.8)  # 26 image rows, 6 padded
