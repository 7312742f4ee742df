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
import uuid
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
    "33 Argo CD labels": lambda: _oversized(
        "spec.argocd", {"enabled": True, "labels": {f"k{i}": "v" for i in range(33)}}
    ),
    "1000-char Argo CD label value": lambda: _oversized(
        "spec.argocd", {"enabled": True, "labels": {"env": "v" * 1000}}
    ),
    "17 add-on options": lambda: _oversized(
        "spec.addons",
        [{"name": "calico", "version": "v1", "options": {f"o{i}": "v" for i in range(17)}}],
    ),
    "1 MB add-on option": lambda: _oversized(
        "spec.addons", [{"name": "calico", "version": "v1", "options": {"mode": "v" * 1_000_000}}]
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


def _with_ok_cluster(
    operator: OperatorProcess, ns: str, kubectl: Any, api: client.ApiClient, sim: ResilienceSim
) -> int:
    """Credentials and a valid cluster "ok" next to the bad input; the operator's pid."""
    sim.patch_config(delay=0.3)
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("ok"))
    return pid_of(operator)


def _ok_ready_then_all_deleted(
    operator: OperatorProcess,
    pid: int,
    ns: str,
    kubectl: Any,
    api: client.ApiClient,
    sim: ResilienceSim,
) -> None:
    """The valid cluster became Ready, everything can be deleted, nothing is left in NKS,
    and the operator neither died nor had a handler die."""
    wait_settled(api, ns, "nksclusters", ["ok"], 1, OLD_VERSION, 90, "valid cluster", sim)
    operator_is_healthy(operator, pid)
    kubectl("delete", "nksc", "--all", "-n", ns, "--wait=false")
    wait_for(lambda: not ready_reasons(api, ns, "nksclusters"), 90, what="all deleted")
    assert sim.clusters() == []
    operator_is_healthy(operator, pid)


def _ready_false(api: client.ApiClient, ns: str, name: str, reasons: tuple[str, ...]) -> Any:
    return wait_for(
        lambda: (
            (o := get(api, "nksclusters", ns, name))
            and (c := condition(o, "Ready"))
            and c["status"] == "False"
            and c["reason"] in reasons
            and o
        ),
        60,
        what=f"{name}: Ready=False {reasons}",
    )


def test_broken_credentials_secrets(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
) -> None:
    """Wrong keys, bytes that are not UTF-8, blank values: CredentialsInvalid, no secret
    value in the status, nothing sent to NKS for them."""
    ns = res_namespace
    pid = _with_ok_cluster(res_operator, ns, kubectl, kube_api, sim)
    password, tenant = "pw-" + sim.tenant, sim.tenant.encode()
    broken = {
        "wrong-keys": {"tenant": tenant, "user": b"u", "apiPassword": password.encode()},
        "not-utf8": {"tenantId": tenant, "username": b"u", "password": b"\xff\xfe\xfd"},
        "blank-values": {"tenantId": b"  ", "username": b"\n", "password": b""},
    }
    for name, data in broken.items():
        _secret(kubectl, ns, f"{name}-creds", data)
        apply(kubectl, ns, cluster_manifest(name, credentialsRef={"name": f"{name}-creds"}))
    for name in broken:
        obj = _ready_false(kube_api, ns, name, ("CredentialsInvalid",))
        assert password not in json.dumps(obj), f"{name}: the password is in the status"
    message = (condition(get(kube_api, "nksclusters", ns, "wrong-keys"), "Ready") or {})["message"]
    assert "lacks key(s) tenantId, username, password" in message
    _ok_ready_then_all_deleted(res_operator, pid, ns, kubectl, kube_api, sim)
    assert sim.writes() == {"create_cluster": 1, "delete_cluster": 1}


