"""A self-contained HTML report of a run: its metrics (JSON) as tables and its pictures embedded.

``perception3d report RUN_DIR [MORE ...] --out report.html`` gathers every ``*.json`` and
``*.png`` / ``*.gif`` / ``*.jpg`` under the given folders (or the given files), sorted by path.
KITTI evaluation results (``perception3d eval kitti``: class -> R40/R11 -> metric -> [easy,
moderate, hard]) become one AP table per class; any other JSON becomes nested key/value tables.
Pictures are embedded as base64 ``data:`` URIs, so the page needs no other file and no network.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path

from perception3d.atomic import atomic_write_text
from perception3d.errors import DataFormatError

IMAGE_TYPES = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
_MAX_LIST = 12  # longer lists of numbers are shortened in tables
_CSS = """
body { font-family: sans-serif; margin: 24px; background: #fafafa; color: #1a1a1a; }
h1 { background: #1f3a5f; color: #fff; padding: 12px 16px; margin: -24px -24px 24px; }
h2 { border-bottom: 2px solid #1f3a5f; padding-bottom: 4px; margin-top: 32px; }
h3 { margin: 18px 0 6px; }
table { border-collapse: collapse; margin: 6px 0 14px; background: #fff; }
th, td { border: 1px solid #c8ccd4; padding: 3px 9px; text-align: right; font-size: 13px; }
th { background: #e4e9f2; }
td.key, th.key { text-align: left; font-family: monospace; }
figure { margin: 12px 0 24px; }
figure img { max-width: 100%; border: 1px solid #c8ccd4; }
figcaption { font-family: monospace; font-size: 13px; color: #444; }
.meta { color: #555; font-size: 13px; }
"""


def is_kitti_result(data: object) -> bool:
    """True for the evaluator's JSON: class -> {"R40"|"R11": {"metric@thr": [e, m, h]}}."""
    if not isinstance(data, dict):
        return False
    classes = [v for k, v in data.items() if k != "meta"]
    return bool(classes) and all(
        isinstance(v, dict)
        and v
        and set(v) <= {"R40", "R11"}
        and all(
            isinstance(t, dict) and all(isinstance(x, list) and len(x) == 3 for x in t.values())
            for t in v.values()
        )
        for v in classes
    )


def _fmt(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return html.escape(str(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return (
            f"{value:.4g}"
            if abs(value) < 1e-3 or abs(value) >= 1e5
            else f"{value:.4f}".rstrip("0").rstrip(".")
        )
    return html.escape(str(value))


def kitti_tables(data: dict) -> str:
    """HTML: one AP table per class (rows metric@overlap, columns R40/R11 x difficulty)."""
    parts = []
    for cls, by_recall in data.items():
        if cls == "meta":
            continue
        recalls = [r for r in ("R40", "R11") if r in by_recall]
        metrics = list(dict.fromkeys(m for r in recalls for m in by_recall[r]))
        head = "".join(f'<th colspan="3">AP {r} (%)</th>' for r in recalls)
        sub = "".join("<th>easy</th><th>moderate</th><th>hard</th>" for _ in recalls)
        rows = []
        for m in metrics:
            cells = "".join(
                "".join(f"<td>{v:.2f}</td>" for v in by_recall[r].get(m, [math.nan] * 3))
                for r in recalls
            )
            rows.append(f'<tr><td class="key">{html.escape(m)}</td>{cells}</tr>')
        parts.append(
            f"<h3>{html.escape(cls)}</h3><table>"
            f'<tr><th class="key" rowspan="2">metric</th>{head}</tr><tr>{sub}</tr>'
            + "".join(rows)
            + "</table>"
        )
    if isinstance(data.get("meta"), dict):
        parts.append("<h3>meta</h3>" + value_html(data["meta"]))
    return "".join(parts)


def value_html(value: object) -> str:
    """Any JSON value as HTML: dicts as key/value tables, lists of dicts as tables with one
    column per key, lists of scalars inline (shortened past 12 items), scalars formatted."""
    if isinstance(value, dict):
        rows = "".join(
            f'<tr><td class="key">{html.escape(str(k))}</td><td>{value_html(v)}</td></tr>'
            for k, v in value.items()
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f'<th class="key">{html.escape(str(k))}</th>' for k in keys)
            rows = "".join(
                "<tr>" + "".join(f"<td>{value_html(v.get(k, ''))}</td>" for k in keys) + "</tr>"
                for v in value
            )
            return f"<table><tr>{head}</tr>{rows}</table>"
        shown = ", ".join(
            _fmt(v) if not isinstance(v, (dict, list)) else value_html(v) for v in value[:_MAX_LIST]
        )
        more = f", ... ({len(value)} items)" if len(value) > _MAX_LIST else ""
        return f"[{shown}{more}]"
    return _fmt(value)


def collect(
    sources: Sequence[str | Path],
) -> tuple[list[tuple[str, object]], list[tuple[str, Path]]]:
    """JSON documents and pictures under ``sources`` (files or folders), sorted by path.

    Returns:
        metrics: (display name, parsed JSON); images: (display name, path).

    Raises:
        FileNotFoundError: a source does not exist. DataFormatError: a JSON file does not parse.
    """
    files: list[tuple[str, Path]] = []
    for src in map(Path, sources):
        if src.is_dir():
            for p in sorted(src.rglob("*")):
                if p.is_file():
                    files.append((str(Path(src.name) / p.relative_to(src)), p))
        elif src.is_file():
            files.append((src.name, src))
        else:
            raise FileNotFoundError(f"{src}: no such file or folder")
    metrics, images = [], []
    for name, path in files:
        suffix = path.suffix.lower()
        if suffix == ".json":
            try:
                metrics.append((name, json.loads(path.read_text())))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DataFormatError(path, f"not valid JSON ({exc})") from None
        elif suffix in IMAGE_TYPES:
            images.append((name, path))
    return metrics, images


def render_report(
    metrics: Sequence[tuple[str, object]],
    images: Sequence[tuple[str, Path | bytes]],
    title: str = "perception3d report",
) -> str:
    """The HTML page (a string) for given metrics and pictures (paths, or PNG bytes)."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    body.append(f'<p class="meta">{len(metrics)} metrics files, {len(images)} pictures</p>')
    if metrics:
        body.append("<h2>Metrics</h2>")
        for name, data in metrics:
            table = kitti_tables(data) if is_kitti_result(data) else value_html(data)
            body.append(f'<section><h3 class="key">{html.escape(name)}</h3>{table}</section>')
    if images:
        body.append("<h2>Pictures</h2>")
        for name, img in images:
            if isinstance(img, bytes):
                data, mime = img, "image/png"
            else:
                data, mime = Path(img).read_bytes(), IMAGE_TYPES[Path(img).suffix.lower()]
            uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            body.append(
                f'<figure><img src="{uri}" alt="{html.escape(name)}">'
                f"<figcaption>{html.escape(name)}</figcaption></figure>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def build_report(
    sources: Sequence[str | Path], out: str | Path, title: str = "perception3d report"
) -> Path:
    """Gather metrics and pictures under ``sources`` into one self-contained HTML page.

    Returns:
        The written path (``out``). The page itself is left out if it lies under a source.
    """
    out = Path(out)
    metrics, images = collect(sources)
    images = [(n, p) for n, p in images if p.resolve() != out.resolve()]
    if not metrics and not images:
        raise FileNotFoundError(f"no *.json or picture files under {', '.join(map(str, sources))}")
    return atomic_write_text(out, render_report(metrics, images, title))
