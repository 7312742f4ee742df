"""`--apply`: server-side apply of the imported resources, all or nothing as far as the
API server can tell beforehand.

Before the first write: the CRDs must answer, names already in use are known (a resource
that already manages an NKS UUID keeps it and is left alone), and every new object passes
a dry run (schema, admission webhooks, RBAC). Only then are they applied, clusters first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nks_operator.api.resources import CLUSTER, GROUP, NODEGROUP, VERSION, Resource
from nks_operator.importer.build import Imported
from nks_operator.importer.errors import ImportFailed
from nks_operator.importer.naming import Existing
from nks_operator.kube.client import KubeAPIError, KubeClient, KubeNotFound, KubeUnavailable

FIELD_MANAGER = "nks-operator-import"
APPLY_PATCH = "application/apply-patch+yaml"
RESOURCES = {CLUSTER.kind: CLUSTER, NODEGROUP.kind: NODEGROUP}
ID_FIELDS = {CLUSTER.kind: "clusterID", NODEGROUP.kind: "nodeGroupID"}
INSTALL_CRDS = "nks-operator crds --stdout | kubectl apply -f -"


def _path(resource: Resource, namespace: str | None, name: str | None = None) -> str:
    scope = f"/namespaces/{namespace}" if namespace is not None else ""
    return f"/apis/{GROUP}/{VERSION}{scope}/{resource.plural}" + (f"/{name}" if name else "")


def _reason(error: KubeAPIError) -> str:
    return f"HTTP {error.status}: {error.message or error.reason}"


def managed_id(item: dict[str, Any]) -> str | None:
    """The NKS UUID a resource manages: the one it adopted or created, else the one its
    spec asks to adopt."""
    key = ID_FIELDS[item.get("kind") or CLUSTER.kind]
    return (item.get("status") or {}).get(key) or (item.get("spec") or {}).get(key) or None


async def _list(
    kube: KubeClient, resource: Resource, namespace: str | None
) -> list[dict[str, Any]]:
    answer = await kube.request("GET", _path(resource, namespace))
    return [{"kind": resource.kind, **item} for item in answer.get("items", [])]


async def existing(kube: KubeClient, namespace: str) -> Existing:
    """What is already there: resources of the namespace (the CRDs must answer), and, when
    this user may list them, the UUIDs managed from other namespaces."""
    found = Existing()
    for resource, names in ((CLUSTER, found.clusters), (NODEGROUP, found.nodegroups)):
        for item in await _list_here(kube, resource, namespace):
            names[item["metadata"]["name"]] = managed_id(item)
        await _note_elsewhere(kube, resource, namespace, found.elsewhere)
    return found


async def _list_here(kube: KubeClient, resource: Resource, namespace: str) -> list[dict[str, Any]]:
    try:
        return await _list(kube, resource, namespace)
    except KubeNotFound:
        raise ImportFailed(
            f"the CRD {resource.crd_name} is not installed in this Kubernetes cluster: "
            f"install the CRDs first ({INSTALL_CRDS}); nothing was applied"
        ) from None
    except KubeUnavailable:
        raise
    except KubeAPIError as error:
        raise ImportFailed(
            f"cannot list {resource.plural} in namespace {namespace}: {_reason(error)}"
        ) from None


async def _note_elsewhere(
    kube: KubeClient, resource: Resource, namespace: str, elsewhere: dict[str, str]
) -> None:
    """The UUIDs `resource`s of other namespaces manage, when this user may list them."""
    try:
        everywhere = await _list(kube, resource, None)
    except KubeUnavailable:
        raise
    except KubeAPIError as error:
        if error.status in (401, 403):
            return  # allowed in this namespace only: that is all we can check
        raise ImportFailed(f"cannot list {resource.plural}: {_reason(error)}") from None
    for item in everywhere:
        meta = item["metadata"]
        uuid = managed_id(item)
        if uuid and meta.get("namespace") != namespace:
            elsewhere.setdefault(uuid, f"{resource.kind} {meta.get('namespace')}/{meta['name']}")


async def _apply(kube: KubeClient, item: Imported, *, dry_run: bool) -> None:
    params = {"fieldManager": FIELD_MANAGER, **({"dryRun": "All"} if dry_run else {})}
    await kube.request(
        "PATCH",
        _path(RESOURCES[item.kind], item.namespace, item.name),
        body=item.manifest,  # sent as JSON, which is YAML
        content_type=APPLY_PATCH,
        params=params,
    )


def kubectl_name(item: Imported) -> str:
    return f"{RESOURCES[item.kind].plural}.{GROUP}/{item.name}"


async def apply(kube: KubeClient, resources: Sequence[Imported]) -> list[str]:
    """Apply the new resources (dry run of all first); one report line per resource."""
    new = [item for item in resources if not item.exists]
    for item in new:
        try:
            await _apply(kube, item, dry_run=True)
        except KubeUnavailable:
            raise
        except KubeAPIError as error:
            raise ImportFailed(
                f"{item.ref} would be refused by the API server ({_reason(error)}); "
                "nothing was applied"
            ) from None
    for index, item in enumerate(new):
        try:
            await _apply(kube, item, dry_run=False)
        except KubeAPIError as error:
            done = ", ".join(i.ref for i in new[:index]) or "none"
            rest = ", ".join(i.ref for i in new[index:])
            what = "got no answer" if isinstance(error, KubeUnavailable) else "was refused"
            raise ImportFailed(
                f"{item.ref} {what} ({_reason(error)}) after a successful dry run; "
                f"applied: {done}; not applied: {rest}"
            ) from None
    return [
        f"{kubectl_name(item)} unchanged (already exists; left as it is)"
        if item.exists
        else f"{kubectl_name(item)} created" + (" (paused)" if item.paused else "")
        for item in resources
    ]
