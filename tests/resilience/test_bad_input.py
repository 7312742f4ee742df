"""Bad input of every kind: generated invalid specs, garbage and oversized values, broken
credentials Secrets and malformed NKS answers.

Each invalid spec is refused by the CRD schema (checked with a server-side dry run) or
marked Ready=False/InvalidSpec with zero NKS writes; meanwhile a valid cluster in the same
namespace becomes Ready and the operator process never dies nor restarts a handler.
"""

from __future__ import annotations

import base64
import copy
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.e2e.helpers import (
    GROUP,
    VERSION,
    apply,
    cluster_manifest,
    condition,
    credentials_secret,
    example,
    get,
    new_tenant,
    secret_value,
    wait_gone,
)
from tests.fixtures.operator import OperatorProcess, wait_for
from tests.resilience.helpers import (
    LONG,
    OLD_VERSION,
    SEED,
    ResilienceSim,
    crash_lines,
    patch,
    wait_settled,
)
from tests.resilience.invalid_specs import (
    REMOVE,
    Site,
    base_manifest,
    broken_manifest,
    constraints,
    semantic_cluster,
    semantic_nodegroup,
)
from tests.resilience.mangler import MangleProxy

pytestmark = pytest.mark.kube

PER_CONSTRAINT = 8 if LONG else 1  # about 230 constraints per kind
SEMANTIC_CLUSTERS = 300 if LONG else 60
SEMANTIC_GROUPS = 100 if LONG else 20
# Words the InvalidSpec message must contain for each broken rule: it names the field.
RULE_WORDS = {
    "cidr-overlap": "overlaps",
    "reserved-range": "overlaps",
    "bad-cidr": "spec.network.",
    "pods-subnet": "podsNetworkSubnet",
    "version": "kubernetesVersion",
    "long-name": "metadata.name",
    "odd-name": "metadata.name",
    "autoscaler": "autoscaler",
    "encryption": "keyID",
    "security-groups": "extraSecurityGroups",
    "ip-acl": "ipAccessControl",
    "reserved": "reserved",
    "stopped": "stoppedNodes",
}


