"""`python -m bench` (or `bench/run.py`): run the benchmark, print a table, write JSON.

It starts a local etcd + kube-apiserver + kube-controller-manager (LocalKube), the NKS
simulator (`nks-operator simulator`, its own process) and, per scenario, the operator
(`nks-operator run`, its own process), then measures from the outside:

  latency  N NKSClusters (+ M NKSNodeGroups) applied at once: apply -> first NKS call
           (create_cluster) and NKS complete -> Ready=True, p50/p95
  steady   N clusters at steady state: NKS calls per resync cycle, list polling vs
           per-resource polling (bench/per_resource.py), and the ratio
  scale    many clusters + node groups: time to converge, operator peak RSS and CPU,
           Kubernetes API calls, NKS calls and identity tokens; then all deleted: operator
           CPU and NKS calls per create -> Ready -> delete
  memory   a smaller workload with tracemalloc on: live bytes by allocating package

Results: bench/results/<UTC timestamp>.json (or --output). Timings are never asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make `bench` and the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import signal
import tempfile
import time
from typing import Any

from bench.kube import Kube
from bench.procs import ROOT, ProcStats, SimulatorProcess, load_average
from bench.profile import Profiler
from bench.report import render_table, targets
from bench.scenarios import Env, run_latency, run_memory, run_scale, run_steady
from bench.simclient import SimAdmin

SCENARIOS = ("latency", "steady", "scale", "memory")
RESULTS = ROOT / "bench" / "results"

QUICK = {
    "clusters": 20,
    "nodegroups": 0,
    "delay": 2.0,
    "scale_clusters": 20,
    "scale_nodegroups": 40,
    "memory_clusters": 10,
    "memory_nodegroups": 20,
    "scale_delay": 2.0,
    "steady_slow_poll": 1.5,
    "steady_cycles": 2,
    "fast_poll": 1.0,
    "error_backoff": 2.0,
    "timeout": 90.0,
    "scale_timeout": 90.0,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scenario",
        default="all",
        help=f"comma-separated: {', '.join(SCENARIOS)} or all (default all)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small smoke run (20 clusters, short delays and polls; about a minute); "
        "explicit flags still win",
    )
    size = parser.add_argument_group("sizes and timings (latency and steady)")
    size.add_argument("--clusters", type=int, default=500, help="NKSClusters (default 500)")
    size.add_argument(
        "--nodegroups", type=int, default=0, help="NKSNodeGroups, spread over the clusters"
    )
    size.add_argument(
        "--delay", type=float, default=10.0, help="simulated NKS operation time, s (default 10)"
    )
    size.add_argument(
        "--steady-slow-poll",
        type=float,
        default=5.0,
        help="NKS_SLOW_POLL_SECONDS of the steady scenario (default 5)",
    )
    size.add_argument(
        "--steady-cycles", type=int, default=4, help="resync cycles measured (default 4)"
    )
    size.add_argument(
        "--timeout", type=float, default=600.0, help="convergence timeout per workload, s"
    )
    scale = parser.add_argument_group("scale scenario")
    scale.add_argument("--scale-clusters", type=int, default=1000, help="default 1000")
    scale.add_argument("--scale-nodegroups", type=int, default=2000, help="default 2000")
    scale.add_argument(
        "--scale-delay", type=float, default=10.0, help="simulated NKS operation time, s"
    )
    scale.add_argument("--scale-timeout", type=float, default=1200.0, help="seconds")
    scale.add_argument(
        "--memory-clusters", type=int, default=300, help="memory scenario (default 300)"
    )
    scale.add_argument(
        "--memory-nodegroups", type=int, default=600, help="memory scenario (default 600)"
    )
    operator = parser.add_argument_group("operator settings (default: the operator's own)")
    operator.add_argument("--fast-poll", type=float, help="NKS_FAST_POLL_SECONDS")
    operator.add_argument("--slow-poll", type=float, help="NKS_SLOW_POLL_SECONDS (not steady)")
    operator.add_argument("--error-backoff", type=float, help="NKS_ERROR_BACKOFF_SECONDS")
    operator.add_argument(
        "--operator-log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="the operator's --log-level (default INFO, as deployed)",
    )
    parser.add_argument(
        "--apply-workers", type=int, default=4, help="threads creating the resources"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the operator of the latency and scale scenarios with py-spy; the "
        "samples and a summary per layer go to <output without .json>-profile/",
    )
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/<ts>.json)")
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the operator and simulator logs"
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        given = {a.split("=")[0] for a in (argv if argv is not None else sys.argv[1:])}
        for key, value in QUICK.items():
            if f"--{key.replace('_', '-')}" not in given:
                setattr(args, key, value)
    chosen = [s.strip() for s in args.scenario.split(",") if s.strip()]
    if chosen == ["all"]:
        chosen = list(SCENARIOS)
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    args.scenarios = chosen
    return args


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _say(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"{stamp} {message}", file=sys.stderr, flush=True)


def output_path(args: argparse.Namespace) -> Path:
    if args.output is None:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        args.output = RESULTS / f"{stamp}.json"
    return Path(args.output)


def profile_dir(args: argparse.Namespace) -> Path | None:
    if not getattr(args, "profile", False):
        return None
    output = output_path(args)
    return output.parent / f"{output.stem}-profile"


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.time()
    workdir = Path(tempfile.mkdtemp(prefix="nks-bench-"))
    result: dict[str, Any] = {
        "meta": {
            "started": datetime.datetime.fromtimestamp(started, datetime.UTC).isoformat(),
            "command": " ".join(
                shlex.quote(a) for a in [Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]
            ),
            "quick": args.quick,
            "scenarios": args.scenarios,
            "machine": machine(),
            "load_average_before": load_average(),
        }
    }
    ok = False
    kube: Kube | None = None
    sim: SimulatorProcess | None = None
    admin: SimAdmin | None = None
    try:
        _say("starting etcd + kube-apiserver + kube-controller-manager")
        kube = Kube.start()
        sim = SimulatorProcess(workdir / "simulator.log", args.delay).start()
        admin = SimAdmin(sim.url)
        _say(f"simulator at {sim.url}; logs in {workdir}")
        env = Env(kube, admin, sim.url, workdir, _say, args.operator_log_level, profile_dir(args))
        if env.profile_dir is not None:
            Profiler.executable()  # fails now, not after the first scenario
            _say(f"profiling the operator with py-spy into {env.profile_dir}")
        runners = {
            "latency": run_latency,
            "steady": run_steady,
            "scale": run_scale,
            "memory": run_memory,
        }
        for name in args.scenarios:
            _say(f"scenario {name}")
            t0 = time.monotonic()
            result[name] = runners[name](env, args)
            result[name]["scenario_seconds"] = round(time.monotonic() - t0, 1)
        processes = {"simulator": sim.pid, **kube.local.pids()}
        result["meta"]["other_processes_cpu_seconds"] = {
            name: round(ProcStats.read(pid).cpu_seconds, 1) for name, pid in processes.items()
        }
        ok = True
    finally:
        if admin is not None:
            admin.close()
        if sim is not None:
            sim.stop()
        if kube is not None:
            kube.stop()
        result["meta"]["load_average_after"] = load_average()
        result["meta"]["duration_seconds"] = round(time.time() - started, 1)
        if ok and not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            result["meta"]["workdir"] = str(workdir)
            _say(f"logs kept in {workdir}")
    result["targets"] = targets(result)
    return result


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through run()'s cleanup


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = parse_args(argv)
    output = output_path(args)
    result = run(args)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(render_table(result))
    print(f"\nJSON: {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
