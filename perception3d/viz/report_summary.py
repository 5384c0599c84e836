"""The readable first part of a report: any result JSON as a few compact tables, training
curves as a plot, and Markdown tables (``isp_effect.md``) as HTML.

:func:`summary_tables` walks a JSON document (to depth 4) and gathers every object whose values
are plain numbers or strings: objects with the same keys become the rows of one table (e.g.
``detection / real / Car 3d@0.7`` and ``detection / synthetic / Car 3d@0.7`` of the
sim-to-real summary, ``conditions / hdr / mean / learned`` of an ISP evaluation); lists of such
objects up to :data:`MAX_ROWS` long become tables of their own (a training history's epochs, the
sim-to-real distances), except lists under a ``per_...`` key (``per_frame``: raw data only);
top-level numbers and strings form an overview. Longer lists are counted, not shown: the raw
JSON below the summary has everything.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Sequence

MAX_ROWS = 40
MAX_DEPTH = 4
_CURVE_X = ("epoch", "step", "iteration")


def _scalar(x: object) -> bool:
    return x is None or isinstance(x, (bool, int, float, str))


def fmt(value: object) -> str:
    """A JSON scalar as table text: floats to 4 significant digits."""
    if isinstance(value, bool) or value is None:
        return html.escape(str(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if (abs(value) < 1e-3 and value != 0) or abs(value) >= 1e5:
            return f"{value:.4g}"
        return f"{value:.4f}".rstrip("0").rstrip(".")
    text = str(value)
    return html.escape(text if len(text) <= 80 else text[:77] + "...")


def _walk(node: object, path: tuple[str, ...], depth: int, groups: dict, lists: list) -> None:
    if isinstance(node, dict):
        scalars = {str(k): v for k, v in node.items() if _scalar(v)}
        if scalars and path:
            groups.setdefault(tuple(scalars), []).append((path, scalars))
        if depth >= MAX_DEPTH:
            return
        for k, v in node.items():
            if isinstance(v, (dict, list)):
                _walk(v, (*path, str(k)), depth + 1, groups, lists)
    elif isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        rows = [{k: v for k, v in r.items() if _scalar(v)} for r in node]
        per_item = any(p.startswith("per_") for p in path)  # per_frame: raw data only
        if 2 <= len(rows) <= MAX_ROWS and any(rows) and not per_item:
            lists.append((path, rows))


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], first_key: bool = True) -> str:
    ths = "".join(
        f'<th class="key">{h}</th>' if i == 0 and first_key else f"<th>{h}</th>"
        for i, h in enumerate(head)
    )
    trs = "".join(
        "<tr>"
        + "".join(
            f'<td class="key">{c}</td>' if i == 0 and first_key else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{ths}</tr>{trs}</table>"


def overview_html(data: dict) -> str:
    """Top-level numbers and strings, and the length of long top-level lists, as one table."""
    rows = []
    for k, v in data.items():
        if _scalar(v):
            rows.append((html.escape(str(k)), fmt(v)))
        elif isinstance(v, list) and all(_scalar(x) for x in v):
            shown = ", ".join(fmt(x) for x in v[:8]) + (", ..." if len(v) > 8 else "")
            rows.append((html.escape(str(k)), f"{len(v)} items: {shown}"))
    return _table(("field", "value"), rows) if rows else ""


def summary_tables(data: object) -> str:
    """HTML tables summarizing a JSON document (see the module docstring)."""
    parts = [overview_html(data)] if isinstance(data, dict) else []
    groups: dict[tuple[str, ...], list] = {}
    lists: list = []
    _walk(data, (), 0, groups, lists)
    for keys, members in groups.items():
        if len(members) > MAX_ROWS:
            members = members[:MAX_ROWS]
        head = ("", *map(html.escape, keys))
        rows = [(html.escape(" / ".join(p)), *(fmt(s.get(k)) for k in keys)) for p, s in members]
        parts.append(_table(head, rows))
    for path, records in lists:
        keys = list(dict.fromkeys(k for r in records for k in r))
        rows = [[fmt(r.get(k, "")) for k in keys] for r in records]
        caption = f'<p class="meta">{html.escape(" / ".join(path))}</p>' if path else ""
        parts.append(caption + _table([html.escape(k) for k in keys], rows, first_key=False))
    return "".join(parts)


def curves_png(data: object) -> bytes | None:
    """A training history's curves (every numeric column of a list of records that has an
    ``epoch``, ``step`` or ``iteration`` column, e.g. ``history.json``), one panel per column
    up to six, as PNG bytes; None when the document has no such list."""
    lists: list = []
    _walk(data, (), 0, {}, lists)
    for path, records in lists:
        x_key = next((k for k in _CURVE_X if all(k in r for r in records)), None)
        if x_key is None:
            continue
        numeric = [
            k
            for k in dict.fromkeys(k for r in records for k in r)
            if k != x_key and all(isinstance(r.get(k), (int, float)) for r in records)
        ]
        if not numeric:
            continue
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        numeric = numeric[:6]
        fig = Figure(figsize=(min(3.2 * len(numeric), 9.6), 2.6 * math.ceil(len(numeric) / 3)))
        FigureCanvasAgg(fig)
        cols = min(3, len(numeric))
        for i, key in enumerate(numeric):
            ax = fig.add_subplot(math.ceil(len(numeric) / cols), cols, i + 1)
            ax.plot([r[x_key] for r in records], [r[key] for r in records], marker="o", ms=3)
            ax.set_xlabel(x_key)
            ax.set_title(" / ".join((*path, key)), fontsize=9)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        return buf.getvalue()
    return None


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def markdown_html(text: str) -> str:
    """The subset of Markdown our result files use: headings, **bold**, `code`, pipe tables
    and paragraphs.

    Example:
        >>> markdown_html("**A**\\n\\n| x | y |\\n|---|---|\\n| 1 | 2 |")
        '<p><b>A</b></p><table><tr><th>x</th><th>y</th></tr><tr><td>1</td><td>2</td></tr></table>'
    """
    out, table, para = [], [], []

    def flush() -> None:
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()
        if table:
            head, *body = table
            ths = "".join(f"<th>{_inline(c)}</th>" for c in head)
            trs = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body
            )
            out.append(f"<table><tr>{ths}</tr>{trs}</table>")
            table.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            if para:
                flush()
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                table.append(cells)
        elif not stripped:
            flush()
        elif m := re.match(r"(#{1,4})\s+(.*)", stripped):
            flush()
            level = min(len(m.group(1)) + 2, 6)
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        else:
            if table:
                flush()
            para.append(stripped)
    flush()
    return "".join(out)
