"""The examples of ``examples/``: the scripts run from the repository root and write what they
say; the notebook is the same code as the scripts and runs top to bottom in a Jupyter kernel
(the ISP-effect part in its small mode, ``PERCEPTION3D_EXAMPLES_SMALL=1``)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def _run(script: str, argv: list[str], monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "argv", [script, *argv])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")


def _picture(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_detect_evaluate_draw(tmp_path, monkeypatch, capsys):
    _run("detect_evaluate_draw.py", ["--out", str(tmp_path)], monkeypatch)
    out = capsys.readouterr().out
    assert "frame 000008: 17238 points" in out and "Car        moderate objects" in out
    picture = _picture(tmp_path / "detect_000008.png")
    assert picture.shape[1] == 1242 and picture.std() > 10  # drawn, not blank


def test_isp_on_image(tmp_path, monkeypatch, capsys):
    pytest.importorskip("kornia")  # the classical ISP's demosaicing (perception3d[isp])
    _run("isp_on_image.py", ["--out", str(tmp_path)], monkeypatch)
    psnr = {
        line.split()[0]: float(line.split()[2])
        for line in capsys.readouterr().out.splitlines()
        if "PSNR" in line
    }
    assert set(psnr) == {"none", "classical", "learned"}
    assert psnr["learned"] > psnr["none"]  # the shipped raw stage denoises this capture
    assert _picture(tmp_path / "isp_lowlight.png").shape == (2 * 375, 2 * 1242, 3)


def test_the_notebook_is_the_scripts():
    sys.path.insert(0, str(EXAMPLES))
    try:
        from make_notebook import NOTEBOOK, notebook_text
    finally:
        sys.path.remove(str(EXAMPLES))
    assert NOTEBOOK.read_text(encoding="utf-8") == notebook_text(), (
        "examples/perception3d_examples.ipynb differs from the scripts: run "
        "python examples/make_notebook.py"
    )
    code = [c for c in json.loads(notebook_text())["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] for c in code)  # committed without outputs


@pytest.mark.slow
def test_the_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")  # perception3d[notebook]
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("open3d")  # the ISP-effect part generates its frames
    pytest.importorskip("kornia")
    # The notebook's paths start at the repository root: a working folder with the same
    # entries (links), so that its outputs land in tmp_path.
    for name in ("perception3d", "configs", "tests"):
        (tmp_path / name).symlink_to(REPO / name)
    monkeypatch.setenv("PERCEPTION3D_EXAMPLES_SMALL", "1")
    nb = nbformat.read(EXAMPLES / "perception3d_examples.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "learned   PSNR" in text and "| lowlight_3e-3 | learned |" in text
    out = tmp_path / "outputs" / "examples"
    for name in ("detect_000008.png", "isp_lowlight.png", "isp_effect/report.html"):
        assert (out / name).stat().st_size > 0, name
