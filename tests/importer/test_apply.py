"""`--apply` decisions that need no API server (the rest runs in tests/e2e/test_import.py)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nks_operator.importer import apply
from nks_operator.importer.errors import ImportFailed


def test_managed_id_prefers_what_the_resource_adopted() -> None:
    item = {"kind": "NKSCluster", "spec": {"clusterID": "a"}, "status": {"clusterID": "b"}}
    assert apply.managed_id(item) == "b"
    assert apply.managed_id({"kind": "NKSCluster", "spec": {"clusterID": "a"}}) == "a"
    assert apply.managed_id({"kind": "NKSNodeGroup", "spec": {}, "status": {}}) is None
    assert apply.managed_id({"kind": "NKSNodeGroup", "status": {"nodeGroupID": "g"}}) == "g"


def test_missing_crds_stop_the_import_before_any_write(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_found(*args: Any, **kwargs: Any) -> Any:
        raise ApiException(status=404, reason="Not Found")

    monkeypatch.setattr(client.CustomObjectsApi, "list_namespaced_custom_object", not_found)
    with pytest.raises(ImportFailed, match=r"CRD nksclusters\.nks\.nhncloud\.com is not installed"):
        apply.existing(client.ApiClient(), "team")
