"""The chart with the admission webhook on: both certificate sources, RBAC, and a real run.

The render tests hold the chart to the operator's own names (handler ids as URL paths, the
`--webhook-*` flags the CLI really has); the last test runs `nks-operator run` with the
chart's arguments and nothing but the chart's permissions, and checks that the operator
wrote its CA bundle into the configuration the chart created - and nothing else, with no
right to create one.
"""

from __future__ import annotations

import base64
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

from nks_devtools.localkube import LocalKube, LocalKubeError
from nks_operator.api.resources import CLUSTER, NODEGROUP
from nks_operator.cli import build_parser
from nks_operator.handlers.admission import OPERATIONS, handler_id
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
from tests.helm.test_rbac import CLUSTER_WIDE, IN_NAMESPACE, SECRET_DELETE
from tests.helm.test_schema import DEFAULTS, SCHEMA

SELF_SIGNED: dict[str, Any] = {"webhook": {"enabled": True}}
CERT_MANAGER: dict[str, Any] = {"webhook": {"enabled": True, "certManager": {"enabled": True}}}
CONFIG = f"{CLUSTER_OBJECT_NAME}.nks.nhncloud.com"
SERVICE = f"{FULLNAME}-webhook"
MODES = {"self-signed": SELF_SIGNED, "cert-manager": CERT_MANAGER}
CERT_MANAGER_KINDS = {"Certificate", "Issuer"}
ADMISSION = "admissionregistration.k8s.io"
WEBHOOK_CONFIGS = ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"]
CA_BUNDLE_RIGHTS = triples(ADMISSION, ["validatingwebhookconfigurations"], ["get", "patch"])


def run_args(manifests: list[Manifest]) -> Any:
    """The Deployment's arguments, parsed by the operator's real command line."""
    return build_parser().parse_args(container(manifests)["args"])


def cluster_rule_list(manifests: list[Manifest]) -> list[dict[str, Any]]:
    return one(manifests, "ClusterRole", CLUSTER_OBJECT_NAME)["rules"]


def test_self_signed_injects_its_ca_into_the_charts_configuration(helm: Helm) -> None:
    manifests = helm.render(SELF_SIGNED)
    args = run_args(manifests)
    assert args.webhook_port == 9443
    assert args.webhook_cert_dir is None
    # The Service's names go into the certificate; the CA goes into the configuration.
    assert args.webhook_service == ServiceRef(NAMESPACE, SERVICE, 443)
    assert args.webhook_inject_ca == CONFIG
    assert args.webhook_manage_config is None
    ports = {p["name"]: p["containerPort"] for p in container(manifests)["ports"]}
    assert ports["webhook"] == 9443
    service = one(manifests, "Service", SERVICE)
    assert service["spec"]["ports"] == [
        {"name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP"}
    ]
    config = one(manifests, "ValidatingWebhookConfiguration", CONFIG)
    assert "annotations" not in config["metadata"]  # no cert-manager here
    assert len(config["webhooks"]) == 2
    assert not find(manifests, "MutatingWebhookConfiguration")
    assert not {m["kind"] for m in manifests} & CERT_MANAGER_KINDS


def test_self_signed_rbac_adds_only_reading_and_patching_its_configuration(
    helm: Helm,
) -> None:
    rules = cluster_rule_list(helm.render(SELF_SIGNED))
    assert normalized_rules(rules) == CLUSTER_WIDE | IN_NAMESPACE | SECRET_DELETE | CA_BUNDLE_RIGHTS
    (named,) = [r for r in rules if r["apiGroups"] == [ADMISSION]]
    assert named["resourceNames"] == [CONFIG]
    assert not triples(ADMISSION, WEBHOOK_CONFIGS, ["create"]) & normalized_rules(rules)
    # Watching a namespace list: still in the ClusterRole (the configuration is cluster-wide).
    manifests = helm.render({**SELF_SIGNED, "watchNamespaces": ["team-a"]})
    assert normalized_rules(cluster_rule_list(manifests)) >= CA_BUNDLE_RIGHTS
    assert all(ADMISSION not in r["apiGroups"] for r in one(manifests, "Role", FULLNAME)["rules"])


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
    assert args.webhook_inject_ca is None
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


@pytest.mark.parametrize("mode", sorted(MODES))
def test_configuration_calls_the_operators_handlers(helm: Helm, mode: str) -> None:
    config = one(helm.render(MODES[mode]), "ValidatingWebhookConfiguration", CONFIG)
    if mode == "cert-manager":
        assert config["metadata"]["annotations"] == {
            "cert-manager.io/inject-ca-from": f"{NAMESPACE}/{FULLNAME}-webhook"
        }
    hooks = {hook["rules"][0]["resources"][0]: hook for hook in config["webhooks"]}
    assert set(hooks) == {CLUSTER.plural, NODEGROUP.plural}
    for resource in (CLUSTER, NODEGROUP):
        hook = hooks[resource.plural]
        # The same names kopf gives its managed webhooks, and its handler ids as paths.
        assert hook["name"] == f"{handler_id(resource)}.{CONFIG}"
        # No CA bundle: cert-manager's CA injector or the operator writes it.
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


@pytest.mark.parametrize("mode", sorted(MODES))
def test_namespace_list_limits_the_webhook_to_those_namespaces(helm: Helm, mode: str) -> None:
    values = {**MODES[mode], "watchNamespaces": ["team-a", "team-b"]}
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


