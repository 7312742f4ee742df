"""One Kubernetes API client for the process, and the few calls the operator makes itself.

kopf watches and posts Events; status patches, Secrets and fresh reads go through the
official client, run in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from nks_operator.api.resources import GROUP, VERSION, Resource


def load_api_client(kubeconfig: str | None = None) -> client.ApiClient:
    """The in-cluster service account when running in a pod, else the current kubeconfig."""
    configuration = client.Configuration()
    try:
        if kubeconfig is None:
            config.load_incluster_config(client_configuration=configuration)
        else:
            raise config.ConfigException("explicit kubeconfig")
    except config.ConfigException:
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    return client.ApiClient(configuration)


class KubeAPI:
    """Async wrappers over the calls the operator makes outside kopf."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        # Credentials Secrets, read once and dropped on every watch event of theirs.
        self._secrets: dict[tuple[str, str], client.V1Secret] = {}
        self._secret_events: dict[tuple[str, str], int] = {}

    async def get_object(
        self, resource: Resource, namespace: str, name: str
    ) -> dict[str, Any] | None:
        try:
            return await asyncio.to_thread(
                self.custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                resource.plural,
                name,
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    async def patch_status(
        self, resource: Resource, namespace: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Merge-patch `status` (the subresource, so spec and metadata stay untouched)."""
        try:
            return await asyncio.to_thread(
                self.custom.patch_namespaced_custom_object_status,
                GROUP,
                VERSION,
                namespace,
                resource.plural,
                name,
                {"status": status},
            )
        except ApiException as error:
            if error.status == 404:  # deleted meanwhile: nothing to report on
                return None
            raise

    async def read_secret(self, namespace: str, name: str) -> client.V1Secret | None:
        try:
            return await asyncio.to_thread(self.core.read_namespaced_secret, name, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    async def read_watched_secret(self, namespace: str, name: str) -> client.V1Secret | None:
        """A Secret the operator also watches (see `secret_changed`): read from the API
        only the first time and after it changed. Every pass of every resource needs its
        credentials; a GET each time was most of the operator's Kubernetes traffic."""
        key = (namespace, name)
        cached = self._secrets.get(key)
        if cached is not None:
            return cached
        seen = self._secret_events.setdefault(key, 0)
        secret = await self.read_secret(namespace, name)
        # A change seen while the GET was in flight may be newer than its answer.
        if secret is not None and self._secret_events[key] == seen:
            self._secrets[key] = secret
        return secret

    def secret_changed(self, namespace: str, name: str) -> None:
        """The watch saw the Secret created, changed or deleted: read it again next time."""
        key = (namespace, name)
        if key in self._secret_events:
            self._secret_events[key] += 1
            self._secrets.pop(key, None)

    async def upsert_secret(self, namespace: str, secret: client.V1Secret) -> None:
        name = secret.metadata.name
        self.secret_changed(namespace, name)  # never serve the old value after a write
        try:
            await asyncio.to_thread(self.core.replace_namespaced_secret, name, namespace, secret)
        except ApiException as error:
            if error.status != 404:
                raise
            await asyncio.to_thread(self.core.create_namespaced_secret, namespace, secret)

    async def delete_secret(self, namespace: str, name: str) -> None:
        self.secret_changed(namespace, name)
        try:
            await asyncio.to_thread(self.core.delete_namespaced_secret, name, namespace)
        except ApiException as error:
            if error.status != 404:
                raise
