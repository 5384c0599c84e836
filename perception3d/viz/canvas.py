"""Picture plumbing: image conversion, PNG writing, titles and the layout of several views."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_bytes


def check_rgb(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``image`` if it is an (H, W, 3) uint8 array, else raise ``ValueError``."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"{name} must be (H, W, 3) uint8, got {arr.shape} {arr.dtype}")
    return arr


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """The library's image layouts to a displayable (H, W, 3) uint8 RGB array.

    Args:
        image: (3, H, W) float in [0, 1] (the library convention, e.g. ``Frame.image``, sRGB),
            (H, W, 3) uint8 RGB, or (H, W) float/uint8 grey.

    Returns:
        (H, W, 3) uint8, a new array.

    Example:
        >>> to_rgb_uint8(np.ones((3, 2, 4), np.float32)).shape
        (2, 4, 3)
    """
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[0] == 3 and arr.dtype.kind == "f":
        arr = arr.transpose(1, 2, 0)  # from (3, H, W) to (H, W, 3)
    elif arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"image must be (3, H, W) float, (H, W, 3) or (H, W), got {arr.shape}")
    if arr.dtype.kind == "f":
        return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if arr.dtype != np.uint8:
        raise ValueError(f"integer images must be uint8, got {arr.dtype}")
    return arr.copy()


def png_bytes(rgb: np.ndarray, palette_colors: int | None = None) -> bytes:
    """Encode an (H, W, 3) uint8 image as PNG (optionally quantized to a palette: smaller)."""
    from PIL import Image

    im = Image.fromarray(check_rgb(rgb, "rgb"))
    if palette_colors is not None:
        im = im.quantize(colors=palette_colors, method=Image.Quantize.MEDIANCUT, dither=0)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def save_png(path: str | Path, rgb: np.ndarray, palette_colors: int | None = None) -> Path:
    """Write an (H, W, 3) uint8 image as a PNG, atomically."""
    return atomic_write_bytes(path, png_bytes(rgb, palette_colors))


@lru_cache(maxsize=8)
def font(size: int = 14):
    """Pillow's bundled scalable font at ``size`` pixels (no system fonts needed)."""
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def text_strip(text: str, width: int, height: int = 22, size: int = 14) -> np.ndarray:
    """A dark (height, width, 3) uint8 strip with ``text`` in light grey at the left."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), (32, 32, 40))
    ImageDraw.Draw(im).text(
        (6, (height - size) // 2 - 1), text, fill=(230, 230, 235), font=font(size)
    )
    return np.asarray(im)


def with_title(rgb: np.ndarray, title: str) -> np.ndarray:
    """``rgb`` with a title strip above it."""
    rgb = check_rgb(rgb)
    return np.concatenate([text_strip(title, rgb.shape[1]), rgb], axis=0)


def resize_to_width(rgb: np.ndarray, width: int, height: int | None = None) -> np.ndarray:
    """Resize to ``width`` (and ``height``, default: keeping the aspect ratio); Lanczos when
    shrinking, nearest neighbour when enlarging (pixels stay crisp); unchanged when the size
    already matches."""
    from PIL import Image

    rgb = check_rgb(rgb)
    if height is None:
        height = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    if rgb.shape[:2] == (height, width):
        return rgb
    shrink = width < rgb.shape[1]
    method = Image.Resampling.LANCZOS if shrink else Image.Resampling.NEAREST
    return np.asarray(Image.fromarray(rgb).resize((width, height), method))


def pad_to(rgb: np.ndarray, height: int, width: int, fill=(0, 0, 0)) -> np.ndarray:
    """Pad ``rgb`` at the bottom and right to (height, width)."""
    rgb = check_rgb(rgb)
    if rgb.shape[0] > height or rgb.shape[1] > width:
        raise ValueError(f"cannot pad {rgb.shape[:2]} to ({height}, {width})")
    out = np.empty((height, width, 3), np.uint8)
    out[:] = fill
    out[: rgb.shape[0], : rgb.shape[1]] = rgb
    return out


def hstack(images: Sequence[np.ndarray], gap: int = 4) -> np.ndarray:
    """Images side by side, top aligned, padded to the tallest, ``gap`` px apart."""
    return _stack(images, 1, gap)


def vstack(images: Sequence[np.ndarray], gap: int = 4) -> np.ndarray:
    """Images one above the other, left aligned, padded to the widest."""
    return _stack(images, 0, gap)


def _stack(images: Sequence[np.ndarray], axis: int, gap: int) -> np.ndarray:
    """(H, W, 3) uint8 images joined along ``axis`` (0: rows, 1: columns), each padded on its
    bottom or right to the largest extent across, black gaps of ``gap`` px between them."""
    across = max(im.shape[1 - axis] for im in images)
    parts = []
    for k, im in enumerate(images):
        hw = [across, across]
        if k:
            hw[axis] = gap
            parts.append(np.zeros((*hw, 3), np.uint8))
        hw[axis] = im.shape[axis]
        parts.append(pad_to(im, *hw))
    return np.concatenate(parts, axis=axis)
