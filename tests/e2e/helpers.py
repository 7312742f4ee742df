"""Small helpers of the end-to-end tests: apply manifests, read objects, read the simulator."""

from __future__ import annotations

import base64
import copy
import json
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nks_operator.nks.operations import Operation
from tests.fixtures.operator import wait_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GROUP, VERSION = "nks.nhncloud.com", "v1alpha1"
WRITES = {op.value for op in Operation if op.is_write}


def example(name: str) -> dict[str, Any]:
    """An example manifest as a dict (the README's examples are what the tests apply)."""
    return yaml.safe_load((EXAMPLES / name).read_text())


def new_tenant() -> str:
    """A tenant of its own per test: the simulator keeps tenants apart."""
    return "t" + secrets.token_hex(6)


def apply(kubectl: Any, namespace: str, manifest: dict[str, Any]) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))


def credentials_secret(
    kubectl: Any, namespace: str, sim_url: str, tenant: str, name: str = "nks-credentials"
) -> None:
    secret = example("credentials-secret.yaml")
    secret["metadata"]["name"] = name
    secret["stringData"].update(
        {"tenantId": tenant, "identityUrl": sim_url, "nksUrl": sim_url, "password": "pw-" + tenant}
    )
    apply(kubectl, namespace, secret)


def cluster_manifest(
    name: str = "demo", example_file: str = "nkscluster-minimal.yaml", **spec: Any
) -> dict[str, Any]:
    manifest = copy.deepcopy(example(example_file))
    manifest["metadata"]["name"] = name
    manifest["spec"].update(spec)
    return manifest


def get(api: client.ApiClient, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, namespace, plural, name
        )
    except ApiException as err:
        if err.status == 404:
            return None
        raise


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    for item in ((obj or {}).get("status") or {}).get("conditions", []):
        if item["type"] == type_:
            return item
    return None


def wait_condition(
    api: client.ApiClient,
    plural: str,
    namespace: str,
    name: str,
    type_: str,
    status: str,
    reason: str | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = get(api, plural, namespace, name)
        found = condition(obj, type_)
        if found and found["status"] == status and (reason is None or found["reason"] == reason):
            return obj
        return None

    try:
        return wait_for(probe, timeout, what=f"{plural}/{name} {type_}={status} {reason or ''}")
    except AssertionError as error:
        obj = get(api, plural, namespace, name)
        raise AssertionError(f"{error}\nstatus: {json.dumps((obj or {}).get('status'))}") from None


def wait_gone(
    api: client.ApiClient, plural: str, namespace: str, name: str, timeout: float = 60
) -> None:
    wait_for(
        lambda: get(api, plural, namespace, name) is None, timeout, what=f"{plural}/{name} gone"
    )


def another_pass(kubectl: Any, api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    """Make the operator run one more pass over the NKSCluster and wait until it has: a new
    generation whose change sends nothing (`createTimeoutMinutes` only bounds a create),
    then its Ready condition reporting that generation. What the pass did not do can then
    be checked without guessing how long it takes."""
    obj = get(api, "nksclusters", namespace, name)
    assert obj is not None, name
    minutes = obj["spec"].get("createTimeoutMinutes", 60)
    patch = {"spec": {"createTimeoutMinutes": 10 + (minutes - 9) % 1431}}
    result = kubectl(
        "patch", "nksc", name, "-n", namespace, "--type=merge", "-p", json.dumps(patch), "-o=json"
    )
    generation = json.loads(result.stdout)["metadata"]["generation"]

    def probe() -> dict[str, Any] | None:
        found = get(api, "nksclusters", namespace, name)
        ready = condition(found, "Ready") or {}
        return found if ready.get("observedGeneration") == generation else None

    return wait_for(probe, 60, what=f"a pass of nksclusters/{name} at generation {generation}")


def events(api: client.ApiClient, namespace: str, name: str) -> list[dict[str, str]]:
    items = client.CoreV1Api(api).list_namespaced_event(namespace).items
    return [
        {"type": e.type, "reason": e.reason, "message": e.message or ""}
        for e in items
        if e.involved_object.name == name
    ]


def wait_events(
    api: client.ApiClient, namespace: str, name: str, reason: str, timeout: float = 30
) -> list[dict[str, str]]:
    """The Events of `reason` about `name`, once there is one: the operator posts Events in
    the background, after the status write that reports the same outcome."""
    return wait_for(
        lambda: [e for e in events(api, namespace, name) if e["reason"] == reason],
        timeout,
        what=f"a {reason} Event of {name}",
    )


def secret_value(api: client.ApiClient, namespace: str, name: str, key: str) -> str | None:
    try:
        secret = client.CoreV1Api(api).read_namespaced_secret(name, namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    raw = (secret.data or {}).get(key)
    return None if raw is None else base64.b64decode(raw).decode()


class Sim:
    """The simulator's admin endpoints, scoped to one tenant."""

    def __init__(self, url: str, tenant: str) -> None:
        self.url = url
        self.tenant = tenant
        self.http = httpx.Client(base_url=url, timeout=10)

    def calls(self) -> Counter[str]:
        log = self.http.get("/_sim/calls").json()["log"]
        return Counter(entry["operation"] for entry in log if entry.get("tenant") == self.tenant)

    def writes(self) -> Counter[str]:
        return Counter({op: n for op, n in self.calls().items() if op in WRITES})

    def state(self) -> dict[str, Any]:
        tenants = self.http.get("/_sim/state", params={"tenant": self.tenant}).json()["tenants"]
        return tenants.get(self.tenant) or {"clusters": []}

    def clusters(self) -> list[dict[str, Any]]:
        return self.state().get("clusters", [])

    def patch_config(self, **changes: Any) -> None:
        self.http.patch("/_sim/config", json=changes).raise_for_status()

    def delete_behind_back(self, cluster: str) -> None:
        self.http.delete(f"/_sim/clusters/{cluster}").raise_for_status()


def write_log(sim: Sim) -> list[tuple[str, int, str]]:
    """(operation, status, path) of this tenant's write calls, in order (for messages)."""
    log = sim.http.get("/_sim/calls").json()["log"]
    return [
        (e["operation"], e["status"], e["path"])
        for e in log
        if e.get("tenant") == sim.tenant and e["operation"] in WRITES
    ]


def nks_call(sim: Sim, fn: Any) -> Any:
    """Run `await fn(client)` with an NKS client of the test's tenant (changes "behind the
    operator's back", the way a console user would)."""
    import asyncio

    from nks_operator.nks import Credentials, NKSClient

    async def run() -> Any:
        creds = Credentials(tenant_id=sim.tenant, username="console-user", password="x")
        async with NKSClient(creds, "kr2", nks_url=sim.url, identity_url=sim.url) as nks:
            return await fn(nks)

    return asyncio.run(run())
