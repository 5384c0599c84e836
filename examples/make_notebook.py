"""``python examples/make_notebook.py``: write ``examples/perception3d_examples.ipynb`` from the
three example scripts, so that the notebook and the scripts are the same code (a test checks
that the committed notebook equals what this writes, and executes it).

Each script is a module docstring (a markdown cell: its title and text) and cells marked
``# %%`` (code) or ``# %% [markdown]`` (markdown, its lines' ``# `` removed).
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("detect_evaluate_draw.py", "isp_on_image.py", "isp_effect_four_frames.py")
NOTEBOOK = HERE / "perception3d_examples.ipynb"
INTRO = """# perception3d: three examples

The scripts of `examples/` as one notebook (`python examples/make_notebook.py` writes it from
them). Run it from the repository root, where the paths below start."""


def _cell(kind: str, text: str) -> dict:
    cell = {"cell_type": kind, "metadata": {}, "source": text.strip("\n").splitlines(True)}
    if kind == "code":
        cell |= {"execution_count": None, "outputs": []}
    return cell


def script_cells(path: Path) -> list[dict]:
    """The notebook cells of one example script."""
    text = path.read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(text)) or ""
    title, _, body = doc.partition("\n")
    cells = [_cell("markdown", f"## {title.strip()}\n{body}\n\n(`examples/{path.name}`)")]
    for chunk in text.split("\n# %%")[1:]:
        header, _, rest = chunk.partition("\n")
        if header.strip() == "[markdown]":
            lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in
                     rest.strip("\n").splitlines()]  # fmt: skip
            cells.append(_cell("markdown", "\n".join(lines)))
        elif rest.strip():
            cells.append(_cell("code", rest))
    return cells


def build_notebook() -> dict:
    """The notebook (nbformat 4 JSON) of the three scripts."""
    cells = [_cell("markdown", INTRO)]
    for name in SCRIPTS:
        cells += script_cells(HERE / name)
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    metadata = {"kernelspec": kernel, "language_info": {"name": "python"}}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def notebook_text() -> str:
    nb = build_notebook()
    for k, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{k:02d}"  # stable ids (nbformat 4.5 wants one per cell)
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    NOTEBOOK.write_text(notebook_text(), encoding="utf-8")
    print(f"wrote {NOTEBOOK}", file=sys.stderr)
