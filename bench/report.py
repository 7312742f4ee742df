"""The targets of issue 6 checked against a result, and the table printed at the end."""

from __future__ import annotations

from typing import Any

TARGET_APPLY_P95_S = 1.0
TARGET_READY_P95_S = 5.0
TARGET_RSS_MIB = 150.0
TARGET_BEYOND_PROVISIONING_S = 60.0
SCALE_CLUSTERS, SCALE_NODEGROUPS = 1000, 2000


def _target(text: str, measured: Any, met: bool | None, at: str) -> dict[str, Any]:
    return {"target": text, "measured": measured, "met": met, "at": at}


def targets(result: dict[str, Any]) -> dict[str, Any]:
    """Each target with the measured figure; `met` is None when not measured."""
    found: dict[str, Any] = {}
    latency = result.get("latency")
    if latency:
        at = f"{latency['clusters']} clusters applied at once"
        p95 = latency["apply_to_first_call_s"]["p95"]
        found["apply_to_call_p95"] = _target(
            f"<= {TARGET_APPLY_P95_S:g} s", p95, None if p95 is None else p95 <= 1.0, at
        )
        p95 = latency["complete_to_ready_s"]["p95"]
        found["complete_to_ready_p95"] = _target(
            f"<= {TARGET_READY_P95_S:g} s", p95, None if p95 is None else p95 <= 5.0, at
        )
    steady = result.get("steady")
    if steady:
        listed = steady["list"]
        per_op = listed["nks_calls_per_cycle_by_operation"]
        met = listed["cycles_measured"] > 0 and per_op == {"list_clusters": 1.0}
        found["one_list_call_per_resync"] = _target(
            "1 list call per resync per project",
            per_op,
            met,
            f"{listed['clusters']} clusters, 1 project",
        )
    scale = result.get("scale")
    if scale:
        rss = scale["operator"]["peak_rss_mib"]
        full = scale["clusters"] >= SCALE_CLUSTERS and scale["nodegroups"] >= SCALE_NODEGROUPS
        at = f"{scale['clusters']} clusters + {scale['nodegroups']} node groups"
        found["peak_rss"] = _target(
            f"<= {TARGET_RSS_MIB:g} MiB at {SCALE_CLUSTERS} + {SCALE_NODEGROUPS}",
            rss,
            (rss <= TARGET_RSS_MIB) if full else None,
            at,
        )
        beyond = scale.get("converge_seconds_beyond_provisioning")
        if beyond is not None:
            found["converge_beyond_provisioning"] = _target(
                f"<= {TARGET_BEYOND_PROVISIONING_S:g} s beyond simulated provisioning",
                beyond,
                (scale["converged"] and beyond <= TARGET_BEYOND_PROVISIONING_S) if full else None,
                at,
            )
    return found


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}{unit}" if abs(value) < 100 else f"{value:.0f}{unit}"
    return f"{value}{unit}"


def _pcts(summary: dict[str, Any]) -> str:
    return (
        f"p50 {_fmt(summary.get('p50'), ' s')}, p95 {_fmt(summary.get('p95'), ' s')}, "
        f"max {_fmt(summary.get('max'), ' s')} (n={summary.get('count', 0)})"
    )


def _latency_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    latency = result.get("latency")
    if latency:
        head = f"latency ({latency['clusters']} clusters, NKS ops {latency['nks_delay_s']:g} s)"
        rows.append((head, ""))
        rows.append(("  apply -> create_cluster call", _pcts(latency["apply_to_first_call_s"])))
        rows.append(("  NKS complete -> Ready=True", _pcts(latency["complete_to_ready_s"])))
        if "nodegroup_complete_to_ready_s" in latency:
            rows.append(
                ("  node group complete -> Ready", _pcts(latency["nodegroup_complete_to_ready_s"]))
            )
        rows.append(("  NKS calls", _fmt(latency["nks_calls"]["total"])))
        rows.append(
            (
                "  apiserver floor: the harness's own apply",
                f"{_fmt(latency.get('apply_seconds'), ' s')} for {latency['clusters']} objects",
            )
        )
        kube = latency.get("kube_api_calls") or {}
        if "writes_per_resource" in kube:
            rows.append(
                (
                    "  Kubernetes writes per resource until Ready",
                    f"{_fmt(kube['writes_per_resource'])} {kube['writes_per_resource_by_request']}",
                )
            )
    return rows


def _steady_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    steady = result.get("steady")
    if steady:
        listed, per = steady["list"], steady["per_resource"]
        rows.append((f"steady state ({listed['clusters']} clusters, 1 project)", ""))
        rows.append(
            (
                "  NKS calls per resync: list",
                f"{_fmt(listed['nks_calls_per_cycle'])} "
                f"{listed['nks_calls_per_cycle_by_operation']}",
            )
        )
        rows.append(
            (
                "  NKS calls per resync: per-resource",
                f"{_fmt(per['nks_calls_per_cycle'])} {per['nks_calls_per_cycle_by_operation']}",
            )
        )
        rows.append(("  ratio per-resource / list", _fmt(steady["per_resource_to_list_ratio"])))
        rows.append(
            (
                "  Kubernetes API calls per resync (list)",
                f"{_fmt(listed['kube_calls_per_resync'])} "
                f"({_fmt(listed['kube_calls_per_resource_per_resync'])} per resource)",
            )
        )
    return rows


