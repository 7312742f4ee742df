"""The benchmark's scenarios. Each runs one workload: its own namespace, its own NKS tenant
(project) and its own operator process, against the shared apiserver and simulator.

How the figures are obtained (BENCHMARKS.md explains them for readers):

- apply -> first NKS call: the harness timestamps each NKSCluster when its create call to
  the apiserver returns. The simulator's call log has a timestamp per call but only the
  path (`POST /v1/clusters`), not the cluster name. The simulator inserts a cluster and
  logs the call in one step of its event loop, and keeps its clusters in insertion order,
  so the k-th accepted `create_cluster` call of a tenant made the k-th cluster of that
  tenant in `/_sim/state`: that gives each call its name. Every pair is checked against
  the cluster's own `created_at` (whole seconds); disagreements are counted.
- NKS complete -> Ready=True: with a fixed simulator delay D every operation completes
  at (its call's timestamp + D). A watch on the CRs records the wall-clock arrival of the
  first event showing Ready=True; the lag is the difference. Node groups are paired the
  same way, per cluster (path `/v1/clusters/{uuid}/nodegroups`).
- Steady state: once every resource is Ready and the poller has slowed down, the NKS calls
  of the tenant over several resync cycles are split into cycles by the quiet gaps
  between them; the first and last (possibly partial) cycles are dropped.
- Lifecycle (scale scenario): once everything is Ready the harness deletes every
  resource of the namespace (one delete-collection request per kind) and waits until the
  watch shows each one gone (the operator releases its finalizer after NKS deleted it).
  The operator's CPU (from /proc) and the NKS calls of the tenant from the operator's
  start to the last deletion, divided by the resources, are the figures per create ->
  Ready -> delete.
- Kubernetes API calls: `apiserver_request_total` before and after, minus the requests
  the harness itself made (counted as it makes them). The rest is the operator plus the
  local kube-controller-manager (garbage collector and namespace controller, both idle
  apart from their watches).
"""

from __future__ import annotations

import itertools
import json
import secrets
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import tracing
from bench.kube import (
    CLUSTERS,
    NODEGROUPS,
    Applied,
    Kube,
    ReadyWatcher,
    cluster_manifest,
    nodegroup_manifest,
    request_delta,
    request_table,
)
from bench.launch import POLLING_MODE, PROFILED
from bench.procs import OperatorProcess, ProcStats
from bench.profile import Profiler
from bench.simclient import CallCollector, SimAdmin
from bench.stats import summary

MiB = 1024 * 1024
COLLECTED = ("create_cluster", "create_nodegroup", "list_clusters", "issue_token")


@dataclass
class Env:
    """What every scenario shares: the apiserver, the simulator and a place for logs."""

    kube: Kube
    admin: SimAdmin
    sim_url: str
    workdir: Path
    say: Callable[[str], None]
    operator_log_level: str = "INFO"
    profile_dir: Path | None = None  # --profile: py-spy samples of these scenarios' operators
    profiled: tuple[str, ...] = ("latency", "scale")


@dataclass
class WorkloadSpec:
    label: str
    clusters: int
    nodegroups: int
    delay: float  # seconds every simulated NKS operation takes
    settings: dict[str, str]  # NKS_* environment of the operator
    timeout: float = 600.0
    apply_workers: int = 4


def _parse_seconds(stamp: str | None) -> float | None:
    from datetime import datetime

    if not stamp:
        return None
    return datetime.fromisoformat(stamp).timestamp()


def _check_pair(logged: float, created_at: str | None) -> tuple[int, int]:
    """(1, _) when a logged call cannot have made the resource: it was logged before the
    resource's creation second. (_, 1) when it was logged more than a second after it: the
    simulator stamps `created_at` when it starts handling and logs when it answers, so
    this only counts calls the (busy) simulator took long to answer."""
    created = _parse_seconds(created_at)
    if created is None:
        return 1, 0
    return int(logged < created - 0.01), int(logged >= created + 1.0)


