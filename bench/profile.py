"""Where the operator's CPU goes: py-spy samples of the operator process, grouped per layer.

With `python -m bench --profile` each profiled operator process (latency and scale
scenarios) gets a `py-spy record` attached once it is ready; it samples the threads that
are on a CPU (idle waits in the event loop are not sampled) until the workload stops, and
writes the collapsed stacks (`<label>.pyspy.txt`, flamegraph.pl's input) to the results
directory. `summarize` reads them back and names the costs four ways:

- `by_layer`: every sample in exactly one group (shares add up to 100 %). What a frame
  does decides first (logging, JSON, pydantic, HTTP), then who asked for it (Events,
  status patches, the work queue, kopf), then the operator's own subpackages;
- `layers_all_in`: the share of samples with a frame of a layer anywhere on the stack
  (what it costs all-in, its JSON and HTTP included; overlapping); `inclusive` the same
  per module of the operator and per library;
- `top_self`: the functions the samples were in (the leaf frame).

py-spy reads the process's memory from outside (`--nonblocking`: the operator is never
paused), so the operator's own CPU figures stay comparable; py-spy's CPU is its own.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench.procs import BenchError

RATE_HZ = 100
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
_STDLIB = re.compile(r"/lib/python3\.\d+/")


def module_of(filename: str) -> str:
    """A sampled frame's file as a dotted module: `.../site-packages/kopf/_core/x.py` ->
    `kopf._core.x`, `.../operator/nks_operator/nks/client.py` -> `nks_operator.nks.client`,
    `/usr/lib/python3.11/json/decoder.py` -> `json.decoder`."""
    path = filename
    if "site-packages/" in path:
        path = path.rsplit("site-packages/", 1)[1]
    elif "/nks_operator/" in path:
        path = "nks_operator/" + path.rsplit("/nks_operator/", 1)[1]
    elif "/nks_devtools/" in path:
        path = "nks_devtools/" + path.rsplit("/nks_devtools/", 1)[1]
    elif _STDLIB.search(path):
        path = _STDLIB.split(path, maxsplit=1)[1]
    else:
        return path
    path = path.removesuffix(".py").removesuffix("/__init__")
    return path.replace("/", ".")


def parse_frame(text: str) -> tuple[str, str]:
    """`func (file:line)` -> (module, func)."""
    match = _FRAME.match(text)
    if match is None:
        return text, text
    return module_of(match["file"]), match["func"]


Stack = list[tuple[str, str]]  # (module, function), root first


def read_collapsed(path: Path) -> list[tuple[Stack, int]]:
    """py-spy's raw output: one `frame;frame;...;leaf count` line per distinct stack."""
    stacks: list[tuple[Stack, int]] = []
    for line in path.read_text(errors="replace").splitlines():
        head, _, count = line.rpartition(" ")
        if not head or not count.isdigit():
            continue
        stacks.append(([parse_frame(f) for f in head.split(";")], int(count)))
    return stacks


