"""The chart with the admission webhook on: both certificate sources, RBAC, and a real run.

The render tests hold the chart to the operator's own names (handler ids as URL paths, the
`--webhook-*` flags the CLI really has); the last test runs `nks-operator run` with the
chart's arguments and nothing but the chart's permissions, and checks that kopf could write
the webhooks into the configuration the chart created.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from nks_operator.api.resources import CLUSTER, NODEGROUP
from nks_operator.cli import build_parser
from nks_operator.handlers.admission import OPERATIONS, handler_id
from nks_operator.localkube import LocalKube, LocalKubeError
from nks_operator.webhook import ServiceRef
from tests.fixtures.kube import Kubectl, _kubectl_binary
from tests.fixtures.operator import LOOPBACK_ENDPOINTS, wait_for
from tests.helm.helpers import (
    CLUSTER_OBJECT_NAME,
    FULLNAME,
    NAMESPACE,
    REPO_ROOT,
    Helm,
    HelmError,
    Manifest,
    container,
    find,
    merged,
    normalized_rules,
    one,
    triples,
)
from tests.helm.test_rbac import CRDS, IN_NAMESPACE
from tests.helm.test_schema import DEFAULTS, SCHEMA

SELF_SIGNED: dict[str, Any] = {"webhook": {"enabled": True}}
CERT_MANAGER: dict[str, Any] = {"webhook": {"enabled": True, "certManager": {"enabled": True}}}
CONFIG = f"{CLUSTER_OBJECT_NAME}.nks.nhncloud.com"
SERVICE = f"{FULLNAME}-webhook"
CONFIG_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
CERT_MANAGER_KINDS = {"Certificate", "Issuer"}
ADMISSION = "admissionregistration.k8s.io"
WEBHOOK_CONFIGS = ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"]


def run_args(manifests: list[Manifest]) -> Any:
    """The Deployment's arguments, parsed by the operator's real command line."""
    return build_parser().parse_args(container(manifests)["args"])


def cluster_rule_list(manifests: list[Manifest]) -> list[dict[str, Any]]:
    return one(manifests, "ClusterRole", CLUSTER_OBJECT_NAME)["rules"]


def test_self_signed_lets_the_operator_manage_empty_configurations(helm: Helm) -> None:
    manifests = helm.render(SELF_SIGNED)
    args = run_args(manifests)
    assert args.webhook_port == 9443
    assert args.webhook_cert_dir is None
    assert args.webhook_service == ServiceRef(NAMESPACE, SERVICE, 443)
    assert args.webhook_manage_config == CONFIG
    assert args.webhook_failure_policy == "Fail"
    ports = {p["name"]: p["containerPort"] for p in container(manifests)["ports"]}
    assert ports["webhook"] == 9443
    service = one(manifests, "Service", SERVICE)
    assert service["spec"]["ports"] == [
        {"name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP"}
    ]
    for kind in CONFIG_KINDS:
        config = one(manifests, kind, CONFIG)
        assert "webhooks" not in config  # kopf fills them; Helm must not reset them
    assert not {m["kind"] for m in manifests} & CERT_MANAGER_KINDS


def test_self_signed_rbac_adds_only_creating_and_patching_its_configurations(
    helm: Helm,
) -> None:
    rules = cluster_rule_list(helm.render(SELF_SIGNED))
    assert normalized_rules(rules) == (
        CRDS
        | IN_NAMESPACE
        | triples(ADMISSION, WEBHOOK_CONFIGS, ["create"])
        | triples(ADMISSION, WEBHOOK_CONFIGS, ["patch"])
    )
    (patch,) = [r for r in rules if r["apiGroups"] == [ADMISSION] and r["verbs"] == ["patch"]]
    assert patch["resourceNames"] == [CONFIG]
    # Watching a namespace list: still in the ClusterRole (the configurations are cluster-wide).
    manifests = helm.render({**SELF_SIGNED, "watchNamespaces": ["team-a"]})
    assert triples(ADMISSION, WEBHOOK_CONFIGS, ["create"]) <= normalized_rules(
        cluster_rule_list(manifests)
    )
    assert all(ADMISSION not in r["apiGroups"] for r in one(manifests, "Role")["rules"])


def test_cert_manager_issues_a_certificate_from_a_private_ca(helm: Helm) -> None:
    manifests = helm.render(CERT_MANAGER)
    issuers = {m["metadata"]["name"]: m["spec"] for m in find(manifests, "Issuer")}
    assert issuers == {
        f"{FULLNAME}-webhook-selfsigned": {"selfSigned": {}},
        f"{FULLNAME}-webhook-ca": {"ca": {"secretName": f"{FULLNAME}-webhook-ca"}},
    }
    ca = one(manifests, "Certificate", f"{FULLNAME}-webhook-ca")["spec"]
    assert ca["isCA"] is True
    assert ca["issuerRef"] == {"name": f"{FULLNAME}-webhook-selfsigned", "kind": "Issuer"}
    serving = one(manifests, "Certificate", f"{FULLNAME}-webhook")["spec"]
    assert serving["issuerRef"] == {"name": f"{FULLNAME}-webhook-ca", "kind": "Issuer"}
    assert serving["dnsNames"] == [
        f"{SERVICE}.{NAMESPACE}.svc",
        f"{SERVICE}.{NAMESPACE}.svc.cluster.local",
    ]

    # The pod reads the Secret cert-manager writes, from where its flag says.
    args = run_args(manifests)
    assert args.webhook_manage_config is None
    spec = one(manifests, "Deployment")["spec"]["template"]["spec"]
    (mount,) = [m for m in container(manifests)["volumeMounts"] if m["name"] == "webhook-cert"]
    assert mount == {
        "name": "webhook-cert",
        "mountPath": str(args.webhook_cert_dir),
        "readOnly": True,
    }
    (volume,) = [v for v in spec["volumes"] if v["name"] == "webhook-cert"]
    assert volume["secret"]["secretName"] == serving["secretName"]
    # No permission on webhook configurations: Helm owns the only one.
    assert all(ADMISSION not in r["apiGroups"] for r in cluster_rule_list(manifests))
    assert not find(manifests, "MutatingWebhookConfiguration")


def test_cert_manager_configuration_calls_the_operators_handlers(helm: Helm) -> None:
    config = one(helm.render(CERT_MANAGER), "ValidatingWebhookConfiguration", CONFIG)
    assert config["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": f"{NAMESPACE}/{FULLNAME}-webhook"
    }
    hooks = {hook["rules"][0]["resources"][0]: hook for hook in config["webhooks"]}
    assert set(hooks) == {CLUSTER.plural, NODEGROUP.plural}
    for resource in (CLUSTER, NODEGROUP):
        hook = hooks[resource.plural]
        # The same names kopf gives its managed webhooks, and its handler ids as paths.
        assert hook["name"] == f"{handler_id(resource)}.{CONFIG}"
        assert hook["clientConfig"] == {
            "service": {
                "namespace": NAMESPACE,
                "name": SERVICE,
                "port": 443,
                "path": f"/{handler_id(resource)}",
            }
        }
        assert hook["rules"][0]["operations"] == OPERATIONS
        assert hook["failurePolicy"] == "Fail"
        assert hook["sideEffects"] == "None"
        assert hook["timeoutSeconds"] == 10
        assert "namespaceSelector" not in hook


def test_cert_manager_with_an_issuer_of_ones_own(helm: Helm) -> None:
    issuer = {"kind": "ClusterIssuer", "name": "corp-ca", "group": "cert-manager.io"}
    values = {"webhook": {"enabled": True, "certManager": {"enabled": True, "issuerRef": issuer}}}
    manifests = helm.render(values)
    assert not find(manifests, "Issuer")
    (certificate,) = find(manifests, "Certificate")
    assert certificate["spec"]["issuerRef"] == issuer


def test_namespace_list_limits_the_webhook_to_those_namespaces(helm: Helm) -> None:
    values = {**CERT_MANAGER, "watchNamespaces": ["team-a", "team-b"]}
    config = one(helm.render(values), "ValidatingWebhookConfiguration")
    for hook in config["webhooks"]:
        assert hook["namespaceSelector"] == {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "In",
                    "values": ["team-a", "team-b"],
                }
            ]
        }


def test_failure_policy_reaches_both_modes(helm: Helm) -> None:
    ignore = {"failurePolicy": "Ignore", "timeoutSeconds": 3}
    config = one(
        helm.render({"webhook": {**CERT_MANAGER["webhook"], **ignore}}),
        "ValidatingWebhookConfiguration",
    )
    assert {(h["failurePolicy"], h["timeoutSeconds"]) for h in config["webhooks"]} == {
        ("Ignore", 3)
    }
    manifests = helm.render({"webhook": {**SELF_SIGNED["webhook"], **ignore}})
    assert run_args(manifests).webhook_failure_policy == "Ignore"


def test_network_policy_lets_the_apiserver_in(helm: Helm) -> None:
    policy = one(helm.render({**SELF_SIGNED, "networkPolicy": {"enabled": True}}), "NetworkPolicy")
    ports = [rule["ports"] for rule in policy["spec"]["ingress"]]
    assert [{"port": 9443, "protocol": "TCP"}] in ports
    assert [{"port": 9443, "protocol": "TCP"}] not in [
        rule["ports"]
        for rule in one(helm.render({"networkPolicy": {"enabled": True}}), "NetworkPolicy")["spec"][
            "ingress"
        ]
    ]


def test_webhook_port_must_be_its_own(helm: Helm) -> None:
    with pytest.raises(HelmError, match=r"webhook\.port 8080 is already used"):
        helm.template({"webhook": {"enabled": True, "port": 8080}})


@pytest.mark.parametrize("values", [SELF_SIGNED, CERT_MANAGER], ids=["self-signed", "cert-manager"])
def test_rendered_webhook_objects_validate(helm: Helm, values: dict[str, Any]) -> None:
    version = kubernetes_validate.utils.latest_version()
    for obj in helm.render(values):
        if obj["kind"] in CERT_MANAGER_KINDS:  # cert-manager's CRDs, shape asserted above
            continue
        kubernetes_validate.validate(obj, version, strict=True)


def test_cert_manager_with_two_replicas_is_accepted(helm: Helm, helm3: Helm) -> None:
    values = {
        "replicaCount": 2,
        "peering": {"enabled": True},
        "webhook": {
            "enabled": True,
            "certManager": {"enabled": True, "issuerRef": {"kind": "ClusterIssuer", "name": "ca"}},
        },
    }
    jsonschema.validate(merged(DEFAULTS, values), SCHEMA, cls=jsonschema.Draft7Validator)
    rendered = helm.render(values)
    assert one(rendered, "Deployment")["spec"]["replicas"] == 2
    # Every replica serves the webhook, the standbys too: ready once it answers.
    operator = container(rendered)
    assert "--leader-election=nks-operator" in operator["args"]
    assert operator["readinessProbe"]["tcpSocket"] == {"port": "webhook"}
    # Helm 3 renders the same objects; it only sorts ValidatingWebhookConfiguration (a kind
    # it does not order) after the cert-manager ones, where Helm 4 puts it before them.
    key = json.dumps
    assert sorted(map(key, helm3.render(values))) == sorted(map(key, rendered))


def test_lint_with_the_webhook(helm: Helm) -> None:
    for values in (SELF_SIGNED, CERT_MANAGER):
        out = helm(
            "lint",
            str(REPO_ROOT / "helm" / "nks-operator"),
            "--strict",
            "--values",
            "-",
            input=json.dumps(values),
        )
        assert "0 chart(s) failed" in out


# -- for real: the chart's arguments and permissions, kopf writing the configuration -------


@pytest.fixture
def own_kube() -> Iterator[LocalKube]:
    """An apiserver of the test's own: the configuration kopf writes covers every namespace
    (failurePolicy Fail, a Service with no pod behind it) and must not meet other tests."""
    local = LocalKube(controller_manager=False)
    try:
        local.start()
    except LocalKubeError as err:
        pytest.fail(f"cannot start a private kube-apiserver: {err}", pytrace=False)
    try:
        yield local
    finally:
        local.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.kube
def test_self_signed_operator_fills_the_charts_configuration_with_the_charts_rbac(
    own_kube: LocalKube, helm: Helm, tmp_path: Path
) -> None:
    kube = Kubectl(_kubectl_binary(), own_kube.kubeconfig, tmp_path / "kubectl-cache")
    kube("create", "namespace", NAMESPACE)
    helm(
        "install", "nks", str(REPO_ROOT / "helm" / "nks-operator"), "--namespace", NAMESPACE,
        "--values", "-", input=json.dumps(SELF_SIGNED), kubeconfig=own_kube.kubeconfig,
    )  # fmt: skip
    manifest = helm("get", "manifest", "nks", "--namespace", NAMESPACE,
                    kubeconfig=own_kube.kubeconfig)  # fmt: skip
    deployment = next(d for d in yaml.safe_load_all(manifest) if d and d["kind"] == "Deployment")
    args = [
        a
        for a in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        if not a.startswith(("--liveness", "--webhook-port"))
    ]
    token = kube("create", "token", FULLNAME, "-n", NAMESPACE, "--duration=1h").stdout.strip()
    config = yaml.safe_load(own_kube.kubeconfig.read_text())
    for user in config["users"]:
        user["user"] = {"token": token}
    kubeconfig = tmp_path / "operator-kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    env = {**os.environ, **LOOPBACK_ENDPOINTS, "KUBECONFIG": str(kubeconfig)}
    for key in ("NKS_TENANT_ID", "NKS_USERNAME", "NKS_PASSWORD", "NKS_METRICS_PORT"):
        env.pop(key, None)
    log_path = tmp_path / "operator.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "nks_operator", *args, "--liveness=",
             f"--webhook-port={free_port()}"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT,
        )  # fmt: skip

    def webhooks() -> list[dict[str, Any]]:
        assert process.poll() is None, "the operator exited:\n" + log_path.read_text()[-3000:]
        found = kube("get", "validatingwebhookconfiguration", CONFIG, "-o", "json").stdout
        return json.loads(found).get("webhooks") or []

    try:
        hooks = wait_for(webhooks, timeout=30, what="kopf's webhooks in the chart's configuration")
        assert {h["name"] for h in hooks} == {
            f"{handler_id(CLUSTER)}.{CONFIG}",
            f"{handler_id(NODEGROUP)}.{CONFIG}",
        }
        for hook in hooks:
            assert hook["clientConfig"]["service"]["name"] == SERVICE
            assert hook["clientConfig"]["service"]["namespace"] == NAMESPACE
            assert hook["clientConfig"]["caBundle"]
        # kopf manages a mutating twin too; the chart's RBAC must cover it (checked below).
        assert "Reconfiguring the mutating webhook" in log_path.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    logs = log_path.read_text(errors="replace")
    assert "Forbidden" not in logs and "Not enough RBAC" not in logs, logs[-3000:]
    # Stopping empties the webhooks; uninstalling removes both configurations.
    assert webhooks_after_stop(kube) == []
    helm("uninstall", "nks", "--namespace", NAMESPACE, kubeconfig=own_kube.kubeconfig)
    for kind in CONFIG_KINDS:
        assert kube("get", kind, CONFIG, check=False).returncode != 0


def webhooks_after_stop(kube: Kubectl) -> list[dict[str, Any]]:
    found = kube("get", "validatingwebhookconfiguration", CONFIG, "-o", "json").stdout
    return json.loads(found).get("webhooks") or []
