"""`--apply` decisions that need no API server (the rest runs in tests/e2e/test_import.py)."""

from __future__ import annotations

import httpx
import kopf
import pytest

from nks_operator.importer import apply
from nks_operator.importer.errors import ImportFailed
from nks_operator.kube.client import KubeClient


def test_managed_id_prefers_what_the_resource_adopted() -> None:
    item = {"kind": "NKSCluster", "spec": {"clusterID": "a"}, "status": {"clusterID": "b"}}
    assert apply.managed_id(item) == "b"
    assert apply.managed_id({"kind": "NKSCluster", "spec": {"clusterID": "a"}}) == "a"
    assert apply.managed_id({"kind": "NKSNodeGroup", "spec": {}, "status": {}}) is None
    assert apply.managed_id({"kind": "NKSNodeGroup", "status": {"nodeGroupID": "g"}}) == "g"


async def test_missing_crds_stop_the_import_before_any_write() -> None:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(404, json={"kind": "Status", "reason": "NotFound"})

    kube = KubeClient(
        lambda: kopf.ConnectionInfo(server="http://kube.test"),
        transport=httpx.MockTransport(answer),
    )
    with pytest.raises(ImportFailed, match=r"CRD nksclusters\.nks\.nhncloud\.com is not installed"):
        await apply.existing(kube, "team")
    await kube.aclose()
    assert [(r.method, r.url.path) for r in requests] == [
        ("GET", "/apis/nks.nhncloud.com/v1alpha1/namespaces/team/nksclusters")
    ]