def test_garbage_urls_in_credentials(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
) -> None:
    """identityUrl / nksUrl that are not URLs, or of another scheme: reported on the
    resource (Ready=False), never a handler dying over and over."""
    ns = res_namespace
    pid = _with_ok_cluster(res_operator, ns, kubectl, kube_api, sim)
    base = {"tenantId": sim.tenant.encode(), "username": b"u", "password": b"pw-garbage-url"}
    broken = {
        "not-a-url": {**base, "identityUrl": b"::not a url::"},
        "ftp-url": {**base, "nksUrl": b"ftp://127.0.0.1:9"},
        "unclosed-bracket": {**base, "identityUrl": b"http://[::1", "nksUrl": b"http://[::1"},
        "spaces": {**base, "nksUrl": b"http://exa mple.invalid"},
    }
    for name, data in broken.items():
        _secret(kubectl, ns, f"{name}-creds", data)
        apply(kubectl, ns, cluster_manifest(name, credentialsRef={"name": f"{name}-creds"}))
    reasons = ("CredentialsInvalid", "CredentialsRejected", "NKSUnavailable")
    for name in broken:
        _ready_false(kube_api, ns, name, reasons)
    _ok_ready_then_all_deleted(res_operator, pid, ns, kubectl, kube_api, sim)


def _huge_and_odd_specs() -> dict[str, dict[str, Any]]:
    """Specs full of junk that the schema accepts."""
    deep: dict[str, Any] = {"leaf": "\U0001f4a5"}
    for _ in range(60):
        deep = {"nested": deep, "list": [None, 1.5, "\u0000"]}
    spec = cluster_manifest()["spec"]
    worker = spec["defaultWorker"]
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
        "unknown-fields": {"surprise": deep, "network": {**spec["network"], "x": deep}},
        "argocd-junk": {
            "argocd": {
                "enabled": True,
                "namespace": "no-such-namespace",
                "name": "\u754c" * 253,
                # A value the schema accepts under a key only the model refuses.
                "labels": {"bad key \u00fc/\u00e4": "v" * 63},
            }
        },
    }


def _oversized_specs() -> dict[str, dict[str, Any]]:
    """Specs at the schema's limits: user scripts of 256 KiB (more than all annotations may
    hold) and the most node UUIDs `nodesToRemove` accepts."""
    worker = cluster_manifest()["spec"]["defaultWorker"]
    return {
        # 65,536 characters is the schema's limit; 4-byte characters make it 256 KiB.
        "huge-user-script": {
            "defaultWorker": {**worker, "userScript": "#!/bin/sh\n#" + "\U0001f525" * 65000}
        },
        "full-user-script": {"defaultWorker": {**worker, "userScript": "\U0001f525" * 65536}},
        "most-nodes-to-remove": {
            "defaultWorker": {
                **worker,
                "nodesToRemove": [str(uuid.UUID(int=i)) for i in range(1, 101)],
            }
        },
    }


def _garbage_lifecycle(
    operator: OperatorProcess,
    ns: str,
    kubectl: Any,
    api: client.ApiClient,
    sim: ResilienceSim,
    specs: dict[str, dict[str, Any]],
) -> None:
    pid = _with_ok_cluster(operator, ns, kubectl, api, sim)
    for name, changes in specs.items():
        manifest = cluster_manifest(name)
        manifest["spec"].update(changes)
        create(api, ns, "nksclusters", manifest)

    def decided(name: str) -> bool:
        ready = condition(get(api, "nksclusters", ns, name), "Ready")
        return ready is not None and (
            ready["status"] == "True" or ready["reason"] not in ("Creating", "Provisioning")
        )

    for name in specs:
        wait_for(lambda: decided(name), 60, what=f"{name} decided")  # noqa: B023
    outcome = {name: condition(get(api, "nksclusters", ns, name), "Ready") for name in specs}
    print(json.dumps({name: (ready or {}).get("reason") for name, ready in outcome.items()}))
    assert max(sim.cluster_names().values()) == 1
    _ok_ready_then_all_deleted(operator, pid, ns, kubectl, api, sim)


def test_odd_values_the_schema_accepts(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
) -> None:
    """Emoji, NUL and bidi control characters, deep unknown fields, an Argo CD
    registration that cannot work: each ends Ready or refused, and can be deleted."""
    _garbage_lifecycle(res_operator, res_namespace, kubectl, kube_api, sim, _huge_and_odd_specs())