@dataclass
class Workload:
    """One namespace + tenant + operator process, the resources applied there and the
    observations made while they converge."""

    env: Env
    spec: WorkloadSpec
    namespace: str = ""
    tenant: str = ""
    operator: OperatorProcess | None = None
    watchers: dict[str, ReadyWatcher] = field(default_factory=dict)
    collector: CallCollector | None = None
    applied: dict[str, Applied] = field(default_factory=dict)
    cluster_names: list[str] = field(default_factory=list)
    nodegroup_names: list[str] = field(default_factory=list)
    counts_before: Counter[str] = field(default_factory=Counter)
    kube_before: Counter[Any] = field(default_factory=Counter)
    own_before: Counter[Any] = field(default_factory=Counter)
    stats_ready: ProcStats | None = None
    converged: bool = False
    converged_at: float | None = None
    profiler: Profiler | None = None
    profile: dict[str, Any] | None = None

    def start(self) -> Workload:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Workload:
        suffix = secrets.token_hex(3)
        self.namespace = f"bench-{self.spec.label}-{suffix}"
        self.tenant = f"t{self.spec.label.replace('-', '')}{suffix}"
        env, spec = self.env, self.spec
        env.admin.patch_config(delay=spec.delay)
        env.kube.prepare_namespace(self.namespace, self.tenant, env.sim_url)
        profiled = env.profile_dir is not None and spec.label in env.profiled
        # The simulator is on loopback, which the operator refuses unless allowed.
        settings = {**spec.settings, "NKS_ALLOWED_ENDPOINTS": env.sim_url}
        if profiled:
            settings[PROFILED] = "1"
        self.operator = OperatorProcess(
            env.workdir / f"operator-{spec.label}.log",
            env.kube.local.kubeconfig,
            self.namespace,
            settings,
            env.operator_log_level,
        ).start()
        self.stats_ready = self.operator.stats()
        if profiled:
            assert env.profile_dir is not None
            self.profiler = Profiler(self.operator.pid, env.profile_dir, spec.label).start()
        env.say(
            f"[{spec.label}] operator pid {self.operator.pid} ready after "
            f"{self.operator.ready_after:.1f}s; namespace {self.namespace}"
        )
        self.watchers[CLUSTERS] = ReadyWatcher(env.kube, self.namespace, CLUSTERS).start()
        if spec.nodegroups:
            self.watchers[NODEGROUPS] = ReadyWatcher(env.kube, self.namespace, NODEGROUPS).start()
        self.collector = CallCollector(env.admin, COLLECTED).start()
        self.counts_before = env.admin.counts()
        self.kube_before = env.kube.request_totals()
        self.own_before = Counter(env.kube.own_requests)
        return self

    def apply(self) -> None:
        spec = self.spec
        width = max(5, len(str(spec.clusters)))
        self.cluster_names = [f"bc{i:0{width}d}" for i in range(spec.clusters)]
        manifests = [cluster_manifest(name) for name in self.cluster_names]
        self.applied[CLUSTERS] = self.env.kube.apply(
            self.namespace, CLUSTERS, manifests, spec.apply_workers
        )
        if spec.nodegroups:
            per_cluster: Counter[str] = Counter()
            groups = []
            for i in range(spec.nodegroups):
                cluster = self.cluster_names[i % spec.clusters]
                per_cluster[cluster] += 1
                name = f"{cluster}-g{per_cluster[cluster]}"
                self.nodegroup_names.append(name)
                groups.append(nodegroup_manifest(name, cluster))
            self.applied[NODEGROUPS] = self.env.kube.apply(
                self.namespace, NODEGROUPS, groups, spec.apply_workers
            )
        applied = self.applied[CLUSTERS]
        self.env.say(
            f"[{spec.label}] applied {spec.clusters} NKSCluster"
            + (f" + {spec.nodegroups} NKSNodeGroup" if spec.nodegroups else "")
            + f" in {self.last_applied() - applied.started:.1f}s"
        )

    def first_applied(self) -> float:
        return min(a.started for a in self.applied.values())

    def last_applied(self) -> float:
        return max(a.finished for a in self.applied.values())

    def wait_converged(self) -> bool:
        """Until every resource is Ready=True (or the timeout); prints progress."""
        deadline = time.monotonic() + self.spec.timeout
        wanted = {CLUSTERS: set(self.cluster_names), NODEGROUPS: set(self.nodegroup_names)}
        next_report = time.monotonic() + 10
        while time.monotonic() < deadline:
            ready = {p: len(wanted[p] & set(w.ready_at)) for p, w in self.watchers.items()}
            if all(ready[p] == len(wanted[p]) for p in ready):
                self.converged = True
                break
            assert self.operator is not None
            if not self.operator.alive():
                self.env.say(
                    f"[{self.spec.label}] the operator exited:\n{self.operator.log_tail()}"
                )
                break
            if time.monotonic() >= next_report:
                progress = ", ".join(f"{p} {ready[p]}/{len(wanted[p])}" for p in ready)
                self.env.say(f"[{self.spec.label}] Ready: {progress}")
                next_report += 10
            time.sleep(0.2)
        times = [t for w in self.watchers.values() for t in w.ready_at.values()]
        self.converged_at = max(times) if self.converged and times else None
        return self.converged

    # -- results ---------------------------------------------------------------------

    def cluster_calls(self) -> tuple[dict[str, float], dict[str, Any]]:
        """name -> timestamp of the accepted create_cluster call that made it."""
        assert self.collector is not None
        entries = [
            e
            for e in self.collector.entries["create_cluster"]
            if e.get("tenant") == self.tenant and 200 <= int(e["status"]) < 300
        ]
        clusters = self.env.admin.clusters(self.tenant)
        self._state = clusters
        calls: dict[str, float] = {}
        violations, slow = 0, 0
        for entry, cluster in zip(entries, clusters, strict=False):
            violation, lagging = _check_pair(float(entry["timestamp"]), cluster.get("created_at"))
            violations += violation
            slow += lagging
            calls.setdefault(cluster["name"], float(entry["timestamp"]))
        check = {
            "accepted_create_calls": len(entries),
            "clusters_in_nks": len(clusters),
            "paired": len(calls),
            "pairing_violations": violations,
            "logged_over_1s_after_created_at": slow,
        }
        return calls, check

    def nodegroup_calls(self) -> tuple[dict[str, float], dict[str, Any]]:
        """name -> timestamp of the accepted create_nodegroup call that made it."""
        assert self.collector is not None
        by_cluster: dict[str, list[float]] = {}
        for entry in self.collector.entries["create_nodegroup"]:
            if entry.get("tenant") == self.tenant and 200 <= int(entry["status"]) < 300:
                uuid = entry["path"].split("/")[3]
                by_cluster.setdefault(uuid, []).append(float(entry["timestamp"]))
        calls: dict[str, float] = {}
        violations, slow = 0, 0
        for cluster in getattr(self, "_state", None) or self.env.admin.clusters(self.tenant):
            groups = [
                g
                for g in cluster.get("nodegroups", [])
                if g.get("name") not in ("default-master", "default-worker")
            ]
            for group, at in zip(groups, by_cluster.get(cluster["uuid"], []), strict=False):
                violation, lagging = _check_pair(at, group.get("created_at"))
                violations += violation
                slow += lagging
                calls.setdefault(group["name"], at)
        return calls, {
            "accepted_create_calls": sum(len(v) for v in by_cluster.values()),
            "paired": len(calls),
            "pairing_violations": violations,
            "logged_over_1s_after_created_at": slow,
        }

    def latencies(self) -> dict[str, Any]:
        delay = self.spec.delay
        cluster_calls, cluster_check = self.cluster_calls()
        applied = self.applied[CLUSTERS].at
        ready = self.watchers[CLUSTERS].ready_at
        result: dict[str, Any] = {
            "apply_to_first_call_s": summary(
                at - applied[name] for name, at in cluster_calls.items() if name in applied
            ),
            "complete_to_ready_s": summary(
                ready[name] - (at + delay) for name, at in cluster_calls.items() if name in ready
            ),
            "correlation": {"clusters": cluster_check},
        }
        if self.spec.nodegroups:
            group_calls, group_check = self.nodegroup_calls()
            group_ready = self.watchers[NODEGROUPS].ready_at
            result["nodegroup_complete_to_ready_s"] = summary(
                group_ready[name] - (at + delay)
                for name, at in group_calls.items()
                if name in group_ready
            )
            result["correlation"]["nodegroups"] = group_check
        return result

    def list_intervals(self) -> dict[str, Any]:
        """Seconds between consecutive cluster-list calls of the tenant (poll cycles, plus
        the lookups by name before creates)."""
        assert self.collector is not None
        times = sorted(
            float(e["timestamp"])
            for e in self.collector.entries["list_clusters"]
            if e.get("tenant") == self.tenant
        )
        return summary(b - a for a, b in itertools.pairwise(times))

    def tokens(self) -> dict[str, int]:
        assert self.collector is not None
        per: Counter[str] = Counter(
            str(e.get("tenant")) for e in self.collector.entries["issue_token"]
        )
        return {"credentials": 1, "issue_token_calls": per.get(self.tenant, 0)}

    def nks_calls(self) -> dict[str, Any]:
        """Calls per operation since start (all tenants: only this workload's operator
        runs), and the ones NKS answered with an error status."""
        return self._nks_delta(self.env.admin.counts() - self.counts_before)

    def kube_calls(self) -> dict[str, Any]:
        after = self.env.kube.request_totals()
        own = request_delta(self.own_before, Counter(self.env.kube.own_requests))
        total = request_delta(self.kube_before, after)
        others = total - own
        resources = max(self.spec.clusters + self.spec.nodegroups, 1)
        writes = Counter(
            {key: n for key, n in others.items() if key[0] in ("POST", "PUT", "PATCH", "DELETE")}
        )
        return {
            "total": sum(others.values()),
            "by_request": request_table(others),
            "harness_requests_excluded": sum(own.values()),
            "writes_per_resource": round(sum(writes.values()) / resources, 2),
            "writes_per_resource_by_request": {
                name: round(n / resources, 2) for name, n in request_table(writes).items()
            },
        }

    def operator_cost(self) -> dict[str, Any]:
        assert self.operator is not None and self.stats_ready is not None
        now = self.operator.stats()
        resources = self.spec.clusters + self.spec.nodegroups
        start = self.stats_ready.rss_bytes
        return {
            "peak_rss_mib": round(now.peak_rss_bytes / MiB, 1),
            "rss_mib": round(now.rss_bytes / MiB, 1),
            # The floor: the interpreter and every module, before any resource.
            "rss_at_start_mib": round(start / MiB, 1),
            "peak_kib_per_resource": round(
                (now.peak_rss_bytes - start) / 1024 / max(resources, 1), 1
            ),
            "cpu_seconds_total": round(now.cpu_seconds, 2),
            "cpu_seconds_after_ready": round(now.cpu_seconds - self.stats_ready.cpu_seconds, 2),
            "startup_seconds": round(self.operator.ready_after, 2),
        }

    def _settle(self, quiet: float = 0.1, window: float = 2.0, limit: float = 30.0) -> Any:
        """The operator's stats once it used less than `quiet` CPU seconds in `window`
        (at most `limit` seconds of waiting): its memory after a burst, not during it."""
        assert self.operator is not None
        before = self.operator.stats()
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            time.sleep(window)
            now = self.operator.stats()
            if now.cpu_seconds - before.cpu_seconds < quiet:
                return now
            before = now
        return before

    def delete_and_measure(self) -> dict[str, Any]:
        """Delete every resource and wait until all are gone: the operator's CPU and the
        NKS calls per create -> Ready -> delete, and how long the deletion took."""
        assert self.operator is not None and self.stats_ready is not None
        env, spec = self.env, self.spec
        settled = self._settle()  # everything Ready, the burst's work done
        at_ready, nks_at_ready = self.operator.stats(), env.admin.counts()
        started = time.time()
        for plural in self.watchers:
            env.kube.delete_all(self.namespace, plural)
        wanted = {CLUSTERS: set(self.cluster_names), NODEGROUPS: set(self.nodegroup_names)}
        deadline = time.monotonic() + spec.timeout
        gone = False
        next_report = time.monotonic() + 10
        while time.monotonic() < deadline and self.operator.alive():
            left = {p: len(wanted[p] - set(w.deleted_at)) for p, w in self.watchers.items()}
            if not any(left.values()):
                gone = True
                break
            if time.monotonic() >= next_report:
                progress = ", ".join(f"{p} {n}" for p, n in left.items())
                env.say(f"[{spec.label}] deleting; left: {progress}")
                next_report += 10
            time.sleep(0.2)
        at_gone = self.operator.stats()
        emptied = self._settle()
        ended = max((t for w in self.watchers.values() for t in w.deleted_at.values()), default=0)
        resources = max(spec.clusters + spec.nodegroups, 1)
        calls = self._nks_delta(env.admin.counts() - self.counts_before)
        kube = self.kube_calls()  # from the operator's start too
        delete_calls = self._nks_delta(env.admin.counts() - nks_at_ready)
        lifetime_cpu = at_gone.cpu_seconds - self.stats_ready.cpu_seconds
        return {
            "deleted": gone,
            # Resident memory once the operator is idle: with every resource Ready (what
            # it holds for them) and after they are all gone (what it keeps of the burst).
            "rss_settled_mib": round(settled.rss_bytes / MiB, 1),
            "rss_after_delete_mib": round(emptied.rss_bytes / MiB, 1),
            "peak_rss_mib": round(emptied.peak_rss_bytes / MiB, 1),
            "delete_seconds": round((ended if gone else time.time()) - started, 1),
            "resources": spec.clusters + spec.nodegroups,
            "operator_cpu_seconds": {
                "create_to_ready": round(at_ready.cpu_seconds - self.stats_ready.cpu_seconds, 2),
                "delete": round(at_gone.cpu_seconds - at_ready.cpu_seconds, 2),
            },
            "operator_cpu_ms_per_lifecycle": round(1000 * lifetime_cpu / resources, 1),
            "nks_calls": calls["total"],
            "nks_calls_per_lifecycle": round(calls["total"] / resources, 2),
            "nks_calls_per_lifecycle_by_operation": {
                op: round(n / resources, 2) for op, n in calls["by_operation"].items()
            },
            "nks_calls_of_delete_per_resource": round(delete_calls["total"] / resources, 2),
            # Every request costs the operator about the same (the profile: the HTTP
            # client's share): requests per lifecycle is the count to cut.
            "kube_api_calls_per_lifecycle": round(kube["total"] / resources, 2),
            "kube_api_calls_per_lifecycle_by_request": {
                name: round(n / resources, 2) for name, n in kube["by_request"].items()
            },
            "operator_cpu_ms_per_request": round(
                1000 * lifetime_cpu / max(calls["total"] + kube["total"], 1), 2
            ),
            "nks_error_answers": calls["error_answers"],
        }

    @staticmethod
    def _nks_delta(delta: Counter[str]) -> dict[str, Any]:
        by_operation = {k: n for k, n in sorted(delta.items()) if " " not in k}
        errors = {k: n for k, n in sorted(delta.items()) if " " in k and int(k.split()[1]) >= 400}
        return {
            "total": sum(by_operation.values()),
            "by_operation": by_operation,
            "error_answers": errors,
        }

    def stop(self) -> None:
        if self.profiler is not None:
            # Before the operator stops: its shutdown is not part of the profile.
            self.profile = self.profiler.stop()
            self.profiler = None
        for watcher in self.watchers.values():
            watcher.stop()
        if self.collector is not None:
            self.collector.stop()
        if self.operator is not None:
            t0 = time.monotonic()
            self.operator.stop(grace=5)
            self.env.say(f"[{self.spec.label}] operator stopped in {time.monotonic() - t0:.1f}s")


