"""`nks-operator run` runs kopf on asyncio's own loop, whatever loop policy is installed:
uvloop's reuse of a closed socket's descriptor stopped the operator when the
kube-apiserver restarted (MagicStack/uvloop#653)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from nks_operator import run_command


class _ForeignPolicy(asyncio.DefaultEventLoopPolicy):
    """What `uvloop.install()` (or any library's policy) would put in place."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        raise AssertionError("the operator asked the installed policy for its loop")


@pytest.fixture
def foreign_policy() -> Iterator[None]:
    before = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(_ForeignPolicy())
    try:
        yield
    finally:
        asyncio.set_event_loop_policy(before)


@pytest.mark.usefixtures("foreign_policy")
def test_the_operator_runs_on_asyncios_own_loop() -> None:
    with asyncio.Runner(loop_factory=run_command.event_loop_factory()) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, asyncio.SelectorEventLoop)
        assert runner.run(asyncio.sleep(0, result="ran")) == "ran"
