"""Value checks shared by the generator's config dataclasses (they raise ValueError, which the
config loader reports with the file and key)."""

from __future__ import annotations

import math

__all__ = ["check_probability", "check_range", "check_rates", "check_weights"]


def check_range(name: str, pair: tuple[float, float], lo: float = -math.inf) -> None:
    if not (lo <= pair[0] <= pair[1]):
        raise ValueError(f"{name} must be an increasing pair >= {lo}, got {pair}")


def check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")


def check_weights(name: str, table: dict[str, float], allowed: tuple[str, ...]) -> None:
    if set(table) - set(allowed) or min(table.values(), default=-1) < 0 or sum(table.values()) <= 0:
        raise ValueError(f"{name} must weigh {allowed} with >= 0 (not all 0), got {table}")


def check_rates(name: str, table: dict[str, float], allowed: tuple[str, ...]) -> None:
    """``table`` maps some of ``allowed`` to means >= 0 (all may be 0)."""
    if set(table) - set(allowed) or any(v < 0 for v in table.values()):
        raise ValueError(f"{name} must map {allowed} to >= 0, got {table}")
