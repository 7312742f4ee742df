"""bench/launch.py: the product's CLI, plus the instruments the benchmark's environment asks
for and nothing otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from bench import launch, per_resource, tracing
from nks_operator import cli
from nks_operator.polling import accounts


@pytest.mark.parametrize(
    ("env", "needed"),
    [
        ({}, False),
        ({"NKS_FAST_POLL_SECONDS": "1"}, False),
        ({launch.POLLING_MODE: "list"}, False),
        ({launch.POLLING_MODE: launch.PER_RESOURCE}, True),
        ({tracing.ENV: "/tmp/dump.json"}, True),
        ({launch.PROFILED: "1"}, True),
    ],
)
def test_the_launcher_is_used_only_for_an_instrument(env: dict[str, str], needed: bool) -> None:
    assert launch.needed(env) is needed


@pytest.mark.parametrize("mode", ["list", launch.PER_RESOURCE])
def test_the_launcher_runs_the_product_cli(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    original = accounts.AccountPoller  # type: ignore[attr-defined]
    monkeypatch.setattr(accounts, "AccountPoller", original)  # restored after
    monkeypatch.setenv(launch.POLLING_MODE, mode)
    monkeypatch.delenv(tracing.ENV, raising=False)
    monkeypatch.delenv(launch.PROFILED, raising=False)
    seen: list[Any] = []
    monkeypatch.setattr(cli, "main", lambda: seen.append(accounts.AccountPoller) or 0)
    assert launch.main() == 0
    expected = per_resource.PerResourcePoller if mode == launch.PER_RESOURCE else original
    assert seen == [expected]


def test_a_profiled_operator_lets_a_sibling_py_spy_attach(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(launch.PROFILED, "1")
    monkeypatch.delenv(launch.POLLING_MODE, raising=False)
    monkeypatch.delenv(tracing.ENV, raising=False)
    allowed: list[bool] = []
    monkeypatch.setattr(launch, "allow_any_tracer", lambda: allowed.append(True))
    monkeypatch.setattr(cli, "main", lambda: 0)
    assert launch.main() == 0
    assert allowed == [True]


def test_allowing_a_tracer_never_fails() -> None:
    launch.allow_any_tracer()  # this process: harmless with or without Yama
