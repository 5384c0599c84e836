"""Helpers of the robustness tests: every case of issue 19, by the command a user types."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from perception3d.cli import main


def digests(root: Path) -> dict[str, str]:
    """Root-relative path -> sha256 of every file under ``root`` (hidden ones too)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def run_cli(capsys):
    """``run_cli(*argv) -> (exit status, stdout, stderr)`` of ``perception3d ARGV``."""

    def run(*argv: str) -> tuple[int, str, str]:
        status = main([str(a) for a in argv])
        out = capsys.readouterr()
        return status, out.out, out.err

    return run
