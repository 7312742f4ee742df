"""Every rendered object passes kubernetes-validate's strict schemas (oldest and newest)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tests.helm.helpers import Helm, parse_manifests

VERSIONS = [kubernetes_validate.utils.all_versions()[0], kubernetes_validate.utils.latest_version()]
# Kinds of other APIs: the Prometheus Operator's ServiceMonitor (its shape is asserted in
# test_render).
CUSTOM_KINDS = {"ServiceMonitor"}

VALUES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "namespace list": {
        "watchNamespaces": ["team-a", "team-b"],
        "leaderElection": {"enabled": True},
        "argocd": {"allowedNamespaces": ["team-a"]},
        "credentials": {"existingSecret": "c", "namespaces": ["team-a", "team-b"]},
        "nks": {"allowedEndpoints": ["https://nks.private.example/"], "maxAnswerBytes": 8388608},
    },
    "everything": {
        "replicaCount": 2,
        "leaderElection": {"enabled": True},
        "credentials": {"create": True, "tenantId": "t", "username": "u", "password": "p"},
        "metrics": {"serviceMonitor": {"enabled": True}},
        "networkPolicy": {
            "enabled": True,
            "kubeAPI": {"cidrs": ["10.0.0.1/32"]},
            "dns": {"to": [{"namespaceSelector": {}}]},
            "metrics": {"from": [{"podSelector": {"matchLabels": {"app": "prometheus"}}}]},
        },
        "tolerations": [{"key": "ops", "operator": "Exists", "effect": "NoSchedule"}],
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "nks-operator"}},
            }
        ],
        "extraEnv": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "extraEnvFrom": [{"configMapRef": {"name": "extra"}}],
    },
    "globs with leader election": {
        "watchNamespaces": ["team-*"],
        "leaderElection": {"enabled": True},
    },
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", sorted(VALUES))
def test_rendered_manifests_validate(helm: Helm, case: str, version: str) -> None:
    manifests = parse_manifests(helm.template(VALUES[case], "--include-crds"))
    checked = 0
    for obj in manifests:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            path = ".".join(str(p) for p in err.path)
            pytest.fail(f"{case}: {name} invalid for Kubernetes {version} at {path}: {err.message}")
        checked += 1
    assert checked >= 6


def test_validator_catches_a_broken_object() -> None:
    # The check above can fail: a Deployment with a misspelt field is refused.
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replica": 1, "selector": {}, "template": {}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)