def _fast_settings(args: Any) -> dict[str, str]:
    settings: dict[str, str] = {}
    if args.fast_poll is not None:
        settings["NKS_FAST_POLL_SECONDS"] = str(args.fast_poll)
    if args.slow_poll is not None:
        settings["NKS_SLOW_POLL_SECONDS"] = str(args.slow_poll)
    if args.error_backoff is not None:
        settings["NKS_ERROR_BACKOFF_SECONDS"] = str(args.error_backoff)
    return settings


def _describe_settings(settings: dict[str, str]) -> dict[str, str]:
    return {key: settings.get(key, "operator default") for key in SETTING_KEYS}


SETTING_KEYS = (
    "NKS_FAST_POLL_SECONDS",
    "NKS_SLOW_POLL_SECONDS",
    "NKS_ERROR_BACKOFF_SECONDS",
    POLLING_MODE,
)


def run_latency(env: Env, args: Any) -> dict[str, Any]:
    """Apply N clusters (and M node groups) at once; apply -> call and complete -> Ready."""
    spec = WorkloadSpec(
        "latency",
        args.clusters,
        args.nodegroups,
        args.delay,
        _fast_settings(args),
        args.timeout,
        args.apply_workers,
    )
    workload = Workload(env, spec).start()
    try:
        workload.apply()
        workload.wait_converged()
        result = {
            "clusters": spec.clusters,
            "nodegroups": spec.nodegroups,
            "nks_delay_s": spec.delay,
            "settings": _describe_settings(spec.settings),
            "converged": workload.converged,
            "apply_seconds": round(workload.last_applied() - workload.first_applied(), 2),
            **workload.latencies(),
            "list_call_interval_s": workload.list_intervals(),
            "nks_calls": workload.nks_calls(),
            "kube_api_calls": workload.kube_calls(),
            "identity_tokens": workload.tokens(),
            "operator": workload.operator_cost(),
        }
    finally:
        workload.stop()
    if workload.profile is not None:
        result["profile"] = workload.profile
    return result


