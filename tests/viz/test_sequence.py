"""Videos: the frames written are the frames read back."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from perception3d.viz.sequence import read_video, write_video

pytest.importorskip("imageio")


def _frames() -> list[np.ndarray]:
    frames = []
    for k in range(3):
        f = np.zeros((50, 70 + 10 * k, 3), np.uint8)  # sizes differ: padded to the largest
        f[10:30, 10:40] = [(255, 0, 0), (0, 255, 0), (0, 0, 255)][k]
        frames.append(f)
    return frames


def test_gif_round_trip_is_exact(tmp_path):
    path = write_video(_frames(), tmp_path / "a.gif", fps=4)
    video = read_video(path)
    assert video.shape == (3, 50, 90, 3)
    for k, f in enumerate(_frames()):
        np.testing.assert_array_equal(video[k, :, : f.shape[1]], f)
        assert (video[k, :, f.shape[1] :] == 0).all()


def test_mp4_round_trip_and_determinism(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    a = write_video(_frames(), tmp_path / "a.mp4", fps=4)
    video = read_video(a)
    assert video.shape == (3, 64, 96, 3)  # padded to multiples of 16 for H.264
    for k, color in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        assert np.abs(video[k, 20, 25].astype(int) - color).max() < 40  # lossy, colour kept
        assert video[k, 45, 60].max() < 20
    b = write_video(_frames(), tmp_path / "b.mp4", fps=4)
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def test_bad_requests_are_errors(tmp_path):
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        write_video(_frames(), tmp_path / "a.avi")
    with pytest.raises(ValueError, match="at least one frame"):
        write_video([], tmp_path / "a.gif")
    with pytest.raises(ValueError, match="fps"):
        write_video(_frames(), tmp_path / "a.gif", fps=0)