@pytest.mark.parametrize("mode", sorted(MODES))
def test_failure_policy_reaches_both_modes(helm: Helm, mode: str) -> None:
    ignore = {"failurePolicy": "Ignore", "timeoutSeconds": 3}
    config = one(
        helm.render({"webhook": {**MODES[mode]["webhook"], **ignore}}),
        "ValidatingWebhookConfiguration",
    )
    assert {(h["failurePolicy"], h["timeoutSeconds"]) for h in config["webhooks"]} == {
        ("Ignore", 3)
    }


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
        "leaderElection": {"enabled": True},
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


# -- for real: the chart's arguments and permissions, the operator writing its CA bundle ---


@pytest.fixture
def own_kube() -> Iterator[LocalKube]:
    """An apiserver of the test's own: the chart's configuration covers every namespace
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


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.kube
@pytest.mark.parametrize("binary", ["helm", "helm3"])
def test_self_signed_operator_fills_in_the_ca_bundle_with_only_the_charts_rbac(
    own_kube: LocalKube, request: pytest.FixtureRequest, binary: str, tmp_path: Path
) -> None:
    helm_bin: Helm = request.getfixturevalue(binary)
    kube = Kubectl(_kubectl_binary(), own_kube.kubeconfig, tmp_path / "kubectl-cache")
    kube("create", "namespace", NAMESPACE)
    chart = str(REPO_ROOT / "helm" / "nks-operator")
    helm_bin(
        "install", "nks", chart, "--namespace", NAMESPACE, "--values", "-",
        input=json.dumps(SELF_SIGNED), kubeconfig=own_kube.kubeconfig,
    )  # fmt: skip
    manifest = helm_bin("get", "manifest", "nks", "--namespace", NAMESPACE,
                        kubeconfig=own_kube.kubeconfig)  # fmt: skip
    rendered = [d for d in yaml.safe_load_all(manifest) if d]
    deployment = one(rendered, "Deployment")
    args = [
        a
        for a in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        if not a.startswith(("--liveness", "--webhook-port"))
    ]

    # The apiserver's own answer: the chart's ServiceAccount may not create a webhook
    # configuration, nor touch any but its own.
    account = f"--as=system:serviceaccount:{NAMESPACE}:{FULLNAME}"
    for verb, target in (
        ("create", "validatingwebhookconfigurations"),
        ("create", "mutatingwebhookconfigurations"),
        ("patch", "validatingwebhookconfigurations/another"),
        ("delete", f"validatingwebhookconfigurations/{CONFIG}"),
        ("patch", f"validatingwebhookconfigurations/{CONFIG}"),
        ("get", f"validatingwebhookconfigurations/{CONFIG}"),
    ):
        answer = kube("auth", "can-i", verb, target, account, check=False).stdout.strip()
        assert answer == ("yes" if target.endswith(CONFIG) and verb != "delete" else "no"), (
            verb,
            target,
        )

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

    def stored() -> dict[str, Any]:
        found = kube("get", "validatingwebhookconfiguration", CONFIG, "-o", "json").stdout
        return json.loads(found)

    def bundles() -> set[str] | None:
        assert process.poll() is None, "the operator exited:\n" + log_path.read_text()[-3000:]
        found = {h["clientConfig"].get("caBundle") for h in stored()["webhooks"]}
        return None if None in found else found

    try:
        (bundle,) = wait_for(bundles, timeout=30, what="the CA bundle in the configuration")
        # A certificate for the Service's names, signed by itself.
        pem = base64.b64decode(bundle).decode()
        assert pem.startswith("-----BEGIN CERTIFICATE-----")
        # Nothing but the CA bundle changed.
        live = stored()["webhooks"]
        for hook in live:
            del hook["clientConfig"]["caBundle"]
        expected = one(rendered, "ValidatingWebhookConfiguration")["webhooks"]
        for hook in expected:  # the apiserver's defaults
            hook.setdefault("namespaceSelector", {})
            hook.setdefault("objectSelector", {})
        assert live == expected

        # An upgrade that changes the configuration keeps the CA bundle (Helm merges).
        helm_bin(
            "upgrade", "nks", chart, "--namespace", NAMESPACE, "--values", "-",
            input=json.dumps({"webhook": {"enabled": True, "timeoutSeconds": 5}}),
            kubeconfig=own_kube.kubeconfig,
        )  # fmt: skip
        upgraded = stored()["webhooks"]
        assert {h["timeoutSeconds"] for h in upgraded} == {5}
        assert {h["clientConfig"].get("caBundle") for h in upgraded} == {bundle}
        assert process.poll() is None
    finally:
        stop(process)
    logs = log_path.read_text(errors="replace")
    assert "Forbidden" not in logs and "Not enough RBAC" not in logs, logs[-3000:]
    assert f"CA bundle written into ValidatingWebhookConfiguration {CONFIG}" in logs
    # The configuration is Helm's: it stays when the operator stops and goes on uninstall.
    assert {h["clientConfig"].get("caBundle") for h in stored()["webhooks"]} == {bundle}
    helm_bin("uninstall", "nks", "--namespace", NAMESPACE, kubeconfig=own_kube.kubeconfig)
    assert kube("get", "validatingwebhookconfiguration", CONFIG, check=False).returncode != 0
    assert not json.loads(kube("get", "mutatingwebhookconfigurations", "-o", "json").stdout)[
        "items"
    ]
