"""The operator with exactly the chart's RBAC, on an apiserver that enforces owner references.

For each watch scope, a kube-apiserver of the test's own runs with the admission plugin
OwnerReferencesPermissionEnforcement (on by default in OpenShift) and an audit log. Real
helm installs the chart; the operator process runs the Deployment's own arguments with a
token of the chart's ServiceAccount, so every call it makes is judged by the chart's
rules and nothing else. The lifecycle - credentials, an NKSCluster with its kubeconfig
Secret and Argo CD registration, an NKSNodeGroup, deletion of both - must complete; the
audit log then shows that the ServiceAccount was refused nothing and that every rule the
chart grants was used (but for those of RARE, exercised elsewhere). The namespace list runs with
leader election, so the Lease rules take part too.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nks_devtools.localkube import LocalKube, LocalKubeError
from tests.e2e.helpers import (
    GROUP,
    VERSION,
    apply,
    cluster_manifest,
    credentials_secret,
    example,
    new_tenant,
    wait_condition,
    wait_gone,
)
from tests.fixtures.kube import (
    ADMISSION_PLUGINS,
    Kubectl,
    _kubectl_binary,
    service_account_kubeconfig,
)
from tests.fixtures.operator import FAST_ENV, LOOPBACK_ENDPOINTS, wait_for
from tests.helm.helpers import CHART, FULLNAME, NAMESPACE, RELEASE, Helm, parse_manifests

pytestmark = pytest.mark.kube

WATCHED = "team-a"
ARGOCD = "argocd"
NKS_CRDS = ("nksclusters.nks.nhncloud.com", "nksnodegroups.nks.nhncloud.com")
SERVICE_ACCOUNT = f"system:serviceaccount:{NAMESPACE}:{FULLNAME}"

LEASE = "nks-rbac"
# The watched namespace may register in Argo CD (argocd.namespace is ARGOCD, the default).
REGISTRATION = {"argocd": {"allowedNamespaces": [WATCHED]}}
# Values per watch scope. With a namespace list, Argo CD's namespace is outside it and
# gets the chart's Argo CD Role; that run also elects its leader with the Lease LEASE in
# the release namespace (neither watched nor Argo CD's).
SCOPES: dict[str, dict[str, Any]] = {
    "all-namespaces": {**REGISTRATION},
    "namespace-list-leader-election": {
        **REGISTRATION,
        "watchNamespaces": [WATCHED],
        "leaderElection": {"enabled": True, "name": LEASE},
    },
}
SIGNING_KEY_SECRET = f"{FULLNAME}-signing-key"
# What the downward API gives the pod, for the fields the chart maps into its env.
POD_FIELDS = {"metadata.name": "nks-operator-0", "metadata.namespace": NAMESPACE}

# Rules the audit log cannot show in use, and why. Nothing else may go unused.
NOT_REQUESTS = {
    # Checked by the OwnerReferencesPermissionEnforcement plugin when the kubeconfig
    # Secret is created with blockOwnerDeletion: an authorization check, not a request.
    # That creation succeeding (asserted below) is what proves the rule.
    ("nks.nhncloud.com", "nksclusters/finalizers", "update"),
}

Rule = tuple[str, str, str, str, str]
"""(namespace or "*" for a ClusterRole, apiGroup, resource[/subresource], verb, object
name or "" for any)."""
Request = tuple[str, str, str, str, str]
"""(namespace or "", apiGroup, resource[/subresource], verb, object name or "")."""

# Rules for what one clean lifecycle never meets, and where it is exercised instead.
RARE: dict[tuple[str, str, str], str] = {
    ("nks.nhncloud.com", "nksownerships", "update"): (
        "taking over the ownership record of a resource that no longer exists "
        "(tests/unit/test_reconciler.py, tests/e2e/test_two_tenants.py)"
    ),
    ("nks.nhncloud.com", "nksownerships", "get"): (
        "reading an ownership record: a claim answered 409, a node group checking a record "
        "another process wrote, a release after a restart or of a record changed since its "
        "creation (tests/unit/test_ownerships.py, tests/e2e/test_two_tenants.py)"
    ),
    ("nks.nhncloud.com", "nksclusters", "get"): (
        "reading an NKSCluster the watch has not shown, which a node group names: its cluster "
        "deleted first, or not created yet (tests/e2e/test_cluster_lifecycle.py)"
    ),
    ("nks.nhncloud.com", "nksownerships", "list"): (
        "finding what a resource manages when its status names another resource's id "
        "(tests/e2e/test_two_tenants.py)"
    ),
}


@dataclass
class Run:
    """What one lifecycle left behind."""

    granted: set[Rule]
    requests: list[dict[str, Any]] = field(default_factory=list)
    """The audit events of the ServiceAccount's requests."""
    failure: str | None = None
    log: str = ""
    exit_code: int | None = None
    lease: dict[str, Any] | None = None
    """The leader election Lease after the operator stopped (None: none was made)."""


