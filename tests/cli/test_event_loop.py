"""`nks-operator run` runs kopf on uvloop where it is installed (a runtime dependency off
Windows), and on asyncio's own loop where it is not."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from nks_operator import run_command


def test_the_operator_runs_on_uvloop() -> None:
    factory = run_command.event_loop_factory()
    assert factory is uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        assert isinstance(runner.get_loop(), uvloop.Loop)


def test_without_uvloop_asyncio_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if it were not installed
    assert run_command.event_loop_factory() is None
