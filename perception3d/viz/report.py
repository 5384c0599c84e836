"""A self-contained HTML report of a run that leads with the answer: a summary of its results
(tables with object counts, Markdown tables, training curves), its plots and pictures, its
interactive 3D views, and only then the raw JSON, folded.

``perception3d report RUN_DIR [MORE ...] --out report.html`` gathers every ``*.json``, ``*.md``,
``*.png`` / ``*.gif`` / ``*.jpg`` and viewer page (``*.html`` written by ``perception3d view``)
under the given folders (or the given files), sorted by path. Markdown files (e.g.
``isp_effect.md``) are shown first, as HTML. KITTI evaluation results (``perception3d eval
kitti``: class -> R40/R11/all_point -> metric -> [easy, moderate, hard]) become one AP table
per class, headed by the objects counted per difficulty and a warning where fewer than 40 cap
AP R40 (docs/evaluation.md), with precision / recall at the score threshold when the
evaluation had one; any other JSON is summarized by
:func:`perception3d.viz.report_summary.summary_tables` (and a training history plotted). The
raw JSON of every file follows in a closed ``<details>`` element. Pictures are embedded as
base64 ``data:`` URIs and views as ``<iframe srcdoc>``, so the page needs no other file and no
network; wide tables scroll inside their own box, so nothing is wider than the page.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path

from perception3d.atomic import atomic_write_text
from perception3d.errors import DataFormatError
from perception3d.viz.report_summary import curves_png, fmt, markdown_html, summary_tables

IMAGE_TYPES = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
VIEW_MARKER = 'id="p3d-data"'  # in every page written by ``perception3d view``
_MAX_RAW_CHARS = 200_000
_CSS = """
body { font-family: sans-serif; margin: 0 auto; padding: 0 24px 24px; max-width: 1400px;
  background: #fafafa; color: #1a1a1a; }
p, figcaption, summary, h3 { overflow-wrap: anywhere; }
h1 { background: #1f3a5f; color: #fff; padding: 12px 16px; margin: 0 -24px 24px; }
h2 { border-bottom: 2px solid #1f3a5f; padding-bottom: 4px; margin-top: 32px; }
h3 { margin: 18px 0 6px; }
table { border-collapse: collapse; margin: 6px 0 14px; display: block; max-width: 100%;
  width: max-content; overflow-x: auto; }
td { background: #fff; }
th, td { border: 1px solid #c8ccd4; padding: 3px 9px; text-align: right; font-size: 13px;
  white-space: nowrap; }
th { background: #e4e9f2; }
td.key, th.key { text-align: left; font-family: monospace; }
figure { margin: 12px 0 24px; }
figure img { max-width: 100%; border: 1px solid #c8ccd4; }
figcaption { font-family: monospace; font-size: 13px; color: #444; }
.meta { color: #555; font-size: 13px; }
.warn { color: #a04000; }
details { margin: 6px 0; }
summary { cursor: pointer; font-family: monospace; font-size: 13px; }
pre { white-space: pre-wrap; word-break: break-all; font-size: 12px; background: #fff;
  border: 1px solid #c8ccd4; padding: 8px; max-height: 480px; overflow: auto; }
iframe { width: 100%; height: 760px; border: 1px solid #c8ccd4; }
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


def _counts_html(cls: str, meta: dict) -> str:
    """The objects counted per difficulty and, below 40, the cap they put on AP_R40."""
    counted = (meta.get("gt_counted") or {}).get(cls)
    if not isinstance(counted, dict):
        return ""
    caps = (meta.get("r40_cap") or {}).get(cls) or {}
    cells = ", ".join(f"{html.escape(str(d))} {fmt(n)}" for d, n in counted.items())
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
        f'<p class="meta">at score &ge; {fmt(threshold)}: precision / recall (TP FP FN)</p>'
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
        parts.append("<h3>meta</h3>" + summary_tables(meta))
    return "".join(parts)


class Sources:
    """What a report shows, each as (display name, content), sorted by path.

    Attributes:
        metrics: parsed JSON documents; notes: Markdown texts; images: picture paths (or PNG
        bytes); views: viewer pages (HTML text of ``perception3d view``).
    """

    def __init__(self) -> None:
        self.metrics: list[tuple[str, object]] = []
        self.notes: list[tuple[str, str]] = []
        self.images: list[tuple[str, Path | bytes]] = []
        self.views: list[tuple[str, str]] = []


def collect_sources(sources: Sequence[str | Path], exclude: Path | None = None) -> Sources:
    """JSON, Markdown, pictures and viewer pages under ``sources`` (files or folders).

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
    found = Sources()
    for name, path in files:
        if exclude is not None and path.resolve() == exclude.resolve():
            continue
        suffix = path.suffix.lower()
        if suffix == ".json":
            try:
                found.metrics.append((name, json.loads(path.read_text())))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DataFormatError(path, f"not valid JSON ({exc})") from None
        elif suffix == ".md":
            found.notes.append((name, path.read_text(errors="replace")))
        elif suffix in IMAGE_TYPES:
            found.images.append((name, path))
        elif suffix in (".html", ".htm"):
            text = path.read_text(errors="replace")
            if VIEW_MARKER in text:
                found.views.append((name, text))
    return found


def collect(
    sources: Sequence[str | Path],
) -> tuple[list[tuple[str, object]], list[tuple[str, Path]]]:
    """JSON documents and pictures under ``sources`` (see :func:`collect_sources`)."""
    found = collect_sources(sources)
    return found.metrics, found.images


def _figure(name: str, img: Path | bytes) -> str:
    if isinstance(img, bytes):
        data, mime = img, "image/png"
    else:
        data, mime = Path(img).read_bytes(), IMAGE_TYPES[Path(img).suffix.lower()]
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return (
        f'<figure><img src="{uri}" alt="{html.escape(name)}">'
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
    )


def _raw_json(name: str, data: object) -> str:
    text = json.dumps(data, indent=1, default=str)
    if len(text) > _MAX_RAW_CHARS:
        text = text[:_MAX_RAW_CHARS] + f"\n... ({len(text):,} characters, cut)"
    return (
        f"<details><summary>{html.escape(name)} (raw JSON)</summary>"
        f"<pre>{html.escape(text)}</pre></details>"
    )


def render_report(
    metrics: Sequence[tuple[str, object]],
    images: Sequence[tuple[str, Path | bytes]],
    title: str = "perception3d report",
    notes: Sequence[tuple[str, str]] = (),
    views: Sequence[tuple[str, str]] = (),
) -> str:
    """The HTML page (a string): summary (Markdown notes, per-JSON tables, training curves),
    pictures, interactive views, then the raw JSON folded."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    counts = f"{len(metrics)} result files, {len(images)} pictures"
    body.append(f'<p class="meta">{counts}{f", {len(views)} views" if views else ""}</p>')
    if notes or metrics:
        body.append("<h2>Summary</h2>")
    for name, text in notes:
        body.append(f'<section><h3 class="key">{html.escape(name)}</h3>')
        body.append(f"{markdown_html(text)}</section>")
    curves = []
    for name, data in metrics:
        table = kitti_tables(data) if is_kitti_result(data) else summary_tables(data)
        body.append(f'<section><h3 class="key">{html.escape(name)}</h3>{table}</section>')
        if (png := curves_png(data)) is not None:
            curves.append((f"{name}: curves", png))
    if curves or images:
        body.append("<h2>Plots and pictures</h2>")
        body.extend(_figure(name, img) for name, img in [*curves, *images])
    if views:
        body.append("<h2>Interactive view</h2>")
        for name, page in views:
            body.append(
                f'<p class="meta">{html.escape(name)}: drag to turn, wheel to zoom</p>'
                f'<iframe title="{html.escape(name)}" srcdoc="{html.escape(page)}"></iframe>'
            )
    if metrics:
        body.append("<h2>Raw data</h2>")
        body.extend(_raw_json(name, data) for name, data in metrics)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def build_report(
    sources: Sequence[str | Path], out: str | Path, title: str = "perception3d report"
) -> Path:
    """Gather results, notes, pictures and views under ``sources`` into one self-contained
    HTML page.

    Returns:
        The written path (``out``). The page itself is left out if it lies under a source.
    """
    out = Path(out)
    found = collect_sources(sources, exclude=out)
    if not (found.metrics or found.images or found.notes or found.views):
        raise FileNotFoundError(f"no *.json or picture files under {', '.join(map(str, sources))}")
    page = render_report(found.metrics, found.images, title, found.notes, found.views)
    return atomic_write_text(out, page)
