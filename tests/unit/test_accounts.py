"""Accounts: endpoint policy and call bounds from the settings, and the pass slots that keep
one account from holding every worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from nks_operator.kube.credentials import ResolvedCredentials
from nks_operator.nks.errors import AnswerTooLargeError, EndpointNotAllowedError, TransportError
from nks_operator.polling.accounts import Account, Accounts
from nks_operator.settings import OperatorSettings
from tests.nks.local_server import LocalServer, json_answer, silent_answer, streamed_answer

LOOPBACK = ("http://127.0.0.1:*",)
SUPPORTS = {"supported_k8s": {"v1.30.3": True}}


def credentials(nks_url: str | None = None, identity_url: str | None = None) -> ResolvedCredentials:
    return ResolvedCredentials(
        tenant_id="tenant-1",
        username="me@example.com",
        password=SecretStr("pw-accounts-test"),
        identity_url=identity_url,
        nks_url=nks_url,
        source="secret team-b/nks",
    )


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with LocalServer({"/v1/supports": json_answer(SUPPORTS)}) as started:
        yield started


@pytest.fixture
async def accounts_factory() -> AsyncIterator[Any]:
    made: list[Accounts] = []

    def make(**settings: Any) -> Accounts:
        made.append(Accounts(OperatorSettings(**settings), wake=lambda key: None))
        return made[-1]

    yield make
    for accounts in made:
        await accounts.close()


# -- the endpoint policy ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("nks", "identity"),
    [(True, True), (True, False), (False, True)],
    ids=["both", "nks-url", "identity-url"],
)
async def test_an_off_list_tenant_url_is_refused_before_any_request(
    nks: bool, identity: bool, server: LocalServer, accounts_factory: Any
) -> None:
    """A tenant's Secret points at a loopback server the admin did not allow."""
    accounts = accounts_factory()  # NHN's public hosts only
    creds = credentials(server.url if nks else None, server.url if identity else None)
    with pytest.raises(EndpointNotAllowedError) as caught:
        accounts.get(creds, "kr1")
    assert caught.value.endpoint == server.url
    assert server.requests == []
    assert len(accounts) == 0


@pytest.mark.parametrize("url", ["http://169.254.169.254", "http://[::1]:9511"])
async def test_link_local_and_loopback_are_refused_by_default(
    url: str, accounts_factory: Any
) -> None:
    with pytest.raises(EndpointNotAllowedError):
        accounts_factory().get(credentials(url, url), "kr1")


async def test_an_allowed_tenant_url_is_used(server: LocalServer, accounts_factory: Any) -> None:
    accounts = accounts_factory(allowed_endpoints=LOOPBACK)
    account = accounts.get(credentials(server.url, server.url), "kr1")
    assert await account.supported_versions() == {"v1.30.3": True}
    assert server.requests == ["POST /v2.0/tokens", "GET /v1/supports"]


async def test_the_default_credentials_urls_are_trusted(
    server: LocalServer, accounts_factory: Any
) -> None:
    """The admin's own NKS_URL / NKS_IDENTITY_URL need no allow-list entry."""
    from nks_operator.settings import DefaultCredentials

    defaults = DefaultCredentials(
        "tenant-1", "me@example.com", SecretStr("pw"), identity_url=server.url, nks_url=server.url
    )
    accounts = accounts_factory(default_credentials=defaults)
    account = accounts.get(credentials(server.url, server.url), "kr1")
    assert await account.supported_versions() == {"v1.30.3": True}


# -- the bounds ------------------------------------------------------------------------


async def test_the_answer_limit_comes_from_the_settings(
    server: LocalServer, accounts_factory: Any
) -> None:
    server.routes["/v1/supports"] = streamed_answer(total=65536 + 1)
    accounts = accounts_factory(allowed_endpoints=LOOPBACK, max_answer_bytes=65536)
    account = accounts.get(credentials(server.url, server.url), "kr1")
    with pytest.raises(AnswerTooLargeError) as caught:
        await account.supported_versions()
    assert "65536" in caught.value.message


