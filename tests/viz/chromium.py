"""Headless Chromium for the page tests: a screenshot and the DOM after the scripts ran.

Chromium is the Debian package ``chromium`` (``make test-system-deps`` installs it); the tests
using it skip only when no Chromium binary is on the PATH.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no Chromium (Debian package 'chromium', installed by `make test-system-deps`)")


def _run(url: str, profile: Path, extra: list[str], size: tuple[int, int]) -> str:
    cmd = [
        chromium_path(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
        f"--window-size={size[0]},{size[1]}",
        "--virtual-time-budget=10000",
        *extra,
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def screenshot(
    page: Path, tmp_path: Path, fragment: str = "", size: tuple[int, int] = (1400, 900)
) -> np.ndarray:
    """The page (``file://`` URL, ``#fragment``) as an (H, W, 3) uint8 screenshot."""
    from PIL import Image

    shot = tmp_path / f"shot-{abs(hash(fragment))}.png"
    url = page.as_uri() + (f"#{fragment}" if fragment else "")
    _run(url, tmp_path / "chromium-profile", [f"--screenshot={shot}"], size)
    return np.asarray(Image.open(shot).convert("RGB"))


def body_attributes(
    page: Path, tmp_path: Path, fragment: str = "", size: tuple[int, int] = (1400, 900)
) -> dict[str, str]:
    """The ``data-*`` attributes of ``<body>`` once the page's scripts have run."""
    url = page.as_uri() + (f"#{fragment}" if fragment else "")
    dom = _run(url, tmp_path / "chromium-profile", ["--dump-dom"], size)
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:500]
    return dict(re.findall(r'data-([a-z]+)="([^"]*)"', body.group(1)))
