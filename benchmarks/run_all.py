"""Run every ``benchmarks/bench_*.py`` in turn (``make bench``); each prints its figures and
writes ``benchmarks/results/<name>.json``. Pass names to run a subset:
``python benchmarks/run_all.py iou spherical``."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main(names: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
        if not scripts:
            print(
                f"no benchmark named {names}; have: "
                f"{[s.stem.removeprefix('bench_') for s in sorted(HERE.glob('bench_*.py'))]}"
            )
            return 2
    for script in scripts:
        runpy.run_path(str(script), run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
