"""Ctrl-C that a long loop cannot lose.

CPython's SIGINT handler raises ``KeyboardInterrupt`` in whichever Python frame runs next. When
that frame was entered from C code that clears every exception it sees (``PyObject_HasAttr``
before Python 3.13, attribute probes and callbacks inside extension libraries), the exception
is dropped without a trace and a training run goes on to its last epoch as if no key had been
pressed. :func:`sigint_guard` keeps the immediate ``KeyboardInterrupt`` and also records the
signal, so the loop's :meth:`InterruptGuard.check` at its next step raises it again if the first
one was swallowed. Within :meth:`InterruptGuard.deferred` (a checkpoint being written) SIGINT
is only recorded and raised when the block ends: a ``KeyboardInterrupt`` inside ``torch.save``
leaves its zip writer half-written, whose clean-up then raises a ``RuntimeError`` in its place.

The guard only replaces Python's own handler, in the main thread: a SIGINT that the process
ignores (a job started in the background by a non-interactive shell) or that someone else
handles (a notebook kernel) is left as it is.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["InterruptGuard", "sigint_guard"]


class InterruptGuard:
    """Whether SIGINT arrived while :func:`sigint_guard` was active."""

    def __init__(self) -> None:
        self.requested = False
        self.deferring = False

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if SIGINT arrived (its first raise may have been lost)."""
        if self.requested:
            raise KeyboardInterrupt

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Within the block SIGINT is only recorded; :meth:`check` raises it when the block
        ends (without an exception of its own)."""
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False
        self.check()


@contextmanager
def sigint_guard() -> Iterator[InterruptGuard]:
    """Within the block, SIGINT raises ``KeyboardInterrupt`` as usual and is also recorded on
    the yielded guard; the previous handler is restored on exit."""
    guard = InterruptGuard()
    active = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if not active:
        yield guard
        return

    def on_sigint(signum, frame) -> None:
        guard.requested = True
        if not guard.deferring:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield guard
    finally:
        signal.signal(signal.SIGINT, previous)