def _scale_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    scale = result.get("scale")
    if scale:
        rows.append(
            (f"scale ({scale['clusters']} clusters + {scale['nodegroups']} node groups)", "")
        )
        rows.append(
            (
                "  converged",
                f"{scale['converged']} in {_fmt(scale['converge_seconds_from_first_apply'], ' s')}"
                f" from first apply (NKS ops {scale['nks_delay_s']:g} s)",
            )
        )
        op = scale["operator"]
        rows.append(
            (
                "  beyond simulated provisioning",
                f"{_fmt(scale.get('converge_seconds_beyond_provisioning'), ' s')} "
                f"(provisioning {_fmt(scale.get('simulated_provisioning_s'), ' s')})",
            )
        )
        rows.append(
            (
                "  operator peak RSS",
                f"{_fmt(op['peak_rss_mib'], ' MiB')} "
                f"(at start {_fmt(op.get('rss_at_start_mib'), ' MiB')}, "
                f"{_fmt(op.get('peak_kib_per_resource'), ' KiB')} per resource)",
            )
        )
        rows.append(("  operator CPU", _fmt(op["cpu_seconds_total"], " s")))
        rows.append(("  Kubernetes API calls", _fmt(scale["kube_api_calls"]["total"])))
        rows.append(("  NKS calls", _fmt(scale["nks_calls"]["total"])))
        rows.append(
            (
                "  identity tokens per credentials",
                _fmt(scale["identity_tokens"]["issue_token_calls"]),
            )
        )
        rows.append(("  apply -> create_cluster call", _pcts(scale["apply_to_first_call_s"])))
        rows.append(("  NKS complete -> Ready=True", _pcts(scale["complete_to_ready_s"])))
        life = scale.get("lifecycle")
        if life:
            cpu = life["operator_cpu_seconds"]
            rows.append(
                (
                    "  deleted, all gone",
                    f"{life['deleted']} in {_fmt(life['delete_seconds'], ' s')}",
                )
            )
            if "rss_settled_mib" in life:
                rows.append(
                    (
                        "  operator RSS when idle",
                        f"{_fmt(life['rss_settled_mib'], ' MiB')} all Ready, "
                        f"{_fmt(life['rss_after_delete_mib'], ' MiB')} after the deletion "
                        f"(peak {_fmt(life['peak_rss_mib'], ' MiB')} over both)",
                    )
                )
            rows.append(
                (
                    "  operator CPU per create -> Ready -> delete",
                    f"{_fmt(life['operator_cpu_ms_per_lifecycle'], ' ms')} "
                    f"(create -> Ready {_fmt(cpu['create_to_ready'], ' s')}, "
                    f"delete {_fmt(cpu['delete'], ' s')})",
                )
            )
            rows.append(
                (
                    "  NKS calls per create -> Ready -> delete",
                    f"{_fmt(life['nks_calls_per_lifecycle'])} "
                    f"{life['nks_calls_per_lifecycle_by_operation']}",
                )
            )
            rows.append(
                (
                    "  Kubernetes API calls per create -> Ready -> delete",
                    f"{_fmt(life['kube_api_calls_per_lifecycle'])} "
                    f"{life['kube_api_calls_per_lifecycle_by_request']}",
                )
            )
            rows.append(
                (
                    "  operator CPU per HTTP request (NKS + Kubernetes)",
                    _fmt(life["operator_cpu_ms_per_request"], " ms"),
                )
            )
    return rows


def _profile_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for name in ("latency", "scale"):
        profile = (result.get(name) or {}).get("profile")
        if profile:
            rows.append((f"operator CPU profile, {name} ({profile['samples']} samples)", ""))
            for layer, pct in list(profile["by_layer_pct"].items())[:10]:
                rows.append((f"  {layer}", f"{pct:.1f} %"))
    return rows


def _memory_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    memory = result.get("memory")
    if memory:
        rows.append((f"memory (tracemalloc, {memory['clusters']} + {memory['nodegroups']})", ""))
        rows.append(
            (
                "  traced live memory",
                f"{_fmt(memory['traced_mib'], ' MiB')} "
                f"({_fmt(memory['traced_kib_per_resource'], ' KiB')} per resource)",
            )
        )
        for name, mib in list(memory["top_mib_by_package"].items())[:8]:
            rows.append((f"    {name}", _fmt(mib, " MiB")))
    return rows


def _target_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    found = result.get("targets") or {}
    if found:
        rows.append(("targets", ""))
        for name, item in found.items():
            verdict = {True: "met", False: "MISSED", None: "not measured"}[item["met"]]
            rows.append((f"  {name} ({item['target']})", f"{_fmt(item['measured'])}: {verdict}"))
    return rows


def render_table(result: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    for section in (
        _latency_rows,
        _steady_rows,
        _scale_rows,
        _profile_rows,
        _memory_rows,
        _target_rows,
    ):
        rows += section(result)
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label:<{width}}{value}" for label, value in rows)
