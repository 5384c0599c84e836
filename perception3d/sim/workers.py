"""The generators' worker processes: tasks run in processes forked from a fork server.

Plain fork could inherit Open3D thread pools mid-use and spawn re-imports torch per worker, so
workers fork from a clean server that imported the generator (``preload``) once, with whatever
that import builds (``perception3d.sim.warmup``'s mesh templates) shared by every worker.
Scripts calling this need the usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

__all__ = ["run_in_workers"]


def _init_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def run_in_workers(
    fn: Callable[..., list],
    tasks: Sequence[tuple],
    workers: int,
    preload: Sequence[str],
    on_done: Callable[[int], object],
) -> list:
    """``fn(*task)`` for every task in at most ``workers`` processes; the lists they return,
    concatenated in the order the tasks finish (callers sort what needs an order).

    Args:
        fn: a module-level function returning a list (one entry per frame).
        tasks: its arguments, one tuple per call.
        workers: processes at most (no more than tasks).
        preload: modules the fork server imports before any worker forks from it.
        on_done: called with the length of each returned list (a progress bar's ``update``).
    """
    if not tasks:
        return []
    ctx = get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))
    results: list = []
    with ProcessPoolExecutor(
        min(workers, len(tasks)), mp_context=ctx, initializer=_init_worker
    ) as pool:
        futures = [pool.submit(fn, *task) for task in tasks]
        for fut in as_completed(futures):
            done = fut.result()
            results += done
            on_done(len(done))
    return results