def _is(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _has(stack: Stack, *prefixes: str) -> bool:
    return any(_is(m, *prefixes) for m, _ in stack)


def _caller(stack: Stack, *prefixes: str) -> str:
    """The operator's or kopf's module that called into `prefixes` first (root-most), or ""."""
    for index, (module, _) in enumerate(stack):
        if _is(module, *prefixes):
            for caller, _ in reversed(stack[:index]):
                if _is(caller, "nks_operator", "kopf"):
                    return caller
            return ""
    return ""


# On every stack (the entry point, the event loop): nothing to learn from their share.
_EVERYWHERE = frozenset(
    {
        "<frozen runpy>",
        "runpy",
        "asyncio",
        "nks_operator.__main__",
        "nks_operator.cli",
        "nks_operator.run_command",
    }
)


def _owned(*prefixes: str) -> Callable[[Stack], bool]:
    """Whether the innermost frame of the operator or kopf (the code that was running) is
    in `prefixes`."""

    def matches(stack: Stack) -> bool:
        for module, _ in reversed(stack):
            if _is(module, "nks_operator", "kopf") and module not in _EVERYWHERE:
                return _is(module, *prefixes)
        return False

    return matches


_NKS_SIDE = ("nks_operator.nks", "nks_operator.polling")
# The NKS client's wire (the Kubernetes client's is nks_operator.kube.wire).
_NKS_WIRE = (*_NKS_SIDE, "nks_operator.aiohttp_transport")
_HTTP = (
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "aiohttp",
    "multidict",
    "yarl",
    "ssl",
    "socket",
    "certifi",
)
_PYDANTIC = ("pydantic", "pydantic_core")
_EVENTS = ("nks_operator.kube.events", "nks_operator.control.events")
_STATUS = (
    "nks_operator.control.status_writer",
    "nks_operator.reconcile.conditions",
    "nks_operator.api.status",
)

Rule = tuple[str, Callable[[Stack], bool]]

# First match wins: what a frame does (logging, JSON, pydantic, HTTP) before who asked for
# it (the operator's or kopf's frame nearest to the library call); the rest by the code
# that was running.
RULES: list[Rule] = [
    ("logging (kopf's)", lambda s: _is(_caller(s, "logging"), "kopf")),
    ("logging (the operator's)", lambda s: _has(s, "logging")),
    ("JSON encode/decode", lambda s: _has(s, "json", "orjson", "_json")),
    ("pydantic: NKS answers", lambda s: _is(_caller(s, *_PYDANTIC), *_NKS_SIDE)),
    ("pydantic: Kubernetes objects and status", lambda s: _has(s, *_PYDANTIC)),
    ("HTTP to NKS", lambda s: _is(_caller(s, *_HTTP), *_NKS_WIRE)),
    ("HTTP to Kubernetes", lambda s: _is(_caller(s, *_HTTP), "nks_operator")),
    ("kopf's watch streams and requests", lambda s: _is(_caller(s, *_HTTP), "kopf")),
    ("worker threads (executor)", lambda s: _has(s, "concurrent")),
    ("Events (the operator's)", _owned(*_EVENTS)),
    ("status patch computation", _owned(*_STATUS)),
    ("work queue and cache", _owned("nks_operator.runtime")),
    ("kopf event handling", _owned("kopf")),
    ("watch handlers (the operator's kopf glue)", _owned("nks_operator.handlers")),
    ("NKS client and poller", _owned(*_NKS_SIDE)),
    ("passes (control, reconcile)", _owned("nks_operator.control", "nks_operator.reconcile")),
    ("operator, other", _owned("nks_operator")),
    # py-spy's --nonblocking reads can end a deep stack early: the caller is unknown then.
    ("HTTP, caller not in the sample", lambda s: _has(s, *_HTTP)),
    ("asyncio event loop", lambda s: _has(s, "asyncio", "selectors", "uvloop")),
]
OTHER = "other"

# The same layers all-in: the share of samples with any frame of them (overlapping).
ALL_IN: dict[str, tuple[str, ...]] = {
    "the HTTP clients (httpx, httpcore, anyio, h11, aiohttp)": (
        "httpx",
        "httpcore",
        "anyio",
        "h11",
        "aiohttp",
        "multidict",
        "yarl",
    ),
    "failed imports (importlib path searches)": (
        "<frozen importlib._bootstrap>",
        "<frozen importlib._bootstrap_external>",
    ),
    "NKS client and poller": _NKS_SIDE,
    "status writes": ("nks_operator.control.status_writer",),
    "the operator's Events": _EVENTS,
    "ownership records": ("nks_operator.kube.ownership",),
    "kopf": ("kopf",),
    "copy.deepcopy": ("copy",),
    "pydantic": _PYDANTIC,
    "JSON": ("json", "_json", "orjson"),
    "logging": ("logging",),
    "work queue and cache": ("nks_operator.runtime.workqueue", "nks_operator.runtime.cache"),
}


def layer_of(stack: Stack) -> str:
    for name, matches in RULES:
        if matches(stack):
            return name
    return OTHER


def _inclusive_key(module: str) -> str:
    """The unit of the inclusive view: the operator by module, libraries by package."""
    parts = module.split(".")
    if parts[0] == "nks_operator":
        return ".".join(parts[:3])
    return parts[0]


def _shares(counts: Counter[str], total: int, top: int | None = None) -> dict[str, float]:
    return {k: round(100 * n / total, 1) for k, n in counts.most_common(top) if n}


def summarize(stacks: Iterable[tuple[Stack, int]], top: int = 25) -> dict[str, Any]:
    """Shares in percent of the samples: by layer (exclusive), inclusive per module, and
    the hottest leaf functions."""
    by_layer: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    all_in: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for stack, count in stacks:
        total += count
        by_layer[layer_of(stack)] += count
        for key in {_inclusive_key(m) for m, _ in stack} - _EVERYWHERE:
            inclusive[key] += count
        for name, prefixes in ALL_IN.items():
            if _has(stack, *prefixes):
                all_in[name] += count
        if stack:
            module, func = stack[-1]
            leaf[f"{module}:{func}"] += count
    total_or_1 = max(total, 1)
    return {
        "samples": total,
        "by_layer_pct": _shares(by_layer, total_or_1),
        "layers_all_in_pct": _shares(all_in, total_or_1),
        "inclusive_pct": _shares(inclusive, total_or_1, top),
        "top_self_pct": _shares(leaf, total_or_1, top),
    }


def render(summary: dict[str, Any], title: str) -> str:
    lines = [f"{title}: {summary['samples']} samples at {RATE_HZ} Hz of on-CPU threads"]
    for heading, key in (
        ("by layer (exclusive, adds up to 100 %)", "by_layer_pct"),
        ("layers all-in (a frame of the layer anywhere on the stack)", "layers_all_in_pct"),
        ("inclusive (a frame of it anywhere on the stack)", "inclusive_pct"),
        ("hottest functions (self)", "top_self_pct"),
    ):
        lines.append(f"\n{heading}")
        lines.extend(f"  {pct:5.1f} %  {name}" for name, pct in summary[key].items())
    return "\n".join(lines) + "\n"


class Profiler:
    """`py-spy record` attached to one process until `stop()`; then the summary."""

    def __init__(self, pid: int, directory: Path, label: str) -> None:
        self.pid = pid
        self.raw = directory / f"{label}.pyspy.txt"
        self.text = directory / f"{label}.profile.txt"
        self.label = label
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def executable() -> str:
        # The venv's own first: its bin/ need not be on PATH.
        beside = Path(sys.executable).parent / "py-spy"
        found = str(beside) if beside.exists() else shutil.which("py-spy")
        if found is None:
            raise BenchError("--profile needs py-spy (pip install -e '.[dev]')")
        return found

    def start(self) -> Profiler:
        self.raw.parent.mkdir(parents=True, exist_ok=True)
        args = [
            self.executable(),
            "record",
            "--pid",
            str(self.pid),
            "--rate",
            str(RATE_HZ),
            "--format",
            "raw",
            "--full-filenames",
            "--nonblocking",
            "--output",
            str(self.raw),
        ]
        log = self.raw.with_suffix(".log").open("wb")
        with log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> dict[str, Any] | None:
        """Stops sampling (py-spy writes its file on SIGINT, or when the process ends);
        the summary, also written beside the samples, or None when there are none."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None
        if not self.raw.exists():
            return None
        summary = summarize(read_collapsed(self.raw))
        self.text.write_text(render(summary, f"operator CPU profile, {self.label}"))
        summary["files"] = {"samples": str(self.raw), "summary": str(self.text)}
        return summary