async def test_the_call_deadline_comes_from_the_settings(
    server: LocalServer, accounts_factory: Any
) -> None:
    server.routes["/v1/supports"] = silent_answer()
    accounts = accounts_factory(allowed_endpoints=LOOPBACK, call_timeout_seconds=0.5)
    account = accounts.get(credentials(server.url, server.url), "kr1")
    # The silent answer would hold the default deadline (60 s): outliving this bound
    # fails the test with TimeoutError instead of the transport's CallTimeout.
    with pytest.raises(TransportError, match="CallTimeout"):
        await asyncio.wait_for(account.supported_versions(), 10)


# -- pass slots ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "slots"), [({"workers": 6}, 3), ({"account_concurrency": 2}, 2)]
)
async def test_slots_come_from_the_settings(
    options: dict[str, Any], slots: int, server: LocalServer, accounts_factory: Any
) -> None:
    account = accounts_factory(allowed_endpoints=LOOPBACK, **options).get(
        credentials(server.url, server.url), "kr1"
    )
    assert account.pass_slots == slots
    assert [await account.acquire_pass_slot(0) for _ in range(slots + 1)] == [True] * slots + [
        False
    ]


async def settle() -> None:
    """Let every ready task run until it waits."""
    for _ in range(5):
        await asyncio.sleep(0)


def account(slots: int) -> Account:
    # The limiter needs nothing of the client or poller.
    return Account(None, None, None, 60.0, pass_slots=slots)  # type: ignore[arg-type]


async def test_a_full_account_answers_false_after_waiting() -> None:
    limited = account(2)
    assert await limited.acquire_pass_slot(0)
    assert await limited.acquire_pass_slot(0.01)
    waiting = asyncio.create_task(limited.acquire_pass_slot(0.2))
    await settle()
    assert not waiting.done()  # it waits for a slot rather than answering at once
    assert not await waiting
    assert not await limited.acquire_pass_slot(0)
    limited.release_pass_slot()
    assert await limited.acquire_pass_slot(0)


async def test_a_waiting_pass_gets_the_slot_freed_meanwhile() -> None:
    limited = account(1)
    assert await limited.acquire_pass_slot(0)
    waiter = asyncio.create_task(limited.acquire_pass_slot(5.0))
    await settle()
    assert not waiter.done()
    limited.release_pass_slot()
    assert await waiter  # the freed slot, not the end of its 5 s wait (that answers False)


async def test_slots_go_in_the_order_they_were_asked_for() -> None:
    limited = account(1)
    assert await limited.acquire_pass_slot(0)
    order: list[int] = []

    async def wait(number: int) -> None:
        if await limited.acquire_pass_slot(5.0):
            order.append(number)

    waiters = []
    for number in range(3):
        waiters.append(asyncio.create_task(wait(number)))
        await asyncio.sleep(0.01)
    for _ in range(3):
        limited.release_pass_slot()
        await asyncio.sleep(0.01)
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2]


async def test_timed_out_and_cancelled_waiters_keep_no_slot() -> None:
    limited = account(1)
    assert await limited.acquire_pass_slot(0)
    assert not await limited.acquire_pass_slot(0.05)
    cancelled = asyncio.create_task(limited.acquire_pass_slot(5.0))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    limited.release_pass_slot()
    assert await limited.acquire_pass_slot(0)


async def test_the_context_gives_the_slot_back_even_on_error() -> None:
    limited = account(1)
    with pytest.raises(RuntimeError):
        async with limited.pass_slot(0) as acquired:
            assert acquired
            raise RuntimeError("the pass failed")
    async with limited.pass_slot(0) as acquired:
        assert acquired
        async with limited.pass_slot(0.01) as second:
            assert not second  # full: nothing to give back on leaving
    assert await limited.acquire_pass_slot(0)


async def test_a_release_without_a_slot_is_an_error() -> None:
    limited = account(1)
    with pytest.raises(ValueError):
        limited.release_pass_slot()


def test_an_account_needs_a_slot() -> None:
    with pytest.raises(ValueError):
        account(0)