def _steady_once(env: Env, args: Any, mode: str) -> dict[str, Any]:
    settings = {
        **_fast_settings(args),
        "NKS_SLOW_POLL_SECONDS": str(args.steady_slow_poll),
        POLLING_MODE: mode,
    }
    label = "steady-list" if mode == "list" else "steady-per-resource"
    spec = WorkloadSpec(
        label,
        args.clusters,
        args.nodegroups,
        args.delay,
        settings,
        args.timeout,
        args.apply_workers,
    )
    slow = args.steady_slow_poll
    workload = Workload(env, spec).start()
    try:
        workload.apply()
        if not workload.wait_converged():
            env.say(f"[{label}] not converged; measuring anyway")
        # Let the last fast polls run out: from here on only resyncs.
        time.sleep(max(2 * slow, 2 * float(settings.get("NKS_FAST_POLL_SECONDS", "10"))))
        kube_before = env.kube.request_totals()
        own_before = Counter(env.kube.own_requests)
        seq = int(env.admin.calls(log=False)["last_seq"])
        started = time.time()
        time.sleep((args.steady_cycles + 2) * slow)
        window = time.time() - started
        log = [
            e
            for e in env.admin.calls(since=seq)["log"]
            if e.get("tenant") == workload.tenant and e["operation"] != "issue_token"
        ]
        own = request_delta(own_before, Counter(env.kube.own_requests))
        kube = request_delta(kube_before, env.kube.request_totals()) - own
        cycles = _cycles(log, gap=0.4 * slow)
        complete = cycles[1:-1] if len(cycles) > 2 else cycles
        per_op: Counter[str] = Counter()
        for cycle in complete:
            per_op.update(e["operation"] for e in cycle)
        n = max(len(complete), 1)
        resyncs = window / slow
        resources = spec.clusters + spec.nodegroups
        result = {
            "mode": mode,
            "clusters": spec.clusters,
            "nodegroups": spec.nodegroups,
            "settings": _describe_settings(settings),
            "converged": workload.converged,
            "window_s": round(window, 1),
            "cycles_seen": len(cycles),
            "cycles_measured": len(complete),
            "nks_calls_per_cycle": round(sum(len(c) for c in complete) / n, 2),
            "nks_calls_per_cycle_by_operation": {
                op: round(count / n, 2) for op, count in sorted(per_op.items())
            },
            "cycle_duration_s": summary(c[-1]["timestamp"] - c[0]["timestamp"] for c in complete),
            "kube_calls_per_resync": round(sum(kube.values()) / resyncs, 1),
            "kube_calls_per_resource_per_resync": round(
                sum(kube.values()) / resyncs / max(resources, 1), 2
            ),
            "kube_calls_by_request": request_table(kube),
            "operator": workload.operator_cost(),
        }
    finally:
        workload.stop()
    return result