def granted_rules(manifests: list[dict[str, Any]]) -> set[Rule]:
    """The rules bound to the operator's ServiceAccount, each with where it applies."""
    roles = {
        (m["kind"], m["metadata"].get("namespace", "*"), m["metadata"]["name"]): m
        for m in manifests
        if m["kind"] in ("ClusterRole", "Role")
    }
    out: set[Rule] = set()
    for binding in manifests:
        if binding["kind"] not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        subjects = {(s["kind"], s.get("namespace"), s["name"]) for s in binding["subjects"]}
        if ("ServiceAccount", NAMESPACE, FULLNAME) not in subjects:
            continue
        where = binding["metadata"].get("namespace", "*")
        ref = binding["roleRef"]
        role = roles[(ref["kind"], "*" if ref["kind"] == "ClusterRole" else where, ref["name"])]
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        for name in rule.get("resourceNames") or [""]:
                            out.add((where, group, resource, verb, name))
    return out


def requested(event: dict[str, Any]) -> Request:
    """What an audit event asked for (see Request)."""
    ref = event.get("objectRef") or {}
    resource = ref.get("resource", "")
    if ref.get("subresource"):
        resource += "/" + ref["subresource"]
    namespace, group = ref.get("namespace", ""), ref.get("apiGroup", "")
    return namespace, group, resource, event["verb"], ref.get("name", "")


def covers(rule: Rule, request: Request) -> bool:
    where, group, resource, verb, name = rule
    return (
        (where == "*" or where == request[0])
        and (group, resource, verb) == request[1:4]
        and name in ("", request[4])
    )


def pod_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's env as the pod sees it: the literal values (tenancy settings, the
    signing key's name) and what the downward API fills in (fieldRef)."""
    out = {}
    for entry in container.get("env", []):
        if "value" in entry:
            out[entry["name"]] = entry["value"]
            continue
        field_ref = (entry.get("valueFrom") or {}).get("fieldRef")
        if field_ref is not None:
            out[entry["name"]] = POD_FIELDS[field_ref["fieldPath"]]
    return out


def refused(run: Run) -> list[str]:
    return [
        f"{e['verb']} {e['requestURI']} -> {e['responseStatus'].get('code')}: "
        f"{e['responseStatus'].get('message', '')}"
        for e in run.requests
        if e.get("responseStatus", {}).get("code") in (401, 403)
    ]


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _read_or_none(read: Any, *args: str) -> Any:
    try:
        return read(*args)
    except ApiException as err:
        if err.status == 404:
            return None
        raise


