"""Helpers for the simulator tests: an NKS session over httpx, request bodies, assertions.

The tests talk HTTP only (not the project's NKS client), so they check the wire format
the client and the operator rely on.
"""

from __future__ import annotations

import asyncio
import copy
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx

VERSION_HEADER = {"OpenStack-API-Version": "container-infra latest"}
NETWORK = "eb212079-b6ec-430c-ba57-14280a457bcb"
SUBNET = "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90"
FLAVOR = "6ef27f21-c774-4c0e-84ff-7dd4a762571f"
FLAVOR_2 = "1d0d6983-8e9d-44dc-810e-d7689afa372c"
IMAGE = "f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc"
EXTERNAL_NETWORK = "751b8227-7b45-440a-9349-dbf829d0aba5"
EXTERNAL_SUBNET = "59ddc195-76b1-431d-9693-f09880747dc6"
SGW_1 = "48f4ff38-d14b-4f34-a40c-705524e6a755"
SGW_2 = "23c550cb-6a5b-4eaa-903a-711c13316d91"
PASSWORD = "Sup3r-Secret-API-pw!"

_TLS = ssl.create_default_context()  # built once: httpx builds one per client otherwise


def http_client(base_url: str, timeout: float = 10.0) -> httpx.AsyncClient:
    """A client on the simulator (plain HTTP; the shared TLS context only saves time)."""
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, verify=_TLS)


_LABELS: dict[str, Any] = {
    "availability_zone": "kr2-pub-b",
    "boot_volume_size": "20",
    "boot_volume_type": "General HDD",
    "ca_enable": "false",
    "cert_manager_api": "True",
    "external_network_id": EXTERNAL_NETWORK,
    "external_subnet_id_list": EXTERNAL_SUBNET,
    "kube_tag": "v1.28.3",
    "master_lb_floating_ip_enabled": "true",
    "node_image": IMAGE,
}


def cluster_body(name: str = "test-k8s", node_count: Any = 1, **labels: Any) -> dict[str, Any]:
    """A valid create-cluster request (the guide's example); `labels` override (None drops)."""
    merged = copy.deepcopy(_LABELS)
    for key, value in labels.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return {
        "cluster_template_id": "iaas_console",
        "create_timeout": 60,
        "fixed_network": NETWORK,
        "fixed_subnet": SUBNET,
        "flavor_id": FLAVOR,
        "keypair": "test-keypair",
        "labels": merged,
        "name": name,
        "node_count": node_count,
    }


def nodegroup_body(
    name: str = "added-nodegroup", node_count: int = 1, **labels: Any
) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "availability_zone": "kr2-pub-b",
        "boot_volume_size": "20",
        "boot_volume_type": "General HDD",
        "ca_enable": "false",
    }
    for key, value in labels.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return {
        "name": name,
        "node_count": node_count,
        "flavor_id": FLAVOR,
        "image_id": IMAGE,
        "labels": merged,
    }


def assert_error(response: httpx.Response, status: int, *fragments: str) -> str:
    """The response is an NKS error document with `status`; returns its detail."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"}, body
    (error,) = body["errors"]
    assert set(error) == {"request_id", "code", "status", "title", "detail", "links"}, error
    assert error["status"] == status
    assert error["code"] == ("client" if status < 500 else "server")
    assert error["links"] == []
    assert error["request_id"].startswith("req-")
    for fragment in fragments:
        assert fragment.lower() in error["detail"].lower(), error["detail"]
    return str(error["detail"])


def assert_keystone_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == status
    assert set(error) == {"message", "code", "title"}


async def issue_token(
    client: httpx.AsyncClient,
    tenant: str,
    username: str = "user@example.com",
    password: str = PASSWORD,
) -> httpx.Response:
    return await client.post(
        "/v2.0/tokens",
        json={
            "auth": {
                "tenantId": tenant,
                "passwordCredentials": {"username": username, "password": password},
            }
        },
    )


class Nks:
    """One tenant's authenticated session against the simulator."""

    def __init__(self, client: httpx.AsyncClient, token: str, tenant: str) -> None:
        self.client = client
        self.token = token
        self.tenant = tenant

    @classmethod
    async def login(cls, client: httpx.AsyncClient, tenant: str) -> Nks:
        response = await issue_token(client, tenant)
        assert response.status_code == 200, response.text
        return cls(client, response.json()["access"]["token"]["id"], tenant)

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token, **VERSION_HEADER}

    async def request(self, method: str, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.client.request(method, path, json=json, headers=self.headers, **kw)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.request("POST", path, json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.request("PATCH", path, json, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kw)

    async def json(self, path: str) -> Any:
        response = await self.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_for(
        self, path: str, predicate: Callable[[Any], bool], within: float = 5.0
    ) -> Any:
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            response = await self.get(path)
            last = response.json() if response.status_code == 200 else response.status_code
            if response.status_code == 200 and predicate(last):
                return last
            await asyncio.sleep(0.02)
        raise AssertionError(f"{path} never matched; last: {last!r}")

    async def wait_status(self, path: str, status: str, within: float = 5.0) -> Any:
        return await self.wait_for(path, lambda doc: doc["status"] == status, within)

    async def wait_gone(self, path: str, within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if (await self.get(path)).status_code == 404:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{path} still exists")

    async def create_cluster(self, name: str = "test-k8s", **kw: Any) -> dict[str, Any]:
        """Create a cluster and wait for CREATE_COMPLETE; returns its detail."""
        response = await self.post("/v1/clusters", cluster_body(name, **kw))
        assert response.status_code == 202, response.text
        return await self.wait_status(f"/v1/clusters/{response.json()['uuid']}", "CREATE_COMPLETE")

    async def create_nodegroup(self, cluster: str, name: str, **kw: Any) -> dict[str, Any]:
        response = await self.post(f"/v1/clusters/{cluster}/nodegroups", nodegroup_body(name, **kw))
        assert response.status_code == 202, response.text
        path = f"/v1/clusters/{cluster}/nodegroups/{response.json()['uuid']}"
        return await self.wait_status(path, "CREATE_COMPLETE")

    async def events(self, cluster: str) -> list[dict[str, Any]]:
        return list((await self.json(f"/v1/clusters/{cluster}/events"))["events"])

    async def servers(self, **filters: str) -> list[dict[str, Any]]:
        """`GET /v2/{tenant}/servers/detail` of the compute API (no microversion header)."""
        response = await self.client.get(
            f"/v2/{self.tenant}/servers/detail",
            params=filters,
            headers={"X-Auth-Token": self.token},
        )
        assert response.status_code == 200, response.text
        return list(response.json()["servers"])

    async def nodes(self, nodegroup_path: str) -> list[dict[str, Any]]:
        """A group's nodes, as a client finds them: its `node_addresses` joined to compute
        servers by address, in the answer's order (`uuid`, `name`, `address`, `status`)."""
        group = await self.json(nodegroup_path)
        by_address = {
            entry["addr"]: server
            for server in await self.servers()
            for entries in server["addresses"].values()
            for entry in entries
        }
        return [
            {
                "uuid": by_address[address]["id"],
                "name": by_address[address]["name"],
                "address": address,
                "status": by_address[address]["status"],
            }
            for address in group["node_addresses"]
        ]
