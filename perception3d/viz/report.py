"""A self-contained HTML report of a run: its metrics (JSON) as tables and its pictures embedded.

``perception3d report RUN_DIR [MORE ...] --out report.html`` gathers every ``*.json`` and
``*.png`` / ``*.gif`` / ``*.jpg`` under the given folders (or the given files), sorted by path.
KITTI evaluation results (``perception3d eval kitti``: class -> R40/R11/all_point -> metric ->
[easy, moderate, hard]) become one AP table per class, headed by the objects counted per
difficulty and a warning where fewer than 40 cap AP R40 (docs/evaluation.md), with precision /
recall at the score threshold when the evaluation had one; any other JSON becomes nested
key/value tables.
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
.warn { color: #a04000; }
"""


_AP_TABLES = ("R40", "R11", "all_point")
_AP_HEADS = {"R40": "AP R40 (%)", "R11": "AP R11 (%)", "all_point": "AP all-point (%)"}
_DIFFICULTIES = ("easy", "moderate", "hard")


def _is_row(x: object) -> bool:
    return x is None or (isinstance(x, list) and len(x) == 3)  # aos is None without alpha


def is_kitti_result(data: object) -> bool:
    """True for the evaluator's JSON: class -> {"R40"|"R11"|"all_point": {"metric@thr": [e, m,
    h]}, optionally "at_score": {"metric@thr": [counts per difficulty]}}."""
    if not isinstance(data, dict):
        return False
    classes = [v for k, v in data.items() if k != "meta"]
    return bool(classes) and all(
        isinstance(v, dict)
        and set(v) & {"R40", "R11"}
        and set(v) <= {*_AP_TABLES, "at_score"}
        and all(
            isinstance(t, dict) and all(_is_row(x) for x in t.values())
            for k, t in v.items()
            if k in _AP_TABLES
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


def _counts_html(cls: str, meta: dict) -> str:
    """The objects counted per difficulty and, below 40, the cap they put on AP_R40."""
    counted = (meta.get("gt_counted") or {}).get(cls)
    if not isinstance(counted, dict):
        return ""
    caps = (meta.get("r40_cap") or {}).get(cls) or {}
    cells = ", ".join(f"{html.escape(str(d))} {_fmt(n)}" for d, n in counted.items())
    capped = [
        f"{html.escape(str(d))} {caps[d]:.1f}"
        for d, n in counted.items()
        if isinstance(n, int) and n < 40 and isinstance(caps.get(d), (int, float))
    ]
    warning = (
        f' <b class="warn">AP R40 is capped by the object count (at most (n - 1) / 40): '
        f"{', '.join(capped)}; read AP all-point instead</b>"
        if capped
        else ""
    )
    return f'<p class="meta">objects counted: {cells}.{warning}</p>'


def _at_score_html(at_score: dict, threshold: object) -> str:
    rows = []
    for metric, cells in at_score.items():
        tds = "".join(
            f"<td>{c['precision']:.3f} / {c['recall']:.3f} ({c['tp']} {c['fp']} {c['fn']})</td>"
            if isinstance(c, dict)
            else "<td>-</td>"
            for c in (cells or [None] * 3)
        )
        rows.append(f'<tr><td class="key">{html.escape(str(metric))}</td>{tds}</tr>')
    head = "".join(f"<th>{d}</th>" for d in _DIFFICULTIES)
    return (
        f'<p class="meta">at score &ge; {_fmt(threshold)}: precision / recall (TP FP FN)</p>'
        f'<table><tr><th class="key">metric</th>{head}</tr>{"".join(rows)}</table>'
    )


def kitti_tables(data: dict) -> str:
    """HTML: per class its object counts (with the AP R40 cap where fewer than 40 objects
    count), one AP table (rows metric@overlap, columns R40 / R11 / all-point x difficulty) and,
    when the evaluation had a score threshold, precision / recall there."""
    parts = []
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    for cls, by_recall in data.items():
        if cls == "meta":
            continue
        tables = [r for r in _AP_TABLES if r in by_recall]
        metrics = list(dict.fromkeys(m for r in tables for m in by_recall[r]))
        head = "".join(f'<th colspan="3">{_AP_HEADS[r]}</th>' for r in tables)
        sub = "".join("<th>easy</th><th>moderate</th><th>hard</th>" for _ in tables)
        rows = []
        for m in metrics:
            cells = "".join(
                "".join(
                    f"<td>{v:.2f}</td>" if isinstance(v, (int, float)) else "<td>-</td>"
                    for v in (by_recall[r].get(m) or [None] * 3)
                )
                for r in tables
            )
            rows.append(f'<tr><td class="key">{html.escape(m)}</td>{cells}</tr>')
        parts.append(
            f"<h3>{html.escape(cls)}</h3>{_counts_html(cls, meta)}<table>"
            f'<tr><th class="key" rowspan="2">metric</th>{head}</tr><tr>{sub}</tr>'
            + "".join(rows)
            + "</table>"
        )
        if isinstance(by_recall.get("at_score"), dict):
            parts.append(_at_score_html(by_recall["at_score"], meta.get("score_threshold")))
    if meta:
        parts.append("<h3>meta</h3>" + value_html(meta))
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