def _lifecycle(api: client.ApiClient, kubectl: Kubectl, sim: str) -> None:
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)

    def secret(namespace: str, name: str) -> client.V1Secret | None:
        return _read_or_none(core.read_namespaced_secret, name, namespace)

    def argocd_reference() -> str | None:
        cluster = _read_or_none(
            custom.get_namespaced_custom_object, GROUP, VERSION, WATCHED, "nksclusters", "demo"
        )
        return ((cluster or {}).get("status") or {}).get("argocdSecret")

    credentials_secret(kubectl, WATCHED, sim, new_tenant())
    # Into the Argo CD namespace the chart configured, in the project the default policy
    # allows (the NKSCluster's namespace).
    registration = {"enabled": True, "project": WATCHED}
    apply(kubectl, WATCHED, cluster_manifest("demo", argocd=registration))
    cluster = wait_condition(api, "nksclusters", WATCHED, "demo", "Ready", "True", timeout=90)
    assert cluster["metadata"]["finalizers"]
    kubeconfig = wait_for(lambda: secret(WATCHED, "demo-kubeconfig"), 30, what="kubeconfig")
    # What the admission plugin judged: an owner reference that blocks the owner's deletion.
    (owner,) = kubeconfig.metadata.owner_references
    assert (owner.kind, owner.name, owner.block_owner_deletion) == ("NKSCluster", "demo", True)
    reference = wait_for(argocd_reference, 30, what="the Argo CD cluster Secret in the status")
    namespace, _, name = reference.partition("/")
    assert namespace == ARGOCD and secret(ARGOCD, name) is not None

    # A renewed certificate: both Secrets are rewritten (update), as they were read.
    before = secret(WATCHED, "demo-kubeconfig")
    assert before is not None
    kubectl("annotate", "nksc", "demo", "-n", WATCHED, "nks.nhncloud.com/renew-certificate=1")
    wait_for(
        lambda: (secret(WATCHED, "demo-kubeconfig") or before).data != before.data,
        90,
        what="the kubeconfig Secret rewritten after the renewal",
    )

    group = copy.deepcopy(example("nksnodegroup.yaml"))
    apply(kubectl, WATCHED, group)
    group_name = group["metadata"]["name"]
    wait_condition(api, "nksnodegroups", WATCHED, group_name, "Ready", "True", timeout=90)

    kubectl("delete", "nksng", group_name, "-n", WATCHED, "--wait=false")
    wait_gone(api, "nksnodegroups", WATCHED, group_name, 60)
    kubectl("delete", "nksc", "demo", "-n", WATCHED, "--wait=false")
    wait_gone(api, "nksclusters", WATCHED, "demo", 60)
    assert secret(ARGOCD, name) is None, "the Argo CD cluster Secret outlived its NKSCluster"


@pytest.fixture(scope="module", params=sorted(SCOPES))
def run(
    request: pytest.FixtureRequest,
    helm: Helm,
    simulator_thread: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Run]:
    """One lifecycle per watch scope, on an apiserver of its own."""
    workdir = tmp_path_factory.mktemp(request.param)
    kube = LocalKube(controller_manager=False, admission_plugins=ADMISSION_PLUGINS, audit=True)
    try:
        kube.start()
    except LocalKubeError as err:
        pytest.fail(f"cannot start a kube-apiserver: {err}", pytrace=False)
    try:
        yield _run_scope(kube, helm, SCOPES[request.param], simulator_thread.url, workdir)
    finally:
        kube.stop()