def _cycles(log: list[dict[str, Any]], gap: float) -> list[list[dict[str, Any]]]:
    cycles: list[list[dict[str, Any]]] = []
    for entry in sorted(log, key=lambda e: e["timestamp"]):
        if cycles and entry["timestamp"] - cycles[-1][-1]["timestamp"] <= gap:
            cycles[-1].append(entry)
        else:
            cycles.append([entry])
    return cycles


def run_steady(env: Env, args: Any) -> dict[str, Any]:
    """NKS calls per resync at steady state: list polling vs per-resource polling."""
    listed = _steady_once(env, args, "list")
    per_resource = _steady_once(env, args, "per-resource")
    ratio = None
    if listed["nks_calls_per_cycle"]:
        ratio = round(per_resource["nks_calls_per_cycle"] / listed["nks_calls_per_cycle"], 1)
    return {
        "slow_poll_s": args.steady_slow_poll,
        "list": listed,
        "per_resource": per_resource,
        "per_resource_to_list_ratio": ratio,
    }


def run_memory(env: Env, args: Any) -> dict[str, Any]:
    """Where the operator's memory goes: tracemalloc's live bytes by allocating package once
    a workload converged (tracing inflates RSS: this run's RSS is not the scale figure)."""
    dump = env.workdir / "tracemalloc.json"
    spec = WorkloadSpec(
        "memory",
        args.memory_clusters,
        args.memory_nodegroups,
        args.scale_delay,
        {**_fast_settings(args), tracing.ENV: str(dump)},
        args.scale_timeout,
        args.apply_workers,
    )
    workload = Workload(env, spec).start()
    try:
        workload.apply()
        workload.wait_converged()
        assert workload.operator is not None and workload.operator.process is not None
        workload.operator.process.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 60
        while not dump.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        report = json.loads(dump.read_text()) if dump.exists() else {}
        resources = spec.clusters + spec.nodegroups
        by_package = report.get("by_package", {})
        result = {
            "clusters": spec.clusters,
            "nodegroups": spec.nodegroups,
            "converged": workload.converged,
            "traced_mib": round(report.get("traced_bytes", 0) / MiB, 1),
            "traced_kib_per_resource": round(
                report.get("traced_bytes", 0) / 1024 / max(resources, 1), 1
            ),
            "top_mib_by_package": {
                name: round(size / MiB, 2) for name, size in list(by_package.items())[:15]
            },
            # Where it was allocated, for a closer look (JSON only).
            "top_sites_kib": {
                _short_site(site): round(size / 1024) for site, size in report.get("top_lines", [])
            },
        }
    finally:
        workload.stop()
    return result


