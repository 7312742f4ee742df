"""Small statistics helpers: percentiles and summaries of latency samples."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None without samples."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    rank = (len(data) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


def summary(values: Iterable[float]) -> dict[str, Any]:
    """count, min, p50, p95, p99, max and mean (seconds, rounded to the millisecond)."""
    data = sorted(values)
    result: dict[str, Any] = {"count": len(data)}
    for key, value in (
        ("min", data[0] if data else None),
        ("p50", percentile(data, 50)),
        ("p95", percentile(data, 95)),
        ("p99", percentile(data, 99)),
        ("max", data[-1] if data else None),
        ("mean", sum(data) / len(data) if data else None),
    ):
        result[key] = None if value is None else round(value, 3)
    return result


def group_by_gaps(times: list[float], gap: float) -> list[list[float]]:
    """Split sorted timestamps into bursts separated by more than `gap` seconds."""
    groups: list[list[float]] = []
    for t in sorted(times):
        if groups and t - groups[-1][-1] <= gap:
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups
