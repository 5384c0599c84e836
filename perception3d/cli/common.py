"""Argument types shared by the command modules."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def csv_list(kind: Callable) -> Callable[[str], list]:
    """An argparse type: ``"a,b,c"`` -> ``[kind("a"), kind("b"), kind("c")]``."""

    def parse(text: str) -> list:
        try:
            return [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated values, got {text!r}"
            ) from None

    return parse