def _short_site(site: str) -> str:
    """`.../site-packages/aiohttp/x.py:12` -> `aiohttp/x.py:12`."""
    for marker in ("site-packages/", "/operator/", "/lib/python3"):
        if marker in site:
            return site.split(marker, 1)[1]
    return site


def run_scale(env: Env, args: Any) -> dict[str, Any]:
    """Many clusters and node groups: time to converge, operator memory and CPU, calls;
    then their deletion: CPU and NKS calls per create -> Ready -> delete."""
    spec = WorkloadSpec(
        "scale",
        args.scale_clusters,
        args.scale_nodegroups,
        args.scale_delay,
        _fast_settings(args),
        args.scale_timeout,
        args.apply_workers,
    )
    workload = Workload(env, spec).start()
    try:
        workload.apply()
        workload.wait_converged()
        end = workload.converged_at or time.time()
        groups_per_cluster = -(-spec.nodegroups // max(spec.clusters, 1))
        # NKS takes `delay` per operation; a cluster's node groups are created one after
        # the other (NKS runs one operation per cluster): the simulated provisioning floor.
        provisioning = spec.delay * (1 + groups_per_cluster)
        result = {
            "clusters": spec.clusters,
            "nodegroups": spec.nodegroups,
            "nks_delay_s": spec.delay,
            "settings": _describe_settings(spec.settings),
            "converged": workload.converged,
            "apply_seconds": round(workload.last_applied() - workload.first_applied(), 2),
            "simulated_provisioning_s": provisioning,
            "converge_seconds_beyond_provisioning": round(
                end - workload.first_applied() - provisioning, 1
            ),
            "converge_seconds_from_first_apply": round(end - workload.first_applied(), 1),
            "converge_seconds_from_last_apply": round(end - workload.last_applied(), 1),
            "ready": {p: len(w.ready_at) for p, w in workload.watchers.items()},
            "operator": workload.operator_cost(),
            "kube_api_calls": workload.kube_calls(),
            "nks_calls": workload.nks_calls(),
            "identity_tokens": workload.tokens(),
            **workload.latencies(),
            "list_call_interval_s": workload.list_intervals(),
        }
        # After every figure above: deleting empties the simulator's state they read.
        result["lifecycle"] = workload.delete_and_measure()
    finally:
        workload.stop()
    if workload.profile is not None:
        result["profile"] = workload.profile
    return result
