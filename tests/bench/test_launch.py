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
    seen: list[Any] = []
    monkeypatch.setattr(cli, "main", lambda: seen.append(accounts.AccountPoller) or 0)
    assert launch.main() == 0
    expected = per_resource.PerResourcePoller if mode == launch.PER_RESOURCE else original
    assert seen == [expected]
