"""bench/profile.py: py-spy's collapsed stacks read back and grouped per layer. Synthetic
samples only; the end-to-end `--profile` run is in test_bench_quick.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import profile

SITE = "/venv/lib/python3.11/site-packages"
STDLIB = "/usr/lib/python3.11"
OWN = "/work/repo/operator/nks_operator"


def frame(func: str, path: str, line: int = 1) -> str:
    return f"{func} ({path}:{line})"


LOOP = [frame("run_forever", f"{STDLIB}/asyncio/base_events.py")]
WORKER = [*LOOP, frame("run", f"{OWN}/runtime/workers.py")]
POLLER = [*LOOP, frame("poll", f"{OWN}/polling/poller.py")]
KOPF = [*LOOP, frame("process", f"{SITE}/kopf/_core/reactor/queueing.py")]


@pytest.mark.parametrize(
    ("path", "module"),
    [
        (f"{SITE}/kopf/_core/reactor/queueing.py", "kopf._core.reactor.queueing"),
        (f"{OWN}/nks/client.py", "nks_operator.nks.client"),
        (f"{OWN}/nks/models/__init__.py", "nks_operator.nks.models"),
        (f"{STDLIB}/json/decoder.py", "json.decoder"),
        ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap>"),
    ],
)
def test_a_frame_file_becomes_its_module(path: str, module: str) -> None:
    assert profile.module_of(path) == module


def test_a_frame_is_parsed_with_or_without_a_line() -> None:
    assert profile.parse_frame(frame("loads", f"{STDLIB}/json/__init__.py", 346)) == (
        "json",
        "loads",
    )
    assert profile.parse_frame("<module> (<string>)") == ("<string>", "<module>")


def stack(*frames: str) -> profile.Stack:
    return [profile.parse_frame(f) for f in frames]


@pytest.mark.parametrize(
    ("frames", "layer"),
    [
        # What the leaf does decides first, its caller says for whom.
        (
            [*KOPF, frame("info", f"{STDLIB}/logging/__init__.py")],
            "logging (kopf's)",
        ),
        (
            [*WORKER, frame("info", f"{STDLIB}/logging/__init__.py")],
            "logging (the operator's)",
        ),
        (
            [*POLLER, frame("loads", f"{STDLIB}/json/__init__.py")],
            "JSON encode/decode",
        ),
        (
            [
                *POLLER,
                frame("get_cluster", f"{OWN}/nks/client.py"),
                frame("model_validate", f"{SITE}/pydantic/main.py"),
            ],
            "pydantic: NKS answers",
        ),
        (
            [
                *WORKER,
                frame("body", f"{OWN}/api/cluster.py"),
                frame("model_validate", f"{SITE}/pydantic/main.py"),
            ],
            "pydantic: Kubernetes objects and status",
        ),
        (
            [
                *WORKER,
                frame("request", f"{OWN}/nks/session.py"),
                frame("send", f"{SITE}/httpx/_client.py"),
            ],
            "HTTP to NKS",
        ),
        (
            [
                *WORKER,
                frame("patch", f"{OWN}/kube/client.py"),
                frame("send", f"{SITE}/httpx/_client.py"),
            ],
            "HTTP to Kubernetes",
        ),
        (
            [
                *WORKER,
                frame("request", f"{OWN}/kube/client.py"),
                frame("send", f"{OWN}/kube/wire.py"),
                frame("_request", f"{SITE}/aiohttp/client.py"),
            ],
            "HTTP to Kubernetes",
        ),
        (
            [
                *POLLER,
                frame("handle_async_request", f"{OWN}/aiohttp_transport.py"),
                frame("_request", f"{SITE}/aiohttp/client.py"),
            ],
            "HTTP to NKS",
        ),
        (
            [*KOPF, frame("read", f"{SITE}/aiohttp/streams.py")],
            "kopf's watch streams and requests",
        ),
        ([*WORKER, frame("post", f"{OWN}/kube/events.py")], "Events (the operator's)"),
        ([*WORKER, frame("patch", f"{OWN}/control/status_writer.py")], "status patch computation"),
        ([*WORKER, frame("get", f"{OWN}/runtime/workqueue.py")], "work queue and cache"),
        (KOPF, "kopf event handling"),
        ([*WORKER, frame("create", f"{OWN}/control/creation.py")], "passes (control, reconcile)"),
        (LOOP, "asyncio event loop"),
        # The entry point is on every stack: it owns nothing.
        (
            [
                frame("run", f"{OWN}/run_command.py"),
                *LOOP,
                frame("_run", f"{STDLIB}/asyncio/events.py"),
            ],
            "asyncio event loop",
        ),
        ([frame("x", "/elsewhere/x.py")], profile.OTHER),
    ],
)
def test_each_sample_falls_in_one_named_layer(frames: list[str], layer: str) -> None:
    assert profile.layer_of(stack(*frames)) == layer


def test_the_summary_names_layers_modules_and_functions(tmp_path: Path) -> None:
    raw = tmp_path / "op.pyspy.txt"
    json_leaf = frame("raw_decode", f"{STDLIB}/json/decoder.py")
    events = frame("post", f"{OWN}/kube/events.py")
    raw.write_text(
        ";".join([*POLLER, json_leaf]) + " 3\n" + ";".join([*WORKER, events]) + " 1\nbroken\n"
    )
    summary = profile.summarize(profile.read_collapsed(raw))
    assert summary["samples"] == 4
    assert summary["by_layer_pct"] == {"JSON encode/decode": 75.0, "Events (the operator's)": 25.0}
    assert summary["layers_all_in_pct"] == {
        "NKS client and poller": 75.0,
        "JSON": 75.0,
        "the operator's Events": 25.0,
    }
    assert summary["inclusive_pct"]["nks_operator.polling.poller"] == 75.0
    assert summary["inclusive_pct"]["json"] == 75.0
    assert "asyncio" not in summary["inclusive_pct"]  # on every stack: no information
    assert summary["top_self_pct"] == {
        "json.decoder:raw_decode": 75.0,
        "nks_operator.kube.events:post": 25.0,
    }
    text = profile.render(summary, "op")
    assert "JSON encode/decode" in text and "75.0 %" in text


def test_no_samples_is_an_empty_summary() -> None:
    assert profile.summarize([]) == {
        "samples": 0,
        "by_layer_pct": {},
        "layers_all_in_pct": {},
        "inclusive_pct": {},
        "top_self_pct": {},
    }
