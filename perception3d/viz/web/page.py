"""``perception3d view``: one self-contained HTML file with an interactive 3D view of frames.

The page holds everything it needs: the viewer's JavaScript and CSS (``perception3d/assets/
viewer/``, written for this project, no third-party code) and every frame's data as JSON
(:mod:`perception3d.viz.web.scene`), so it opens from disk or an e-mail attachment with no
server and no network. Size: at most ``max_points`` points per frame (7 bytes each before
base64) plus a JPEG of the camera view, about 0.3-0.6 MB per frame; at most
:data:`MAX_FRAMES` frames per page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
from tqdm import tqdm

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import KittiObjectDataset
from perception3d.geometry.boxes import BOX_EDGES
from perception3d.viz.style import HEADING_EDGES
from perception3d.viz.web.scene import ViewerOptions, frame_payload, style_payload

MAX_FRAMES = 50


def _asset(name: str) -> str:
    return resources.files("perception3d").joinpath("assets", "viewer", name).read_text("utf-8")


def render_page(frames: Sequence[dict], title: str, max_points: int) -> str:
    """The HTML page (a string) for frame payloads of :func:`frame_payload`."""
    if not frames:
        raise ValueError("the viewer needs at least one frame")
    style = style_payload()
    style["edges"] = np.concatenate([BOX_EDGES, HEADING_EDGES]).tolist()
    data = json.dumps(
        {"frames": list(frames), "style": style, "max_points": max_points},
        separators=(",", ":"),
    )
    # Inside <script>, "</" would end the element: JSON allows "<" escaped as \u003c.
    data = data.replace("<", "\\u003c")
    page = _asset("viewer.html")
    for key, value in (
        ("{{CSS}}", _asset("viewer.css")),
        ("{{JS}}", _asset("viewer.js")),
        ("{{TITLE}}", html.escape(title)),
    ):
        page = page.replace(key, value)
    return page.replace("{{DATA}}", data)


def write_view(
    data_root: str | Path,
    frame_ids: Sequence[str],
    out: str | Path,
    pred_dir: str | Path | None = None,
    options: ViewerOptions | None = None,
    title: str | None = None,
    progress: bool = True,
) -> Path:
    """Write the interactive view of frames of a KITTI-layout root (``perception3d view``).

    Args:
        data_root: folder holding ``training/`` (frames without ``label_2`` are shown
            unlabelled).
        frame_ids: frames to embed, in stepping order (at most :data:`MAX_FRAMES`).
        out: the ``.html`` file to write.
        pred_dir: folder of KITTI result files (``<id>.txt`` with scores): predictions, with
            TP / FP / FN colours from the KITTI evaluator's matching.
        options: points cap, image size, matching (:class:`ViewerOptions`).
        title: the page title (default: the data root and the first frame).

    Returns:
        The written path.

    Raises:
        ValueError: no frame, more than :data:`MAX_FRAMES`, or ``out`` not ``.html``.
    """
    from perception3d.viz.frame import read_predictions

    options = options or ViewerOptions()
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"--out {out}: the view is written as .html")
    ids = list(frame_ids)
    if not ids:
        raise ValueError("no frame to show")
    if len(ids) > MAX_FRAMES:
        raise ValueError(
            f"{len(ids)} frames: at most {MAX_FRAMES} per page (about 0.5 MB each); "
            "pass fewer with --frames"
        )
    dataset = KittiObjectDataset(data_root)
    payloads = []
    for fid in tqdm(ids, desc="view", disable=not progress or len(ids) < 2):
        frame = dataset.frame(fid)
        preds = read_predictions(pred_dir, frame.frame_id) if pred_dir is not None else None
        payloads.append(frame_payload(frame, preds, options))
    title = title or f"perception3d view: {Path(data_root).name} {payloads[0]['id']}"
    return atomic_write_text(out, render_page(payloads, title, options.max_points))
