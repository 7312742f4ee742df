"""A kube-apiserver restart for a private LocalKube (etcd keeps the data, same port)."""

from __future__ import annotations

from kubernetes import client

from nks_operator.localkube import LocalKube
from tests.fixtures.operator import wait_for


def restart_apiserver(kube: LocalKube, downtime: float = 3.0, timeout: float = 60.0) -> None:
    """Restart kube-apiserver (see `LocalKube.restart_apiserver`) and wait until it serves
    API requests again. Use it only on a LocalKube of the test's own, never the session's."""
    kube.restart_apiserver(downtime, timeout=timeout)

    def serving() -> bool:
        try:
            with kube.api_client() as api:
                client.CoreV1Api(api).read_namespace("default", _request_timeout=2)
        except Exception:
            return False
        return True

    wait_for(serving, timeout, interval=0.3, what="kube-apiserver serving again")