def _run_scope(kube: LocalKube, helm: Helm, values: dict[str, Any], sim: str, workdir: Path) -> Run:
    kubectl = Kubectl(_kubectl_binary(), kube.kubeconfig, workdir / "kubectl-cache")
    for name in (NAMESPACE, WATCHED, ARGOCD):
        kubectl("create", "namespace", name)
    install = ["install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--values", "-"]
    # The simulator on loopback: an endpoint only the admin may allow.
    values = {**values, "nks": {"allowedEndpoints": [sim]}}
    helm(*install, input=json.dumps(values), kubeconfig=kube.kubeconfig)
    for crd in NKS_CRDS:
        kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    manifests = parse_manifests(
        helm("get", "manifest", RELEASE, "--namespace", NAMESPACE, kubeconfig=kube.kubeconfig)
    )
    result = Run(granted=granted_rules(manifests))
    (deployment,) = [m for m in manifests if m["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    # The pod's arguments, except the liveness endpoint (no port to spare) and the log level.
    args = [a for a in container["args"] if not a.startswith(("--liveness", "--log-level"))]
    kubeconfig = service_account_kubeconfig(
        kube, kubectl, NAMESPACE, FULLNAME, workdir / "operator-kubeconfig"
    )
    env = {
        **os.environ,
        **FAST_ENV,
        **pod_env(container),
        **LOOPBACK_ENDPOINTS,  # the simulator, whatever the chart's default
        "KUBECONFIG": str(kubeconfig),
    }
    for key in ("NKS_TENANT_ID", "NKS_USERNAME", "NKS_PASSWORD", "NKS_METRICS_PORT"):
        env.pop(key, None)
    log_path = workdir / "operator.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "nks_operator", *args, "--liveness=", "--log-level=DEBUG"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    with kube.api_client() as api:
        try:
            _lifecycle(api, kubectl, sim)
            if process.poll() is not None:
                result.failure = f"the operator exited with {process.returncode}"
        except AssertionError as error:
            result.failure = str(error)
        finally:
            _stop(process)
        result.exit_code = process.returncode
        lease = _read_or_none(client.CoordinationV1Api(api).read_namespaced_lease, LEASE, NAMESPACE)
        result.lease = None if lease is None else api.sanitize_for_serialization(lease)
    result.log = log_path.read_text(errors="replace")
    # A request of the admin's, after every one of the operator's: once it is in the audit
    # log, so are they.
    marker = f"audit-marker-{workdir.name}"
    kubectl("get", "configmap", marker, "-n", NAMESPACE, "--ignore-not-found")
    wait_for(
        lambda: any(marker in e.get("requestURI", "") for e in kube.audit_events()),
        30,
        what="the audit log to catch up",
    )
    result.requests = [e for e in kube.audit_events() if e["user"]["username"] == SERVICE_ACCOUNT]
    return result


def _with_log(run: Run, message: str) -> str:
    tail = "\n".join(run.log.splitlines()[-60:])
    return f"{message}\n--- operator log (last lines) ---\n{tail}"


def test_lifecycle_completes_with_only_the_charts_rbac(run: Run) -> None:
    assert run.failure is None, _with_log(run, run.failure or "")
    assert run.requests, "the audit log holds no request of the ServiceAccount"


def test_the_service_account_was_refused_nothing(run: Run) -> None:
    denials = refused(run)
    assert not denials, _with_log(run, "refused:\n" + "\n".join(sorted(set(denials))[:20]))


def test_the_kubeconfig_secret_was_created_by_the_service_account(run: Run) -> None:
    # The request the admission plugin judges; it succeeds only with nksclusters/finalizers.
    creates = [
        e["responseStatus"].get("code")
        for e in run.requests
        if requested(e)[:4] == (WATCHED, "", "secrets", "create")
        and (e.get("objectRef") or {}).get("name") in ("demo-kubeconfig", None)
    ]
    assert 201 in creates, _with_log(run, f"kubeconfig Secret creations answered {creates}")


def describe(rules: set[Rule]) -> str:
    return ", ".join(
        f"{verb} {group or 'core'}/{resource}{'/' + name if name else ''} in {where}"
        for where, group, resource, verb, name in sorted(rules)
    )


def test_every_granted_rule_is_used(run: Run, request: pytest.FixtureRequest) -> None:
    assert run.failure is None, "the lifecycle failed; see the test above"
    used = {requested(e) for e in run.requests if e["responseStatus"].get("code") != 403}
    unused = {
        rule
        for rule in run.granted
        if rule[1:4] not in NOT_REQUESTS
        and rule[1:4] not in RARE
        and not any(covers(rule, req) for req in used)
    }
    assert not unused, "granted but never requested: " + describe(unused)
    # The listed rules are granted (else they would be pointless to list).
    assert {rule[1:4] for rule in run.granted} >= NOT_REQUESTS | set(RARE)


def test_the_lease_is_used_only_with_leader_election_and_released_at_the_end(
    run: Run, request: pytest.FixtureRequest
) -> None:
    leases = [e for e in run.requests if requested(e)[2] == "leases"]
    if "leaderElection" not in SCOPES[request.node.callspec.params["run"]]:
        assert not leases and run.lease is None
        return
    assert run.lease is not None, _with_log(run, "no Lease was made")
    assert {requested(e)[0] for e in leases} == {NAMESPACE}
    # Created once, renewed, and at the clean stop handed back: no holder, exit code 0.
    creates = [e for e in leases if e["verb"] == "create" and e["responseStatus"]["code"] == 201]
    assert len(creates) == 1, _with_log(run, f"{len(creates)} Lease creations")
    holder = run.lease["spec"].get("holderIdentity")
    assert not holder, _with_log(run, f"the Lease still names {holder!r}")
    assert run.exit_code == 0, _with_log(run, f"the operator exited with {run.exit_code}")
