"""Fixtures of the resilience tests: an operator and a namespace of each test's own.

Every test here runs its own `nks-operator run` process watching only its own namespace
(`res-...`), so it can be killed, and its log and restarts belong to that test alone.
`NKS_RESILIENCE_LONG=1` turns the short CI forms into long runs; `NKS_RESILIENCE_SEED`
changes the seed of every random choice.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nks_devtools.localkube import LocalKube
from tests.e2e.helpers import new_tenant
from tests.fixtures.operator import OperatorProcess
from tests.resilience.helpers import ResilienceSim

SESSION_SCAN = "test_secret_hygiene.py::test_nothing_secret_in_the_whole_session"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The session-wide secret scan runs last, after every test that could leak."""
    last = [item for item in items if item.nodeid.endswith(SESSION_SCAN)]
    if last:
        items[:] = [item for item in items if item not in last] + last


@pytest.fixture
def res_namespace(request: pytest.FixtureRequest, kube_api: client.ApiClient) -> Iterator[str]:
    """A namespace `res-<test>-<hex>`, deleted (in the background) afterwards."""
    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"res-{stem}-{secrets.token_hex(2)}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    try:
        core.delete_namespace(name, propagation_policy="Background")
    except ApiException as err:
        if err.status != 404:
            raise


@pytest.fixture
def res_operator(
    kube: LocalKube, crds_installed: None, res_namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    """An operator process of this test's own, watching only `res_namespace`."""
    process = OperatorProcess(kube, res_namespace, tmp_path / "operator.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def sim(clean_simulator_thread: Any) -> Iterator[ResilienceSim]:
    """The session simulator (wiped), seen as a new tenant; faults cleared afterwards."""
    helper = ResilienceSim(clean_simulator_thread.url, new_tenant())
    try:
        yield helper
    finally:
        helper.clear_faults()
        helper.http.close()
