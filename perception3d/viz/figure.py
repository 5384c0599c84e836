"""Matplotlib without a display: the pyplot module on the Agg backend, and a figure written as
a PNG file atomically."""

from __future__ import annotations

import io
from pathlib import Path

from perception3d.atomic import atomic_write_bytes

__all__ = ["pyplot", "save_figure"]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path, dpi: int = 90, tight_layout: bool = True, **options) -> Path:
    """Write the matplotlib figure ``fig`` to ``path`` as a PNG of ``dpi`` dots per inch
    (after ``fig.tight_layout()`` unless ``tight_layout`` is False; ``options`` go to
    ``savefig``), atomically, and close it.

    Example:
        >>> import tempfile
        >>> fig = pyplot().figure(figsize=(1, 1))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     save_figure(fig, Path(d) / "f.png").read_bytes()[:4]
        b'\\x89PNG'
    """
    if tight_layout:
        fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, **options)
    pyplot().close(fig)
    return atomic_write_bytes(path, buf.getvalue())
