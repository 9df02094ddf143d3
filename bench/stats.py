"""Timing and summarising repeated measurements: every timing is the median of its runs,
reported with its spread (the fastest and the slowest run) and the runs themselves."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypedDict

MIB = 1024**2
"""MB in every rate and size the benchmark reports is 2^20 bytes."""


class Stat(TypedDict):
    median: float
    min: float
    max: float
    runs: list[float]


def timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def summary(values: list[float], digits: int = 3) -> Stat:
    if not values:
        raise ValueError("no runs to summarise")
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": [round(value, digits) for value in values],
    }


def rate(size_bytes: float, seconds: float) -> float:
    """MB/s (MB = 2^20 bytes)."""
    return round(size_bytes / MIB / seconds, 2) if seconds > 0 else 0.0
