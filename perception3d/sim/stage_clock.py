"""Wall and CPU seconds of the generator's stages, per frame and averaged over a run."""

from __future__ import annotations

import time
from collections.abc import Iterable

__all__ = ["StageClock", "mean_stage_seconds"]


class StageClock:
    """Times consecutive stages: each :meth:`lap` records the wall (``time.perf_counter``) and
    CPU (``time.process_time``) seconds since the previous lap (or since construction).

    Example:
        >>> clock = StageClock()
        >>> clock.lap("scene")
        >>> sorted(clock.seconds)
        ['cpu_scene', 'scene']
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        """Record the stage ``name`` as ``seconds[name]`` (wall) and ``seconds["cpu_" + name]``."""
        now, cpu_now = time.perf_counter(), time.process_time()
        self.seconds[name], self.seconds[f"cpu_{name}"] = now - self._wall, cpu_now - self._cpu
        self._wall, self._cpu = now, cpu_now


def mean_stage_seconds(results: Iterable[dict]) -> dict[str, float]:
    """Mean of each stage over frame results holding a ``seconds`` dict (a stage missing from a
    frame counts 0 s there); {} for no results.

    Example:
        >>> mean_stage_seconds([{"seconds": {"lidar": 1.0}}, {"seconds": {"lidar": 3.0}}])
        {'lidar': 2.0}
    """
    results = list(results)
    stages = sorted({k for r in results for k in r["seconds"]})
    n = max(len(results), 1)
    return {k: sum(r["seconds"].get(k, 0.0) for r in results) / n for k in stages}
