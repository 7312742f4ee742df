"""The Kubernetes calls the operator makes itself (kopf does the watching).

Secrets are read by name, never listed or watched: the operator needs get/create/update/
delete on Secrets and nothing that would show it every Secret of the cluster. Credentials
Secrets are cached for a while (`secret_ttl`) and dropped as soon as they fail to work, so a
fixed Secret is read again on the resource's next attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections.abc import Callable
from typing import Any

from nks_operator.api.resources import GROUP, OWNERSHIP, VERSION, Resource
from nks_operator.kube.client import MERGE_PATCH, KubeClient, KubeNotFound

Secret = dict[str, Any]  # a Secret as the API returns it (JSON)


def _object_path(resource: Resource, namespace: str, name: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{resource.plural}/{name}"


def _ownership_path(name: str | None = None) -> str:
    base = f"/apis/{GROUP}/{VERSION}/{OWNERSHIP.plural}"
    return base if name is None else f"{base}/{name}"


def _secret_path(namespace: str, name: str | None = None) -> str:
    base = f"/api/v1/namespaces/{namespace}/secrets"
    return base if name is None else f"{base}/{name}"


class KubeAPI:
    def __init__(
        self,
        client: KubeClient,
        *,
        secret_ttl: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.secret_ttl = secret_ttl
        self._clock = clock
        self._secrets: dict[tuple[str, str], tuple[float, Secret | None]] = {}
        self._reads: dict[tuple[str, str], asyncio.Task[Secret | None]] = {}

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return await self.client.request(method, path, **kwargs)

    # -- the custom resources --------------------------------------------------------------

    async def get_object(
        self, resource: Resource, namespace: str, name: str
    ) -> dict[str, Any] | None:
        try:
            return await self._request("GET", _object_path(resource, namespace, name))
        except KubeNotFound:
            return None

    async def patch_status(
        self, resource: Resource, namespace: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Merge-patch the status subresource (spec and metadata stay untouched); None when
        the object is gone."""
        try:
            return await self._request(
                "PATCH",
                _object_path(resource, namespace, name) + "/status",
                body={"status": status},
                content_type=MERGE_PATCH,
            )
        except KubeNotFound:
            return None

    async def patch_metadata(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        metadata: dict[str, Any],
        *,
        resource_version: str | None,
    ) -> dict[str, Any] | None:
        """Merge-patch metadata (finalizers, the operator's annotations) on the condition
        that the object is still at `resource_version` (a 409 otherwise): a finalizer list
        is replaced whole, and must not drop one another controller just added."""
        meta = dict(metadata)
        if resource_version is not None:
            meta["resourceVersion"] = resource_version
        try:
            return await self._request(
                "PATCH",
                _object_path(resource, namespace, name),
                body={"metadata": meta},
                content_type=MERGE_PATCH,
            )
        except KubeNotFound:
            return None

    # -- Secrets ---------------------------------------------------------------------------

    async def read_secret(self, namespace: str, name: str) -> Secret | None:
        try:
            return await self._request("GET", _secret_path(namespace, name))
        except KubeNotFound:
            return None

    async def read_secret_cached(self, namespace: str, name: str) -> Secret | None:
        """A Secret read at most once per `secret_ttl` (one read shared by every caller);
        a missing Secret is not cached, so its creation is seen on the next attempt."""
        key = (namespace, name)
        cached = self._secrets.get(key)
        if cached is not None and self._clock() - cached[0] < self.secret_ttl:
            return cached[1]
        task = self._reads.get(key)
        if task is None:
            task = asyncio.ensure_future(self.read_secret(namespace, name))
            self._reads[key] = task
            task.add_done_callback(lambda _: self._reads.pop(key, None))
        secret = await asyncio.shield(task)
        if secret is not None:
            self._secrets[key] = (self._clock(), secret)
        return secret

    def forget_secret(self, namespace: str, name: str) -> None:
        """The cached value did not work (or was just written): read it again next time."""
        self._secrets.pop((namespace, name), None)

    async def write_secret(self, namespace: str, secret: Secret, existing: Secret | None) -> None:
        """Create `secret`, or replace `existing` - only the version the caller read and
        judged to be the operator's: a Secret changed since (or made by someone else in
        between) gives a 409, and nothing is overwritten."""
        name = secret["metadata"]["name"]
        self.forget_secret(namespace, name)
        if existing is None:
            await self._request("POST", _secret_path(namespace), body=secret)
            return
        body = copy.deepcopy(secret)
        body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
        await self._request("PUT", _secret_path(namespace, name), body=body)

    async def delete_secret(self, namespace: str, existing: Secret) -> None:
        """Delete exactly the Secret the caller read (its UID and version): one replaced
        since, by anyone, stays."""
        meta = existing["metadata"]
        self.forget_secret(namespace, meta["name"])
        options = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "preconditions": {"uid": meta["uid"], "resourceVersion": meta["resourceVersion"]},
        }
        with contextlib.suppress(KubeNotFound):
            await self._request("DELETE", _secret_path(namespace, meta["name"]), body=options)

    async def patch_secret_finalizers(
        self, namespace: str, existing: Secret, finalizers: list[str]
    ) -> Secret | None:
        """Replace the finalizers of the Secret as read (409 if it changed since)."""
        meta = existing["metadata"]
        self.forget_secret(namespace, meta["name"])
        try:
            return await self._request(
                "PATCH",
                _secret_path(namespace, meta["name"]),
                body={
                    "metadata": {
                        "finalizers": finalizers,
                        "resourceVersion": meta["resourceVersion"],
                    }
                },
                content_type=MERGE_PATCH,
            )
        except KubeNotFound:
            return None

    # -- ownership records (cluster-scoped) ------------------------------------------------

    async def read_ownership(self, name: str) -> dict[str, Any] | None:
        try:
            return await self._request("GET", _ownership_path(name))
        except KubeNotFound:
            return None

    async def list_ownerships(self, label_selector: str) -> list[dict[str, Any]]:
        answer = await self._request(
            "GET", _ownership_path(), params={"labelSelector": label_selector}
        )
        return [item for item in answer.get("items") or [] if isinstance(item, dict)]

    async def create_ownership(self, body: dict[str, Any]) -> dict[str, Any]:
        """Raises KubeConflict when a record of that name exists: the atomic claim."""
        return await self._request("POST", _ownership_path(), body=body)

    async def replace_ownership(self, existing: dict[str, Any], body: dict[str, Any]) -> None:
        """Take over a record whose owner is gone, only as read (409 if it changed)."""
        body = copy.deepcopy(body)
        body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
        await self._request("PUT", _ownership_path(existing["metadata"]["name"]), body=body)

    async def delete_ownership(self, name: str, version: str, uid: str | None = None) -> None:
        """Delete the record only at `version` (and `uid`): 409 when it changed since."""
        preconditions = {"resourceVersion": version}
        if uid is not None:
            preconditions["uid"] = uid
        options = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": preconditions}
        with contextlib.suppress(KubeNotFound):
            await self._request("DELETE", _ownership_path(name), body=options)
