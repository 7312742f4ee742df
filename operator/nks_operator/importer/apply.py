"""`--apply`: server-side apply of the imported resources, all or nothing as far as the
API server can tell beforehand.

Before the first write: the CRDs must answer, names already in use are known (a resource
that already manages an NKS UUID keeps it and is left alone), and every new object passes
a dry run (schema, admission webhooks, quotas). Only then are they applied, clusters first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nks_operator.api.resources import CLUSTER, GROUP, NODEGROUP, VERSION, Resource
from nks_operator.importer.build import Imported
from nks_operator.importer.errors import ImportFailed
from nks_operator.importer.naming import Existing

FIELD_MANAGER = "nks-operator-import"
APPLY_PATCH = "application/apply-patch+yaml"
ID_FIELDS = {CLUSTER.kind: "clusterID", NODEGROUP.kind: "nodeGroupID"}
INSTALL_CRDS = "nks-operator crds --stdout | kubectl apply -f -"


def _reason(error: ApiException) -> str:
    """The API server's own message (its Status body), else the HTTP reason."""
    try:
        message = json.loads(error.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return f"HTTP {error.status}: {message or error.reason}"


def managed_id(item: dict[str, Any]) -> str | None:
    """The NKS UUID a resource manages: the one it adopted or created, else the one its
    spec asks to adopt."""
    key = ID_FIELDS[item.get("kind") or CLUSTER.kind]
    return (item.get("status") or {}).get(key) or (item.get("spec") or {}).get(key) or None


def _list(custom: client.CustomObjectsApi, resource: Resource, namespace: str | None) -> list:
    if namespace is None:
        answer = custom.list_cluster_custom_object(GROUP, VERSION, resource.plural)
    else:
        answer = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, resource.plural)
    return [{"kind": resource.kind, **item} for item in answer.get("items", [])]


def existing(api_client: client.ApiClient, namespace: str) -> Existing:
    """What is already there: resources of the namespace (the CRDs must answer), and, when
    this user may list them, the UUIDs managed from other namespaces."""
    custom = client.CustomObjectsApi(api_client)
    found = Existing()
    for resource, names in ((CLUSTER, found.clusters), (NODEGROUP, found.nodegroups)):
        try:
            items = _list(custom, resource, namespace)
        except ApiException as error:
            if error.status == 404:
                raise ImportFailed(
                    f"the CRD {resource.crd_name} is not installed in this Kubernetes cluster: "
                    f"install the CRDs first ({INSTALL_CRDS}); nothing was applied"
                ) from None
            raise ImportFailed(
                f"cannot list {resource.plural} in namespace {namespace}: {_reason(error)}"
            ) from None
        for item in items:
            names[item["metadata"]["name"]] = managed_id(item)
        try:
            everywhere = _list(custom, resource, None)
        except ApiException as error:
            if error.status in (401, 403):
                continue  # allowed in this namespace only: that is all we can check
            raise ImportFailed(f"cannot list {resource.plural}: {_reason(error)}") from None
        for item in everywhere:
            meta = item["metadata"]
            uuid = managed_id(item)
            if uuid and meta.get("namespace") != namespace:
                found.elsewhere.setdefault(
                    uuid, f"{resource.kind} {meta.get('namespace')}/{meta['name']}"
                )
    return found


def _apply(custom: client.CustomObjectsApi, item: Imported, *, dry_run: bool) -> None:
    plural = CLUSTER.plural if item.kind == CLUSTER.kind else NODEGROUP.plural
    custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        item.namespace,
        plural,
        item.name,
        item.manifest,  # sent as JSON, which is YAML
        field_manager=FIELD_MANAGER,
        dry_run="All" if dry_run else None,
        _content_type=APPLY_PATCH,
    )


def kubectl_name(item: Imported) -> str:
    plural = CLUSTER.plural if item.kind == CLUSTER.kind else NODEGROUP.plural
    return f"{plural}.{GROUP}/{item.name}"


def apply(api_client: client.ApiClient, resources: Sequence[Imported]) -> list[str]:
    """Apply the new resources (dry run of all first); one report line per resource."""
    custom = client.CustomObjectsApi(api_client)
    new = [item for item in resources if not item.exists]
    for item in new:
        try:
            _apply(custom, item, dry_run=True)
        except ApiException as error:
            raise ImportFailed(
                f"{item.ref} would be refused by the API server ({_reason(error)}); "
                "nothing was applied"
            ) from None
    for index, item in enumerate(new):
        try:
            _apply(custom, item, dry_run=False)
        except ApiException as error:
            done = ", ".join(i.ref for i in new[:index]) or "none"
            rest = ", ".join(i.ref for i in new[index:])
            raise ImportFailed(
                f"{item.ref} was refused by the API server ({_reason(error)}) after a "
                f"successful dry run; applied: {done}; not applied: {rest}"
            ) from None
    return [
        f"{kubectl_name(item)} unchanged (already exists; left as it is)"
        if item.exists
        else f"{kubectl_name(item)} created" + (" (paused)" if item.paused else "")
        for item in resources
    ]
