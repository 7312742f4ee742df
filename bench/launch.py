"""`python -m bench.launch ARGS`: `nks-operator ARGS` with the benchmark's instruments, which
the product does not carry. The operator's environment picks them:

- `BENCH_TRACEMALLOC_FILE=<path>`: tracemalloc from start-up, dumped on SIGUSR2
  (bench/tracing.py);
- `BENCH_POLLING_MODE=per-resource`: one GET per cluster per cycle instead of one list per
  account, the baseline of the steady-state comparison (bench/per_resource.py);
- `BENCH_PROFILED=1`: py-spy, a sibling process, may attach (bench/profile.py).

Only the standard library and bench/tracing.py are imported before tracing starts.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping

from bench import tracing

POLLING_MODE = "BENCH_POLLING_MODE"
PER_RESOURCE = "per-resource"
PROFILED = "BENCH_PROFILED"
_PR_SET_PTRACER = 0x59616D61
_PR_SET_PTRACER_ANY = ctypes.c_ulong(-1)


def needed(env: Mapping[str, str]) -> bool:
    """Whether `env` asks for an instrument (if not, `python -m nks_operator` runs as is)."""
    return (
        bool(env.get(tracing.ENV))
        or env.get(POLLING_MODE) == PER_RESOURCE
        or env.get(PROFILED) == "1"
    )


def allow_any_tracer() -> None:
    """Yama's ptrace_scope 1 (Ubuntu's default) lets only ancestors attach; py-spy is the
    bench's child like this process, so name any process of the user a permitted tracer.
    Without Yama the call fails harmlessly."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PTRACER, _PR_SET_PTRACER_ANY, 0, 0, 0)


def main() -> int:
    tracing.install()  # before the imports it measures; nothing without its variable
    from nks_operator import cli

    if sys.argv[1:2] == ["run"]:
        # As `nks-operator run` does, before per_resource's imports bring in kopf.
        cli.keep_out_the_kubernetes_package()
    from bench import per_resource

    if os.environ.get(POLLING_MODE) == PER_RESOURCE:
        per_resource.install()
    if os.environ.get(PROFILED) == "1":
        allow_any_tracer()
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