def generate(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """`count` seeded examples of `strategy` (for batches that are checked together)."""
    found: list[Any] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.seed(SEED)
    @given(strategy)
    def collect(example: Any) -> None:
        found.append(example)

    collect()
    return found


def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def create(api: client.ApiClient, ns: str, plural: str, body: Any, dry_run: bool = False) -> Any:
    kwargs = {"dry_run": "All"} if dry_run else {}
    return custom(api).create_namespaced_custom_object(GROUP, VERSION, ns, plural, body, **kwargs)


def refused_status(api: client.ApiClient, ns: str, plural: str, body: Any) -> int:
    """The HTTP status of a refused server-side dry-run create (0 when accepted)."""
    try:
        create(api, ns, plural, body, dry_run=True)
    except ApiException as error:
        return int(error.status)
    return 0


def ready_reasons(api: client.ApiClient, ns: str, plural: str) -> dict[str, tuple[str, str]]:
    """name -> (Ready status, reason) of every resource of a kind in the namespace."""
    items = custom(api).list_namespaced_custom_object(GROUP, VERSION, ns, plural)["items"]
    found = {}
    for obj in items:
        ready = condition(obj, "Ready")
        found[obj["metadata"]["name"]] = (ready["status"], ready["reason"]) if ready else ("", "")
    return found


def operator_is_healthy(operator: OperatorProcess, pid: int) -> None:
    """Still the same process (no restart) and no handler died of an exception."""
    operator.assert_alive()
    assert operator.process is not None and operator.process.pid == pid
    assert crash_lines(operator.logs()) == []


def pid_of(operator: OperatorProcess) -> int:
    assert operator.process is not None
    return operator.process.pid


@pytest.fixture
def other_sim(clean_simulator_thread: Any) -> Iterator[ResilienceSim]:
    """A second tenant of the same simulator."""
    helper = ResilienceSim(clean_simulator_thread.url, new_tenant())
    yield helper
    helper.http.close()


# -- schema level --------------------------------------------------------------------------


def _check_constraint(
    api: client.ApiClient, ns: str, plural: str, site: Site, kind: str, values: Any
) -> int:
    """Dry-run `PER_CONSTRAINT` generated values breaking one constraint; all refused."""
    count = 0

    @settings(
        max_examples=PER_CONSTRAINT,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.seed(SEED)
    @given(values)
    def refused(value: Any) -> None:
        nonlocal count
        status = refused_status(api, ns, plural, broken_manifest(plural, site, value))
        shown = "removed" if value is REMOVE else repr(value)[:80]
        assert status in (400, 422), f"{site.dotted} {kind} = {shown}: HTTP {status or 'accepted'}"
        count += 1

    refused()
    return count


@pytest.mark.parametrize("plural", ["nksclusters", "nksnodegroups"])
def test_schema_refuses_generated_invalid_specs(
    plural: str, kube_api: client.ApiClient, crds_installed: None, res_namespace: str
) -> None:
    """Every constraint of every spec field, broken with generated values, one at a time."""
    ns = res_namespace
    assert refused_status(kube_api, ns, plural, base_manifest(plural)) == 0, "base not valid"
    found = constraints(plural)
    total = sum(
        _check_constraint(kube_api, ns, plural, site, kind, values) for site, kind, values in found
    )
    print(f"{plural}: {total} generated invalid specs refused, {len(found)} constraints")
    assert total >= len(found) * PER_CONSTRAINT * 0.9


def _oversized(path: str, value: Any) -> dict[str, Any]:
    manifest = cluster_manifest("garbage")
    node = manifest
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return manifest


GARBAGE: dict[str, Callable[[], dict[str, Any]]] = {
    "1 MB keypair": lambda: _oversized("spec.keypair", "k" * 1_000_000),
    "3.5 MB user script": lambda: _oversized(
        "spec.defaultWorker.userScript", "#!/bin/sh\n" + "x" * 3_500_000
    ),
    "65537-char user script": lambda: _oversized("spec.defaultWorker.userScript", "\u754c" * 65537),
    "spec is a string": lambda: _oversized("spec", "garbage"),
    "spec is a list": lambda: _oversized("spec", []),
    "spec is null": lambda: _oversized("spec", None),
    "region in Hangul": lambda: _oversized("spec.region", "\ucf582"),
    "clusterName in Katakana": lambda: _oversized("spec.clusterName", "\u30af\u30e9\u30b9\u30bf"),
    "clusterName with RTL override": lambda: _oversized("spec.clusterName", "ab\u202ecd"),
    "nodeCount as text": lambda: _oversized("spec.defaultWorker.nodeCount", "3"),
    "nodeCount 10^30": lambda: _oversized("spec.defaultWorker.nodeCount", 10**30),
    "nodeCount 1e308": lambda: _oversized("spec.defaultWorker.nodeCount", 1e308),
    "network is a number": lambda: _oversized("spec.network", 42),
    "kubernetesVersion null": lambda: _oversized("spec.kubernetesVersion", None),
    "bootVolume null": lambda: _oversized("spec.defaultWorker.bootVolume", None),
    "NUL in subnetID": lambda: _oversized("spec.network.subnetID", "4fdf5b80\u0000"),
    "101 IP ACL targets": lambda: _oversized(
        "spec.apiEndpoint",
        {"ipAccessControl": {"enabled": True, "targets": [{"cidr": "10.0.0.1"}] * 101}},
    ),
    "metadata.name in Hangul": lambda: {
        **cluster_manifest(),
        "metadata": {"name": "\ud074\ub7ec\uc2a4\ud130"},
    },
    "metadata.name of 254 chars": lambda: {**cluster_manifest(), "metadata": {"name": "a" * 254}},
    "metadata.name with emoji": lambda: {**cluster_manifest(), "metadata": {"name": "c\U0001f525"}},
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_schema_refuses_garbage_values(
    case: str, kube_api: client.ApiClient, crds_installed: None, res_namespace: str
) -> None:
    status = refused_status(kube_api, res_namespace, "nksclusters", GARBAGE[case]())
    assert status in (400, 413, 422), f"{case}: HTTP {status or 'accepted'}"


# -- semantic level ------------------------------------------------------------------------


def _unique(cases: list[tuple[str, str | None, dict[str, Any]]], prefix: str) -> list[Any]:
    """(rule, metadata.name, spec changes) with names made unique, first come first kept."""
    seen: set[str] = set()
    result = []
    for index, (rule, name, changes) in enumerate(cases):
        name = name or f"{prefix}{index}"
        if name not in seen:
            seen.add(name)
            result.append((rule, name, changes))
    return result


@pytest.mark.timeout(1800 if LONG else 300)
def test_semantically_invalid_specs_are_marked_and_never_sent(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
    other_sim: ResilienceSim,
) -> None:
    """Invalid clusters use tenant `other_sim`; the valid cluster, its valid node group and
    the invalid node groups (validated once their cluster is Ready) use tenant `sim`."""
    ns = res_namespace
    pid = pid_of(res_operator)
    sim.patch_config(delay=0.3)
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    credentials_secret(kubectl, ns, other_sim.url, other_sim.tenant, name="invalid-creds")
    apply(kubectl, ns, cluster_manifest("ok"))
    pool = example("nksnodegroup.yaml")
    pool["metadata"]["name"] = "ok-pool"
    pool["spec"]["clusterRef"]["name"] = "ok"
    apply(kubectl, ns, pool)

    bad_clusters = _unique(generate(semantic_cluster(), SEMANTIC_CLUSTERS), "bad")
    bad_groups = _unique(generate(semantic_nodegroup(), SEMANTIC_GROUPS), "badng")
    for _rule, name, changes in bad_clusters:
        manifest = cluster_manifest(name, credentialsRef={"name": "invalid-creds"})
        manifest["spec"].update(copy.deepcopy(changes))
        create(kube_api, ns, "nksclusters", manifest)
    for _rule, name, changes in bad_groups:
        manifest = copy.deepcopy(pool)
        manifest["metadata"]["name"] = name
        manifest["spec"].update(copy.deepcopy(changes))
        create(kube_api, ns, "nksnodegroups", manifest)

    def all_marked(plural: str, cases: list[Any]) -> bool:
        reasons = ready_reasons(kube_api, ns, plural)
        return all(reasons.get(name) == ("False", "InvalidSpec") for _, name, _ in cases)

    for plural, cases in (("nksclusters", bad_clusters), ("nksnodegroups", bad_groups)):
        try:
            wait_for(lambda: all_marked(plural, cases), 120, interval=1, what=f"{plural} marked")  # noqa: B023
        except AssertionError:
            reasons = ready_reasons(kube_api, ns, plural)
            wrong = {
                n: (r, reasons.get(n))
                for r, n, _ in cases
                if reasons.get(n) != ("False", "InvalidSpec")
            }
            raise AssertionError(f"not marked InvalidSpec: {json.dumps(wrong)[:4000]}") from None
    for plural, cases in (("nksclusters", bad_clusters), ("nksnodegroups", bad_groups)):
        for rule, name, _ in cases:
            obj = get(kube_api, plural, ns, name)
            message = (condition(obj, "Ready") or {}).get("message", "")
            assert RULE_WORDS[rule] in message, f"{plural}/{name} ({rule}): {message}"
            assert (obj or {})["status"].get("phase") == "Failed", f"{plural}/{name}"

    wait_settled(kube_api, ns, "nksclusters", ["ok"], 1, OLD_VERSION, 90, "valid cluster", sim)
    wait_settled(kube_api, ns, "nksnodegroups", ["ok-pool"], 2, OLD_VERSION, 90, "valid group", sim)
    assert other_sim.writes() == {}, other_sim.writes()
    assert sim.writes() == {"create_cluster": 1, "create_nodegroup": 1}, sim.writes()
    print(
        f"{len(bad_clusters)} clusters by rule {Counter(r for r, _, _ in bad_clusters)}, "
        f"{len(bad_groups)} node groups by rule {Counter(r for r, _, _ in bad_groups)}"
    )
    operator_is_healthy(res_operator, pid)

    kubectl("delete", "nksng", "--all", "-n", ns, "--wait=false")
    kubectl("delete", "nksc", "--all", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "ok", timeout=60)
    wait_for(lambda: not ready_reasons(kube_api, ns, "nksclusters"), 60, what="all deleted")
    wait_for(lambda: not ready_reasons(kube_api, ns, "nksnodegroups"), 60, what="all deleted")
    assert sim.clusters() == [] and other_sim.writes() == {}
    operator_is_healthy(res_operator, pid)


# -- garbage the schema lets through, broken Secrets, malformed NKS answers ----------------


def _secret(kubectl: Any, ns: str, name: str, data: dict[str, bytes]) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
    }
    apply(kubectl, ns, body)


def _accepted_garbage() -> dict[str, dict[str, Any]]:
    """Specs full of junk that the schema accepts: each must end Ready or cleanly refused."""
    deep: dict[str, Any] = {"leaf": "\U0001f4a5"}
    for _ in range(60):
        deep = {"nested": deep, "list": [None, 1.5, "\u0000"]}
    worker = cluster_manifest()["spec"]["defaultWorker"]
    return {
        "emoji-keypair": {"keypair": "\U0001f511" * 255},
        "control-chars": {
            "keypair": "key\u0000\u202e\t\n\u200b",
            "defaultWorker": {
                **worker,
                "availabilityZone": "kr2-pub-b\u0000",
                "bootVolume": {"type": "General HDD\u202e\u200b"},
            },
        },
        "unknown-fields": {
            "surprise": deep,
            "network": {**cluster_manifest()["spec"]["network"], "x": deep},
        },
        "huge-user-script": {
            "defaultWorker": {**worker, "userScript": "#!/bin/sh\n#" + "\U0001f525" * 65000}
        },
        "huge-nodes-to-remove": {
            "defaultWorker": {**worker, "nodesToRemove": ["n" * 4000 + str(i) for i in range(100)]}
        },
        "argocd-junk": {
            "argocd": {
                "enabled": True,
                "namespace": "no-such-namespace",
                "name": "\u754c" * 253,
                "labels": {"bad key \u00fc/\u00e4": "v" * 1000},
            }
        },
    }


@pytest.mark.timeout(900 if LONG else 300)
def test_garbage_and_broken_secrets_never_break_the_operator(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
) -> None:
    ns = res_namespace
    pid = pid_of(res_operator)
    sim.patch_config(delay=0.3)
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    password = "pw-" + sim.tenant
    tenant = sim.tenant.encode()
    broken: dict[str, tuple[dict[str, bytes], tuple[str, ...]]] = {
        # name -> (Secret data, acceptable Ready=False reasons)
        "wrong-keys": (
            {"tenant": tenant, "user": b"u", "apiPassword": password.encode()},
            ("CredentialsInvalid",),
        ),
        "not-utf8": (
            {"tenantId": tenant, "username": b"u", "password": b"\xff\xfe\xfd"},
            ("CredentialsInvalid",),
        ),
        "blank-values": (
            {"tenantId": b"  ", "username": b"\n", "password": b""},
            ("CredentialsInvalid",),
        ),
        "garbage-urls": (
            {
                "tenantId": tenant,
                "username": b"u",
                "password": password.encode(),
                "identityUrl": b"::not a url::",
                "nksUrl": b"http://[::1",
            },
            ("CredentialsInvalid", "CredentialsRejected", "NKSUnavailable", "CredentialsResolved"),
        ),
        "unreachable-urls": (
            {
                "tenantId": tenant,
                "username": b"u",
                "password": password.encode(),
                "identityUrl": b"http://127.0.0.1:9",
                "nksUrl": b"ftp://127.0.0.1:9",
            },
            ("CredentialsInvalid", "CredentialsRejected", "NKSUnavailable", "CredentialsResolved"),
        ),
    }
    for name, (data, _) in broken.items():
        _secret(kubectl, ns, f"{name}-creds", data)
        apply(kubectl, ns, cluster_manifest(name, credentialsRef={"name": f"{name}-creds"}))
    garbage = _accepted_garbage()
    for name, changes in garbage.items():
        manifest = cluster_manifest(name)
        manifest["spec"].update(changes)
        create(kube_api, ns, "nksclusters", manifest)
    apply(kubectl, ns, cluster_manifest("ok"))

    def decided(name: str) -> bool:
        ready = condition(get(kube_api, "nksclusters", ns, name), "Ready")
        return ready is not None and (
            ready["status"] == "True"
            or ready["reason"] not in ("Creating", "Provisioning", "CredentialsResolved")
        )

    wait_settled(kube_api, ns, "nksclusters", ["ok"], 1, OLD_VERSION, 90, "valid cluster", sim)
    for name, (_, reasons) in broken.items():
        obj = wait_for(
            lambda: (
                (o := get(kube_api, "nksclusters", ns, name))  # noqa: B023
                and (c := condition(o, "Ready"))
                and c["status"] == "False"
                and c["reason"] in reasons  # noqa: B023
                and o
            ),
            60,
            what=f"{name}: Ready=False {reasons}",
        )
        assert password not in json.dumps(obj), f"{name}: the password is in the status"
    message = condition(get(kube_api, "nksclusters", ns, "wrong-keys"), "Ready")["message"]  # type: ignore[index]
    assert "lacks key(s) tenantId, username, password" in message
    for name in garbage:
        wait_for(lambda: decided(name), 60, what=f"{name} decided")  # noqa: B023
    outcome = {name: condition(get(kube_api, "nksclusters", ns, name), "Ready") for name in garbage}
    print(json.dumps({n: (c or {}).get("reason") for n, c in outcome.items()}))
    # NKS got at most one cluster per resource, and only from valid credentials.
    assert max(sim.cluster_names().values()) == 1
    operator_is_healthy(res_operator, pid)

    kubectl("delete", "nksc", "--all", "-n", ns, "--wait=false")
    wait_for(lambda: not ready_reasons(kube_api, ns, "nksclusters"), 90, what="all deleted")
    assert sim.clusters() == []
    operator_is_healthy(res_operator, pid)


@pytest.mark.timeout(900 if LONG else 300)
def test_malformed_nks_answers(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
) -> None:
    """Unexpected fields in every answer, every 5th read answered with broken JSON, and a
    few 5xx answers with HTML and empty bodies: the cluster still becomes Ready, resizes
    and is deleted, and the kubeconfig Secret holds NKS's real kubeconfig."""
    ns = res_namespace
    pid = pid_of(res_operator)
    sim.patch_config(delay=0.5)
    proxy = MangleProxy(sim.url, extra_fields=True, broken_every=5).start()
    try:
        credentials_secret(kubectl, ns, sim.url, sim.tenant)
        secret = client.CoreV1Api(kube_api).read_namespaced_secret("nks-credentials", ns)
        secret.data["nksUrl"] = base64.b64encode(proxy.url.encode()).decode()
        client.CoreV1Api(kube_api).replace_namespaced_secret("nks-credentials", ns, secret)
        sim.set_faults(
            [
                {
                    "operation": "get_cluster",
                    "action": "error",
                    "status": 502,
                    "body": "html",
                    "count": 3,
                },
                {
                    "operation": "list_nodegroups",
                    "action": "error",
                    "status": 500,
                    "body": "empty",
                    "count": 3,
                },
                {
                    "operation": "get_kubeconfig",
                    "action": "error",
                    "status": 503,
                    "body": "html",
                    "count": 2,
                },
            ],
            seed=SEED,
        )
        apply(kubectl, ns, cluster_manifest("mangled"))
        pool = example("nksnodegroup.yaml")
        pool["spec"]["clusterRef"]["name"] = "mangled"
        apply(kubectl, ns, pool)
        wait_settled(kube_api, ns, "nksclusters", ["mangled"], 1, OLD_VERSION, 120, "created", sim)
        wait_settled(
            kube_api, ns, "nksnodegroups", ["demo-pool"], 2, OLD_VERSION, 120, "group", sim
        )
        patch(kubectl, ns, "nksc", "mangled", {"spec": {"defaultWorker": {"nodeCount": 2}}})
        wait_settled(kube_api, ns, "nksclusters", ["mangled"], 2, OLD_VERSION, 120, "resized", sim)
        obj = get(kube_api, "nksclusters", ns, "mangled")
        assert obj is not None
        value = secret_value(kube_api, ns, "mangled-kubeconfig", "value")
        assert value == sim.kubeconfig(obj["status"]["clusterID"])
        assert "x_unexpected" not in json.dumps(obj["status"])
        assert proxy.broken >= 3, f"only {proxy.broken} answers broken"
        assert sim.writes() == {"create_cluster": 1, "create_nodegroup": 1, "resize_cluster": 1}
        kubectl("delete", "nksng", "--all", "-n", ns, "--wait=false")
        kubectl("delete", "nksc", "--all", "-n", ns, "--wait=false")
        wait_gone(kube_api, "nksclusters", ns, "mangled", timeout=90)
        assert sim.clusters() == []
        operator_is_healthy(res_operator, pid)
    finally:
        proxy.stop()


def test_generated_names_are_unique_per_batch() -> None:
    """The batch helper keeps the first of two examples with the same name."""
    cases = [("a", "x", {}), ("b", "x", {}), ("c", None, {})]
    assert [name for _, name, _ in _unique(cases, "p")] == ["x", "p2"]