def test_oversized_specs_the_schema_accepts(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
) -> None:
    """Specs at the schema's limits (some over 256 KiB): handled, and deletable."""
    _garbage_lifecycle(res_operator, res_namespace, kubectl, kube_api, sim, _oversized_specs())


def _through_proxy(
    kubectl: Any, api: client.ApiClient, ns: str, sim: ResilienceSim, url: str
) -> None:
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    core = client.CoreV1Api(api)
    secret = core.read_namespaced_secret("nks-credentials", ns)
    secret.data["nksUrl"] = base64.b64encode(url.encode()).decode()
    core.replace_namespaced_secret("nks-credentials", ns, secret)


def _mangled_lifecycle(
    operator: OperatorProcess,
    ns: str,
    kubectl: Any,
    api: client.ApiClient,
    sim: ResilienceSim,
    proxy: MangleProxy,
) -> None:
    """Create a cluster and a node group through `proxy`, resize, delete."""
    pid = pid_of(operator)
    sim.patch_config(delay=0.5)
    _through_proxy(kubectl, api, ns, sim, proxy.url)
    apply(kubectl, ns, cluster_manifest("mangled"))
    pool = example("nksnodegroup.yaml")
    pool["spec"]["clusterRef"]["name"] = "mangled"
    apply(kubectl, ns, pool)
    wait_settled(api, ns, "nksclusters", ["mangled"], 1, OLD_VERSION, 150, "created", sim)
    wait_settled(api, ns, "nksnodegroups", ["demo-pool"], 2, OLD_VERSION, 150, "group", sim)
    patch(kubectl, ns, "nksc", "mangled", {"spec": {"defaultWorker": {"nodeCount": 2}}})
    wait_settled(api, ns, "nksclusters", ["mangled"], 2, OLD_VERSION, 150, "resized", sim)
    obj = get(api, "nksclusters", ns, "mangled")
    assert obj is not None
    value = secret_value(api, ns, "mangled-kubeconfig", "value")
    assert value == sim.kubeconfig(obj["status"]["clusterID"])
    assert "x_unexpected" not in json.dumps(obj["status"])
    assert sim.writes() == {"create_cluster": 1, "create_nodegroup": 1, "resize_cluster": 1}
    kubectl("delete", "nksng", "--all", "-n", ns, "--wait=false")
    kubectl("delete", "nksc", "--all", "-n", ns, "--wait=false")
    wait_gone(api, "nksclusters", ns, "mangled", timeout=120)
    assert sim.clusters() == []
    operator_is_healthy(operator, pid)


def test_unexpected_fields_in_nks_answers(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
) -> None:
    """Every object of every answer carries fields (and labels) NKS does not document."""
    proxy = MangleProxy(sim.url, extra_fields=True).start()
    try:
        _mangled_lifecycle(res_operator, res_namespace, kubectl, kube_api, sim, proxy)
    finally:
        proxy.stop()


@pytest.mark.timeout(900 if LONG else 400)
def test_invalid_json_and_error_pages_from_nks(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
) -> None:
    """The first two reads of every NKS route answer 200 with an empty body and `null`,
    then every 9th read one of: `[]`, truncated JSON, HTML, bytes that are not UTF-8, a
    JSON string or number; plus 5xx answers with HTML and empty bodies."""
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
    proxy = MangleProxy(sim.url, extra_fields=False, broken_first=2, broken_every=9).start()
    try:
        _mangled_lifecycle(res_operator, res_namespace, kubectl, kube_api, sim, proxy)
        assert sum(proxy.broken.values()) >= 10, dict(proxy.broken)
        assert sum(sim.fault_hits().values()) >= 5
    finally:
        proxy.stop()


def test_generated_names_are_unique_per_batch() -> None:
    """The batch helper keeps the first of two examples with the same name."""
    cases = [("a", "x", {}), ("b", "x", {}), ("c", None, {})]
    assert [name for _, name, _ in _unique(cases, "p")] == ["x", "p2"]
