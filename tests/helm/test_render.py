"""`helm template` output: the Deployment, its security, probes, credentials and the extras."""

from __future__ import annotations

import re

import pytest
import yaml

from nks_operator.settings import OperatorSettings
from tests.helm.helpers import (
    CHART,
    FULLNAME,
    NAMESPACE,
    Helm,
    HelmError,
    container,
    env_of,
    find,
    one,
    operator_settings,
)

CREDENTIAL_ENV = {
    "NKS_TENANT_ID": "tenantId",
    "NKS_USERNAME": "username",
    "NKS_PASSWORD": "password",
    "NKS_IDENTITY_URL": "identityUrl",
    "NKS_URL": "nksUrl",
}
APP_VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]


def test_deployment_defaults_one_replica_recreate(helm: Helm) -> None:
    deployment = one(helm.render(), "Deployment", FULLNAME)
    assert deployment["metadata"]["namespace"] == NAMESPACE
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()


def test_restricted_pod_security(helm: Helm) -> None:
    manifests = helm.render()
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container(manifests)["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == 65532
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "privileged" not in security
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")


def test_tmp_is_a_writable_empty_dir(helm: Helm) -> None:
    manifests = helm.render()
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    assert container(manifests)["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]


def test_liveness_probe_on_kopfs_endpoint_bound_to_all_interfaces(helm: Helm) -> None:
    operator = container(helm.render())
    assert "--liveness=http://0.0.0.0:8080/healthz" in operator["args"]
    probe = operator["livenessProbe"]
    assert probe["httpGet"] == {"path": "/healthz", "port": "health"}
    ports = {p["name"]: p["containerPort"] for p in operator["ports"]}
    assert ports["health"] == 8080
    assert probe["periodSeconds"] > 0 and probe["failureThreshold"] >= 1


def test_readiness_without_the_webhook_is_the_liveness_endpoint(helm: Helm) -> None:
    probe = container(helm.render())["readinessProbe"]
    assert probe["httpGet"] == {"path": "/healthz", "port": "health"}
    assert probe["periodSeconds"] > 0 and probe["failureThreshold"] >= 1


def test_readiness_with_the_webhook_waits_for_the_webhook_to_serve(helm: Helm) -> None:
    # The webhook Service sends admission requests only to ready pods: ready means the
    # webhook's port accepts connections, not merely that kopf is alive.
    for cert_manager in (False, True):
        values = {"webhook": {"enabled": True, "certManager": {"enabled": cert_manager}}}
        operator = container(helm.render(values))
        assert operator["readinessProbe"]["tcpSocket"] == {"port": "webhook"}
        assert "httpGet" not in operator["readinessProbe"]
        ports = {p["name"]: p["containerPort"] for p in operator["ports"]}
        assert ports["webhook"] == 9443
    timings = {"initialDelaySeconds": 1, "periodSeconds": 2, "timeoutSeconds": 3}
    probe = container(helm.render({"health": {"readinessProbe": timings}}))["readinessProbe"]
    assert {k: probe[k] for k in timings} == timings


def test_health_port_follows_the_value(helm: Helm) -> None:
    operator = container(helm.render({"health": {"port": 8181}}))
    assert "--liveness=http://0.0.0.0:8181/healthz" in operator["args"]
    assert {p["name"]: p["containerPort"] for p in operator["ports"]}["health"] == 8181


def test_resources_are_set(helm: Helm) -> None:
    resources = container(helm.render())["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]
    assert resources["limits"]["memory"]


def test_command_line_defaults(helm: Helm) -> None:
    operator = container(helm.render())
    assert "command" not in operator  # the image's ENTRYPOINT (nks-operator)
    assert operator["args"] == [
        "run",
        "--all-namespaces",
        "--liveness=http://0.0.0.0:8080/healthz",
        "--log-level=INFO",
        "--log-format=json",
    ]


def test_log_settings_poll_intervals_leader_election_and_extra_args(helm: Helm) -> None:
    args = container(
        helm.render(
            {
                "operator": {
                    "logLevel": "DEBUG",
                    "logFormat": "plain",
                    "fastPollSeconds": 2.5,
                    "workers": 32,
                    "slowPollSeconds": 300,
                    "errorBackoffSeconds": 30,
                    "extraArgs": ["--kubeconfig", "/etc/kube/config"],
                },
                "leaderElection": {"enabled": True, "name": "nks-ha"},
            }
        )
    )["args"]
    assert args[0] == "run"
    for expected in (
        "--log-level=DEBUG",
        "--log-format=plain",
        "--fast-poll=2.5",
        "--workers=32",
        "--slow-poll=300",
        "--error-backoff=30",
        "--leader-election=nks-ha",
    ):
        assert expected in args
    assert args[-2:] == ["--kubeconfig", "/etc/kube/config"]


def test_image_tag_defaults_to_app_version_and_digest_wins(helm: Helm) -> None:
    operator = container(helm.render())
    # A full reference that resolves: the release workflow pushes exactly this image.
    assert operator["image"] == f"ghcr.io/nks-operator/nks-operator:{APP_VERSION}"
    assert operator["imagePullPolicy"] == "IfNotPresent"
    digest = "sha256:" + "a" * 64
    operator = container(
        helm.render(
            {"image": {"repository": "reg.example/nks", "tag": "1.2.3", "pullPolicy": "Always"}}
        )
    )
    assert (operator["image"], operator["imagePullPolicy"]) == ("reg.example/nks:1.2.3", "Always")
    operator = container(helm.render({"image": {"repository": "r/nks", "digest": digest}}))
    assert operator["image"] == f"r/nks@{digest}"


def test_no_credentials_by_default(helm: Helm) -> None:
    manifests = helm.render()
    assert not find(manifests, "Secret")
    assert not set(CREDENTIAL_ENV) & set(env_of(manifests))


def test_existing_secret_maps_every_key_through_secret_key_ref(helm: Helm) -> None:
    manifests = helm.render({"credentials": {"existingSecret": "nks-credentials"}})
    env = env_of(manifests)
    for name, key in CREDENTIAL_ENV.items():
        assert "value" not in env[name]
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "nks-credentials"
        assert ref["key"] == key
        # The base URLs are optional keys; the account is not.
        assert ref.get("optional", False) is (key in ("identityUrl", "nksUrl"))
    assert not find(manifests, "Secret")


def test_no_password_anywhere_in_the_default_render(helm: Helm) -> None:
    for values in ({}, {"credentials": {"existingSecret": "nks-credentials"}}):
        text = helm.template(values)
        assert "kind: Secret" not in text
        assert not re.search(r"(?i)password\s*:", text), text
        assert "stringData" not in text


def test_dev_credentials_render_a_secret_and_restart_on_change(helm: Helm) -> None:
    values = {
        "credentials": {
            "create": True,
            "tenantId": "tenant-1",
            "username": "dev@example.com",
            "password": "dev-only-pw-1",
            "nksUrl": "http://127.0.0.1:8000",
        }
    }
    text = helm.template(values)
    manifests = [m for m in yaml.safe_load_all(text) if m]
    secret = one(manifests, "Secret", f"{FULLNAME}-credentials")
    assert secret["stringData"]["password"] == "dev-only-pw-1"
    assert "identityUrl" not in secret["stringData"]
    assert "DEVELOPMENT ONLY" in text
    # The password lives in the Secret only, never in the Deployment.
    deployment_text = yaml.safe_dump(one(manifests, "Deployment"))
    assert "dev-only-pw-1" not in deployment_text
    env = env_of(manifests)
    assert env["NKS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"{FULLNAME}-credentials"
    annotations = one(manifests, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    changed = {"credentials": {**values["credentials"], "password": "dev-only-pw-2"}}
    annotations_after = one(helm.render(changed), "Deployment")["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert annotations["checksum/credentials"] != annotations_after["checksum/credentials"]


def test_pod_name_and_namespace_come_from_the_downward_api(helm: Helm) -> None:
    # The Lease holder's identity starts with POD_NAME; the Lease is in POD_NAMESPACE.
    env = env_of(helm.render())
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert "POD_ID" not in env  # kopf's peering identity, unused in standalone mode


TENANCY_ENV = {
    "NKS_DEFAULT_CREDENTIALS_NAMESPACES",
    "NKS_ALLOWED_ENDPOINTS",
    "NKS_MAX_ANSWER_BYTES",
    "NKS_CALL_TIMEOUT_SECONDS",
    "NKS_ACCOUNT_CONCURRENCY",
    "NKS_ARGOCD_ALLOWED_NAMESPACES",
    "NKS_ARGOCD_ALLOWED_PROJECTS",
    "NKS_ARGOCD_ALLOWED_LABEL_KEYS",
}


def test_tenancy_defaults_are_the_operators(helm: Helm) -> None:
    manifests = helm.render()
    env = env_of(manifests)
    assert not TENANCY_ENV & set(env)
    # Always set: the RBAC is made for these names.
    assert env["NKS_ARGOCD_NAMESPACE"] == {"name": "NKS_ARGOCD_NAMESPACE", "value": "argocd"}
    assert env["NKS_SIGNING_KEY_SECRET"]["value"] == f"{FULLNAME}-signing-key"
    settings = operator_settings(manifests)
    defaults = OperatorSettings()
    for field in (
        "default_credentials_namespaces",
        "allowed_endpoints",
        "max_answer_bytes",
        "call_timeout_seconds",
        "account_concurrency",
        "argocd_namespace",
        "argocd_allowed_namespaces",
        "argocd_allowed_projects",
        "argocd_allowed_label_keys",
    ):
        assert getattr(settings, field) == getattr(defaults, field), field
    # Only the release namespace may use the default credentials or register in Argo CD.
    assert settings.default_credentials_allowed(NAMESPACE)
    assert not settings.default_credentials_allowed("team-a")
    assert not settings.argocd_registration_allowed("team-a")


def test_tenancy_values_reach_the_operators_settings(helm: Helm) -> None:
    values = {
        "credentials": {"namespaces": ["platform", "team-*"]},
        "nks": {
            "allowedEndpoints": ["http://127.0.0.1:9511", "https://nks.private.example/v1/"],
            # Helm reads numbers as floats: a large one must not become 2.68435456e+08.
            "maxAnswerBytes": 268435456,
            "callTimeoutSeconds": 2.5,
            "accountConcurrency": 3,
        },
        "argocd": {
            "namespace": "gitops",
            "allowedNamespaces": ["team-*"],
            "allowedProjects": ["{namespace}", "shared"],
            "allowedLabelKeys": ["example.com/*"],
        },
    }
    manifests = helm.render(values)
    assert env_of(manifests)["NKS_MAX_ANSWER_BYTES"]["value"] == "268435456"
    settings = operator_settings(manifests)
    assert settings.default_credentials_namespaces == ("platform", "team-*")
    assert settings.default_credentials_allowed("team-b")
    assert not settings.default_credentials_allowed(NAMESPACE)
    assert settings.allowed_endpoints == (
        "http://127.0.0.1:9511",
        "https://nks.private.example/v1/",
    )
    assert settings.endpoint_policy().allows("http://127.0.0.1:9511/v3/tokens")
    assert not settings.endpoint_policy().allows("http://127.0.0.1:9512/")
    assert (settings.max_answer_bytes, settings.call_timeout_seconds) == (268435456, 2.5)
    assert settings.account_concurrency == 3
    assert settings.argocd_namespace == "gitops"
    assert settings.argocd_allowed_namespaces == ("team-*",)
    assert settings.argocd_project_allowed("team-a", "team-a")
    assert settings.argocd_project_allowed("shared", "team-a")
    assert not settings.argocd_project_allowed("team-b", "team-a")
    assert settings.argocd_label_key_allowed("example.com/env")
    assert not settings.argocd_label_key_allowed("env")


def test_every_endpoint_the_schema_accepts_the_operator_accepts_too(helm: Helm) -> None:
    endpoints = [
        "http://127.0.0.1:9511",
        "https://nks.private.example/v1/",
        "http://localhost:*",
        "https://[fd00::1]:8443",
    ]
    manifests = helm.render({"nks": {"allowedEndpoints": endpoints}})
    assert operator_settings(manifests).allowed_endpoints == tuple(endpoints)


def test_metrics_service_on_9090(helm: Helm) -> None:
    manifests = helm.render()
    service = one(manifests, "Service", f"{FULLNAME}-metrics")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    pod_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    operator = container(manifests)
    assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in operator["ports"]
    assert env_of(manifests)["NKS_METRICS_PORT"]["value"] == "9090"
    assert not find(manifests, "ServiceMonitor")


def test_metrics_disabled_renders_no_service_port_or_env(helm: Helm) -> None:
    manifests = helm.render({"metrics": {"enabled": False, "serviceMonitor": {"enabled": True}}})
    assert not find(manifests, "Service")
    assert not find(manifests, "ServiceMonitor")
    assert "NKS_METRICS_PORT" not in env_of(manifests)
    assert [p["name"] for p in container(manifests)["ports"]] == ["health"]


def test_service_monitor_selects_the_metrics_service(helm: Helm) -> None:
    manifests = helm.render(
        {"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}}
    )
    monitor = one(manifests, "ServiceMonitor")
    service = one(manifests, "Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"


def test_network_policy(helm: Helm) -> None:
    assert not find(helm.render(), "NetworkPolicy")
    manifests = helm.render(
        {"networkPolicy": {"enabled": True, "kubeAPI": {"cidrs": ["10.96.0.1/32"]}}}
    )
    policy = one(manifests, "NetworkPolicy")
    pod_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    ingress_ports = sorted(rule["ports"][0]["port"] for rule in policy["spec"]["ingress"])
    assert ingress_ports == [8080, 9090]
    dns, kube_api, nks = policy["spec"]["egress"]
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
    assert "to" not in dns
    assert [p["port"] for p in kube_api["ports"]] == [443, 6443]
    assert kube_api["to"] == [{"ipBlock": {"cidr": "10.96.0.1/32"}}]
    assert [p["port"] for p in nks["ports"]] == [443]
    assert nks["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]


def test_network_policy_restricts_scrapers_when_asked(helm: Helm) -> None:
    scraper = {"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}
    policy = one(
        helm.render({"networkPolicy": {"enabled": True, "metrics": {"from": [scraper]}}}),
        "NetworkPolicy",
    )
    metrics_rule = next(r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == 9090)
    assert metrics_rule["from"] == [scraper]


def test_scheduling_and_metadata_pass_through(helm: Helm) -> None:
    toleration = {"key": "ops", "operator": "Exists", "effect": "NoSchedule"}
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["ops"]}]}
                ]
            }
        }
    }
    manifests = helm.render(
        {
            "nodeSelector": {"pool": "ops"},
            "tolerations": [toleration],
            "affinity": affinity,
            "priorityClassName": "system-cluster-critical",
            "podAnnotations": {"example.com/team": "platform"},
            "podLabels": {"team": "platform"},
            "commonLabels": {"cost-center": "42"},
            "extraEnv": [{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}],
            "imagePullSecrets": [{"name": "regcred"}],
        }
    )
    template = one(manifests, "Deployment")["spec"]["template"]
    pod = template["spec"]
    assert pod["nodeSelector"] == {"pool": "ops"}
    assert pod["tolerations"] == [toleration]
    assert pod["affinity"] == affinity
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert template["metadata"]["annotations"] == {"example.com/team": "platform"}
    assert template["metadata"]["labels"]["team"] == "platform"
    assert env_of(manifests)["HTTPS_PROXY"]["value"] == "http://proxy:3128"
    for obj in manifests:
        assert obj["metadata"]["labels"]["cost-center"] == "42", obj["kind"]


def test_every_object_carries_the_standard_labels(helm: Helm) -> None:
    for obj in helm.render({"watchNamespaces": ["a"], "leaderElection": {"enabled": True}}):
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "nks-operator", obj["kind"]
        assert labels["app.kubernetes.io/instance"] == "nks"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == APP_VERSION


@pytest.mark.parametrize("watch", [[], ["a", "b"], ["team-*"]], ids=["all", "list", "glob"])
def test_leader_election_is_one_flag_and_no_kopf_peering(helm: Helm, watch: list[str]) -> None:
    values = {"leaderElection": {"enabled": True, "name": "ha"}, "watchNamespaces": watch}
    manifests = helm.render(values, "--include-crds")
    args = container(manifests)["args"]
    assert [a for a in args if a.startswith("--leader-election")] == ["--leader-election=ha"]
    assert "--peering=ha" not in args
    # The operator creates the Lease itself; nothing of kopf's peering is rendered.
    assert not [m for m in manifests if m["apiVersion"].startswith("kopf.dev/")]
    assert not [m for m in manifests if m["kind"] == "Lease"]
    without = container(helm.render({"watchNamespaces": watch}))["args"]
    assert not [a for a in without if a.startswith(("--leader-election", "--peering"))]


def test_webhook_off_by_default_renders_nothing_of_it(helm: Helm) -> None:
    # tests/helm/test_webhook.py covers the chart with the webhook on.
    assert helm.template({"webhook": {"enabled": False}}) == helm.template()
    kinds = {m["kind"] for m in helm.render()}
    assert not {k for k in kinds if "Webhook" in k}


def test_replicas_with_leader_election_roll_one_new_pod_at_a_time(helm: Helm) -> None:
    values = {"replicaCount": 2, "leaderElection": {"enabled": True}}
    deployment = one(helm.render(values), "Deployment")
    assert deployment["spec"]["replicas"] == 2
    # A new pod starts (as a standby, waiting for the Lease) before an old one stops.
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    # One replica with leader election rolls too: no gap in the webhook during an upgrade.
    single = one(helm.render({"leaderElection": {"enabled": True}}), "Deployment")
    assert single["spec"]["strategy"]["type"] == "RollingUpdate"
    # Without leader election two operators would act at once: the old one stops first.
    assert one(helm.render(), "Deployment")["spec"]["strategy"] == {"type": "Recreate"}


def test_a_stopping_pod_serves_the_webhook_until_its_service_dropped_it(helm: Helm) -> None:
    webhook = {"webhook": {"enabled": True, "certManager": {"enabled": True}}}
    operator = container(helm.render(webhook))
    assert operator["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    # Ready only once the webhook answers, as before.
    assert operator["readinessProbe"]["tcpSocket"] == {"port": "webhook"}
    off = {"webhook": {**webhook["webhook"], "shutdownDelaySeconds": 0}}
    assert "lifecycle" not in container(helm.render(off))
    assert "lifecycle" not in container(helm.render())  # no webhook, nothing to drain
    with pytest.raises(HelmError, match="must be less than terminationGracePeriodSeconds 60"):
        helm.template({"webhook": {"enabled": True, "shutdownDelaySeconds": 60}})


def test_disruption_budget_only_with_more_than_one_replica(helm: Helm) -> None:
    for replicas in (0, 1):
        assert not find(helm.render({"replicaCount": replicas}), "PodDisruptionBudget")
    manifests = helm.render({"replicaCount": 3, "leaderElection": {"enabled": True}})
    budget = one(manifests, "PodDisruptionBudget", FULLNAME)
    assert budget["apiVersion"] == "policy/v1"
    assert budget["metadata"]["namespace"] == NAMESPACE
    pod_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert budget["spec"]["maxUnavailable"] == 1
    assert "minAvailable" not in budget["spec"]
    custom = {"replicaCount": 4, "leaderElection": {"enabled": True}}
    custom["podDisruptionBudget"] = {"maxUnavailable": "50%"}
    budget = one(helm.render(custom), "PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] == "50%"


def test_notes_name_the_credentials_mode(helm: Helm) -> None:
    def notes(values: str) -> str:
        out = helm(
            "install",
            "nks",
            str(CHART),
            "--namespace",
            NAMESPACE,
            "--dry-run=client",
            "--values",
            "-",
            input=values,
        )
        return out.split("NOTES:", 1)[1]

    assert "spec.credentialsRef" in notes("{}")
    assert "rollout restart" in notes('{"credentials": {"existingSecret": "c"}}')
    dev = '{"credentials": {"create": true, "tenantId": "t", "username": "u", "password": "p"}}'
    assert "WARNING: credentials.create is for development only" in notes(dev)
    assert "`helm uninstall` keeps them" in notes("{}")
    assert "`helm uninstall` DELETES them" in notes('{"crds": {"keep": false}}')
    assert "CRDs" not in notes('{"crds": {"enabled": false}}')
    assert "Only resources in namespace nks-system may use the default credentials" in notes(
        '{"credentials": {"existingSecret": "c"}}'
    )
    shared = '{"credentials": {"existingSecret": "c", "namespaces": ["team-*"]}}'
    assert "Only resources in team-* may use" in notes(shared)
    assert "may use the default credentials" not in notes("{}")
    leader = notes('{"replicaCount": 2, "leaderElection": {"enabled": true, "name": "ha"}}')
    assert "2 replica(s), one active" in leader and "get lease ha" in leader
    assert "Leader election" not in notes("{}")


def test_shard_selector_becomes_selector_flags(helm: Helm) -> None:
    args = container(helm.render({"shardSelector": {"shard": "a", "example.com/team": "x"}}))[
        "args"
    ]
    assert "--selector=shard=a" in args
    assert "--selector=example.com/team=x" in args
