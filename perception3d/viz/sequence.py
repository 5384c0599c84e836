"""Videos over frames: GIF (Pillow, through imageio) or MP4 (H.264, through imageio-ffmpeg)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from perception3d.atomic import atomic_write_bytes
from perception3d.viz.canvas import check_rgb, pad_to

VIDEO_SUFFIXES = (".gif", ".mp4")


def _even_frames(frames: Iterable[np.ndarray], multiple: int) -> list[np.ndarray]:
    """All frames padded (bottom/right, black) to one size, a multiple of ``multiple``."""
    frames = [check_rgb(f, "frame") for f in frames]
    if not frames:
        raise ValueError("a video needs at least one frame")
    h = max(f.shape[0] for f in frames)
    w = max(f.shape[1] for f in frames)
    h, w = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    return [pad_to(f, h, w) for f in frames]


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: float = 2.0) -> Path:
    """Write frames as an animated GIF or an MP4, atomically.

    Args:
        frames: (H, W, 3) uint8 pictures; differing sizes are padded to the largest.
        path: ``.gif`` (looping, lossless palette per frame) or ``.mp4`` (H.264, yuv420p;
            sizes padded to multiples of 16 for the codec).
        fps: frames per second.

    Returns:
        The written path.
    """
    import imageio.v3 as iio

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"{path}: video must end with {' or '.join(VIDEO_SUFFIXES)}")
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if suffix == ".gif":
        stack = np.stack(_even_frames(frames, 1))
        data = iio.imwrite("<bytes>", stack, extension=".gif", duration=1000.0 / fps, loop=0)
        return atomic_write_bytes(path, data)
    import imageio.v2 as iio2

    stack = _even_frames(frames, 16)
    with tempfile.TemporaryDirectory(dir=path.parent if path.parent.exists() else None) as tmp:
        tmp_path = Path(tmp) / f"video{suffix}"
        writer = iio2.get_writer(
            tmp_path,
            format="FFMPEG",
            mode="I",
            fps=fps,
            codec="libx264",
            pixelformat="yuv420p",
            quality=7,
            macro_block_size=16,
            ffmpeg_log_level="error",
            output_params=["-threads", "1"],  # one thread: the same bytes on every run
        )
        try:
            for frame in stack:
                writer.append_data(frame)
        finally:
            writer.close()
        return atomic_write_bytes(path, tmp_path.read_bytes())


def read_video(path: str | Path) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of a GIF or MP4 (for checking what was written)."""
    import imageio.v3 as iio

    path = Path(path)
    if path.suffix.lower() == ".gif":
        return np.asarray(iio.imread(path, index=None, mode="RGB"))
    import imageio.v2 as iio2

    reader = iio2.get_reader(path, format="FFMPEG")
    try:
        return np.stack([np.asarray(f) for f in reader])
    finally:
        reader.close()


def visualize_sequence(
    data_root: str | Path,
    frame_ids: Sequence[str],
    out: str | Path,
    pred_dir: str | Path | None = None,
    options=None,
    fps: float = 2.0,
) -> Path:
    """Render frames of a KITTI-layout root (all views of :class:`VizOptions`) into a video.

    Returns:
        The written path.
    """
    from perception3d.data.kitti import KittiObjectDataset
    from perception3d.viz.frame import read_predictions, render_frame

    if Path(out).suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"--out {out}: a sequence is written as .gif or .mp4")
    if not frame_ids:
        raise ValueError("no frames to render")
    ds = KittiObjectDataset(data_root, ids=list(frame_ids))
    pictures = []
    for frame in tqdm(ds, desc="frames", unit="frame"):
        preds = read_predictions(pred_dir, frame.frame_id) if pred_dir is not None else None
        pictures.append(render_frame(frame, preds, options))
    return write_video(pictures, out, fps)
