"""The benchmark end to end in its quick mode (`python -m bench --quick`): it starts the
real kube-apiserver, the simulator and the operator, runs every scenario and writes every
figure. Timings are never asserted - only that the run completes and that each figure is
present, counted over every resource and not negative."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import profile

pytestmark = pytest.mark.kube

ROOT = Path(__file__).resolve().parents[2]
QUICK_CLUSTERS, QUICK_NODEGROUPS = 20, 0
QUICK_SCALE_CLUSTERS, QUICK_SCALE_NODEGROUPS = 20, 40
QUICK_MEMORY_CLUSTERS, QUICK_MEMORY_NODEGROUPS = 10, 20
# Completion is estimated from the simulator's call-log time, which can trail the moment
# it read its clock by the time it took to answer: allow that much below zero.
CLOCK_SLACK_S = 0.5


def _summary(block: dict[str, Any], key: str, count: int) -> None:
    stats = block[key]
    assert stats["count"] == count, f"{key}: {stats}"
    for name in ("p50", "p95", "max", "mean"):
        assert isinstance(stats[name], (int, float)), f"{key}.{name}: {stats}"
        assert stats[name] >= 0, f"{key}.{name}: {stats}"
    assert stats["min"] >= -CLOCK_SLACK_S, f"{key}: {stats}"
    assert stats["p50"] <= stats["p95"] <= stats["max"], f"{key}: {stats}"


def _cost(operator: dict[str, Any]) -> None:
    assert operator["peak_rss_mib"] > 0
    assert operator["peak_rss_mib"] >= operator["rss_mib"] > 0
    assert operator["cpu_seconds_total"] >= operator["cpu_seconds_after_ready"] >= 0


def _lifecycle(life: dict[str, Any], resources: int) -> None:
    """Every resource deleted, and the per create -> Ready -> delete figures present."""
    assert life["deleted"] is True and life["resources"] == resources
    assert life["delete_seconds"] >= 0
    assert life["operator_cpu_seconds"]["create_to_ready"] > 0
    assert life["operator_cpu_seconds"]["delete"] >= 0
    assert life["operator_cpu_ms_per_lifecycle"] > 0
    by_operation = life["nks_calls_per_lifecycle_by_operation"]
    assert by_operation["create_cluster"] > 0 and by_operation["delete_cluster"] > 0
    assert life["nks_calls_per_lifecycle"] >= sum(by_operation.values()) - 0.1
    assert life["nks_calls_of_delete_per_resource"] > 0
    assert life["kube_api_calls_per_lifecycle"] > 0
    assert life["kube_api_calls_per_lifecycle_by_request"]
    assert life["operator_cpu_ms_per_request"] > 0
    assert life["peak_rss_mib"] >= max(life["rss_settled_mib"], life["rss_after_delete_mib"]) > 0


def test_quick_benchmark_runs_every_scenario(tmp_path: Path) -> None:
    output = tmp_path / "quick.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    assert "targets" in done.stdout  # the table was printed
    result = json.loads(output.read_text())

    assert set(result) >= {"meta", "latency", "steady", "scale", "memory", "targets"}
    meta = result["meta"]
    assert meta["quick"] is True and meta["machine"]["cpus"] >= 1
    assert meta["duration_seconds"] > 0 and len(meta["load_average_before"]) == 3

    latency = result["latency"]
    assert latency["converged"] is True
    assert latency["clusters"] == QUICK_CLUSTERS and latency["nodegroups"] == QUICK_NODEGROUPS
    _summary(latency, "apply_to_first_call_s", QUICK_CLUSTERS)
    _summary(latency, "complete_to_ready_s", QUICK_CLUSTERS)
    check = latency["correlation"]["clusters"]
    assert check["paired"] == QUICK_CLUSTERS and check["pairing_violations"] == 0
    assert latency["nks_calls"]["by_operation"]["create_cluster"] >= QUICK_CLUSTERS
    assert latency["identity_tokens"]["issue_token_calls"] >= 1
    _cost(latency["operator"])

    steady = result["steady"]
    for mode in ("list", "per_resource"):
        block = steady[mode]
        assert block["converged"] is True, mode
        assert block["cycles_measured"] >= 1, mode
        assert block["nks_calls_per_cycle"] > 0, mode
        assert block["kube_calls_per_resync"] >= 0, mode
        _cost(block["operator"])
    assert steady["per_resource"]["nks_calls_per_cycle_by_operation"].get("get_cluster", 0) > 0
    assert steady["per_resource_to_list_ratio"] > 0

    scale = result["scale"]
    assert scale["converged"] is True
    assert scale["clusters"] == QUICK_SCALE_CLUSTERS
    assert scale["nodegroups"] == QUICK_SCALE_NODEGROUPS
    assert scale["ready"] == {
        "nksclusters": QUICK_SCALE_CLUSTERS,
        "nksnodegroups": QUICK_SCALE_NODEGROUPS,
    }
    assert scale["converge_seconds_from_first_apply"] > 0
    assert scale["kube_api_calls"]["total"] > 0
    assert scale["nks_calls"]["total"] > 0
    assert scale["identity_tokens"]["issue_token_calls"] >= 1
    _summary(scale, "apply_to_first_call_s", QUICK_SCALE_CLUSTERS)
    _summary(scale, "complete_to_ready_s", QUICK_SCALE_CLUSTERS)
    _summary(scale, "nodegroup_complete_to_ready_s", QUICK_SCALE_NODEGROUPS)
    assert scale["correlation"]["nodegroups"]["pairing_violations"] == 0
    # Sibling node groups wait their turn: NKS never has to refuse a create as busy.
    assert not scale["nks_calls"]["error_answers"], scale["nks_calls"]
    _cost(scale["operator"])
    _lifecycle(scale["lifecycle"], QUICK_SCALE_CLUSTERS + QUICK_SCALE_NODEGROUPS)
    assert "per create -> Ready -> delete" in done.stdout

    memory = result["memory"]
    assert memory["converged"] is True
    assert (memory["clusters"], memory["nodegroups"]) == (
        QUICK_MEMORY_CLUSTERS,
        QUICK_MEMORY_NODEGROUPS,
    )
    assert memory["traced_mib"] > 0 and memory["traced_kib_per_resource"] > 0
    assert "nks_operator.nks" in memory["top_mib_by_package"] or any(
        name.startswith("nks_operator") for name in memory["top_mib_by_package"]
    )

    assert set(result["targets"]) == {
        "apply_to_call_p95",
        "complete_to_ready_p95",
        "one_list_call_per_resync",
        "peak_rss",
        "converge_beyond_provisioning",
    }
    for target in result["targets"].values():
        assert target["measured"] is not None


def _py_spy_refused() -> str | None:
    """Why this machine will not let py-spy read another process (a container without
    ptrace), or None: the same check `--profile` depends on, on a process set up as the
    bench sets up the operator."""
    target = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from bench import launch; launch.allow_any_tracer(); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert target.stdout is not None and target.stdout.readline().strip() == "ready"
        dumped = subprocess.run(
            [profile.Profiler.executable(), "dump", "--pid", str(target.pid)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        target.kill()
        target.wait()
    if dumped.returncode == 0:
        return None
    return (dumped.stderr or dumped.stdout).strip()[-500:] or f"exit {dumped.returncode}"


def test_profile_mode_writes_the_samples_and_names_the_layers(tmp_path: Path) -> None:
    refused = _py_spy_refused()
    if refused is not None:
        pytest.skip(f"this machine does not let py-spy read a process: {refused}")
    output = tmp_path / "tiny.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--scenario",
            "scale",
            "--scale-clusters",
            "2",
            "--scale-nodegroups",
            "2",
            "--profile",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    scale = json.loads(output.read_text())["scale"]
    _lifecycle(scale["lifecycle"], 4)
    found = scale["profile"]
    assert found["samples"] > 0
    named = {name for name, _ in profile.RULES} | {profile.OTHER}
    assert found["by_layer_pct"] and set(found["by_layer_pct"]) <= named
    assert found["inclusive_pct"] and found["top_self_pct"]
    assert set(found["layers_all_in_pct"]) <= set(profile.ALL_IN)
    directory = tmp_path / "tiny-profile"
    assert Path(found["files"]["samples"]) == directory / "scale.pyspy.txt"
    assert (directory / "scale.pyspy.txt").stat().st_size > 0
    text = (directory / "scale.profile.txt").read_text()
    assert "by layer" in text and "hottest functions" in text
    assert "operator CPU profile, scale" in done.stdout
