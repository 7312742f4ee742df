"""Where the operator's memory goes: tracemalloc, for the benchmark's memory scenario.

With `BENCH_TRACEMALLOC_FILE=<path>` the benchmark's operator (bench/operator.py) traces
its allocations from start-up and, on SIGUSR2, writes the live memory grouped by the
package that allocated it (largest first) to that file as JSON. Tracing costs memory and
CPU: the product has no such switch. Standard library only: it starts before the imports
it measures.
"""

from __future__ import annotations

import json
import os
import signal
import tracemalloc
from collections import Counter
from pathlib import Path

ENV = "BENCH_TRACEMALLOC_FILE"
_PACKAGES = ("nks_operator", "kopf", "aiohttp", "httpx", "httpcore", "pydantic", "yaml")


def _group(filename: str) -> str:
    """`.../site-packages/kopf/_core/x.py` -> `kopf`; the operator by its subpackage."""
    parts = Path(filename).parts
    for index, part in enumerate(parts):
        if part == "nks_operator" and index + 1 < len(parts):
            sub = parts[index + 1]
            return f"nks_operator.{sub.removesuffix('.py')}"
        if part in _PACKAGES or part.startswith(_PACKAGES):
            return part
        if part == "site-packages" and index + 1 < len(parts):
            return parts[index + 1].split(".")[0]
    return "python" if "lib/python" in filename else filename


def snapshot_by_package() -> dict[str, int]:
    snapshot = tracemalloc.take_snapshot()
    sizes: Counter[str] = Counter()
    for stat in snapshot.statistics("filename"):
        sizes[_group(stat.traceback[0].filename)] += stat.size
    return dict(sizes.most_common())


def top_lines(limit: int = 25) -> list[tuple[str, int]]:
    """The allocation sites holding the most live memory: `file:line` -> bytes."""
    snapshot = tracemalloc.take_snapshot()
    return [
        (f"{stat.traceback[0].filename}:{stat.traceback[0].lineno}", stat.size)
        for stat in snapshot.statistics("lineno")[:limit]
    ]


def install() -> None:
    """Trace allocations and dump them on SIGUSR2 when BENCH_TRACEMALLOC_FILE is set."""
    target = os.environ.get(ENV)
    if not target:
        return
    tracemalloc.start(1)

    def dump(signum: int, frame: object) -> None:
        current, peak = tracemalloc.get_traced_memory()
        report: dict[str, object] = {"traced_bytes": current, "traced_peak_bytes": peak}
        report["by_package"] = snapshot_by_package()
        report["top_lines"] = top_lines()
        Path(target).write_text(json.dumps(report, indent=1))

    signal.signal(signal.SIGUSR2, dump)
