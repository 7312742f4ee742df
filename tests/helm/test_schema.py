"""values.schema.json: bad values stop helm before anything renders, with a clear message."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from tests.helm.helpers import CHART, Helm, HelmError, merged

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())

# (values, substrings the error must contain: the offending key's path and the reason)
REJECTED: dict[str, tuple[dict[str, Any], list[str]]] = {
    "negative fast poll": (
        {"operator": {"fastPollSeconds": -1}},
        ["/operator/fastPollSeconds", "exclusiveMinimum"],
    ),
    "zero slow poll": (
        {"operator": {"slowPollSeconds": 0}},
        ["/operator/slowPollSeconds", "exclusiveMinimum"],
    ),
    "negative error backoff": (
        {"operator": {"errorBackoffSeconds": -5}},
        ["/operator/errorBackoffSeconds", "exclusiveMinimum"],
    ),
    "no workers": (
        {"operator": {"workers": 0}},
        ["/operator/workers", "minimum"],
    ),
    "workers as a fraction": (
        {"operator": {"workers": 2.5}},
        ["/operator/workers"],
    ),
    "poll interval as text": (
        {"operator": {"fastPollSeconds": "fast"}},
        ["/operator/fastPollSeconds", "got string"],
    ),
    "shard selector with a bad label value": (
        {"shardSelector": {"shard": "not a label value"}},
        ["/shardSelector/shard", "does not match"],
    ),
    "unknown log format": (
        {"operator": {"logFormat": "xml"}},
        ["/operator/logFormat", "'plain', 'full', 'json'"],
    ),
    "unknown log level": (
        {"operator": {"logLevel": "TRACE"}},
        ["/operator/logLevel", "'DEBUG', 'INFO', 'WARNING', 'ERROR'"],
    ),
    "two replicas without leader election": (
        {"replicaCount": 2},
        ["/replicaCount", "maximum", "/leaderElection/enabled", "must be true"],
    ),
    "negative replicas": ({"replicaCount": -1}, ["/replicaCount", "minimum"]),
    "bad image pull policy": (
        {"image": {"pullPolicy": "Sometimes"}},
        ["/image/pullPolicy", "'Always', 'IfNotPresent', 'Never'"],
    ),
    "digest that is no digest": ({"image": {"digest": "latest"}}, ["/image/digest"]),
    "empty image repository": ({"image": {"repository": ""}}, ["/image/repository"]),
    "misspelt top-level key": ({"replicas": 2}, ["additional properties 'replicas'"]),
    "misspelt nested key": (
        {"operator": {"pollSeconds": 5}},
        ["/operator", "additional properties 'pollSeconds'"],
    ),
    "dev credentials without a password": (
        {"credentials": {"create": True, "tenantId": "t", "username": "u"}},
        ["/credentials/password"],
    ),
    "dev credentials and an existing Secret": (
        {
            "credentials": {
                "create": True,
                "existingSecret": "mine",
                "tenantId": "t",
                "username": "u",
                "password": "p",
            }
        },
        ["/credentials/existingSecret"],
    ),
    "existing Secret with an invalid name": (
        {"credentials": {"existingSecret": "My_Secret"}},
        ["/credentials/existingSecret"],
    ),
    "identity URL without a scheme": (
        {"credentials": {"existingSecret": "s", "identityUrl": "identity.example"}},
        ["/credentials/identityUrl"],
    ),
    "webhook failure policy": (
        {"webhook": {"failurePolicy": "Retry"}},
        ["/webhook/failurePolicy", "'Fail', 'Ignore'"],
    ),
    "webhook timeout above Kubernetes' 30 s": (
        {"webhook": {"timeoutSeconds": 31}},
        ["/webhook/timeoutSeconds", "maximum"],
    ),
    "self-signed webhook with two replicas": (
        {"replicaCount": 2, "leaderElection": {"enabled": True}, "webhook": {"enabled": True}},
        ["/replicaCount", "maximum"],
    ),
    "webhook issuer kind without a name": (
        {"webhook": {"certManager": {"issuerRef": {"kind": "ClusterIssuer"}}}},
        ["/webhook/certManager/issuerRef", "name"],
    ),
    "webhook certificate duration in days": (
        {"webhook": {"certManager": {"duration": "90d"}}},
        ["/webhook/certManager/duration"],
    ),
    "namespace that is no name": ({"watchNamespaces": ["Team_A"]}, ["/watchNamespaces/0"]),
    "namespace listed twice": ({"watchNamespaces": ["a", "a"]}, ["/watchNamespaces"]),
    "Lease name that is no name": (
        {"leaderElection": {"enabled": True, "name": "NKS_HA"}},
        ["/leaderElection/name", "does not match"],
    ),
    "Lease name too long": (
        {"leaderElection": {"enabled": True, "name": "a" * 254}},
        ["/leaderElection/name", "maxLength"],
    ),
    "health port out of range": ({"health": {"port": 70000}}, ["/health/port", "maximum"]),
    "metrics service type": (
        {"metrics": {"service": {"type": "Ingress"}}},
        ["/metrics/service/type"],
    ),
    "scrape interval in words": (
        {"metrics": {"serviceMonitor": {"interval": "30 seconds"}}},
        ["/metrics/serviceMonitor/interval"],
    ),
    "CIDR with a /33": (
        {"networkPolicy": {"nks": {"cidrs": ["10.0.0.0/33"]}}},
        ["/networkPolicy/nks/cidrs/0"],
    ),
    "size limit in words": ({"tmpSizeLimit": "a lot"}, ["/tmpSizeLimit"]),
    "memory limit that is no quantity": (
        {"resources": {"limits": {"memory": "256MB"}}},
        ["/resources/limits/memory"],
    ),
    "cpu request in words": (
        {"resources": {"requests": {"cpu": "half a core"}}},
        ["/resources/requests/cpu"],
    ),
    "negative memory request": (
        {"resources": {"requests": {"memory": -1}}},
        ["/resources/requests/memory"],
    ),
    "cpu limit with a unit of time": (
        {"resources": {"limits": {"cpu": "100ms"}}},
        ["/resources/limits/cpu"],
    ),
    "misspelt resources key": (
        {"resources": {"limit": {"memory": "1Gi"}}},
        ["/resources", "additional properties 'limit'"],
    ),
    "resource name with a space": (
        {"resources": {"limits": {"my gpu": 1}}},
        ["/resources/limits", "additional properties 'my gpu'"],
    ),
    "Argo CD sync option without a value": (
        {"crds": {"argocdSyncOptions": ["Prune"]}},
        ["/crds/argocdSyncOptions/0"],
    ),
    "CRD keep as text": ({"crds": {"keep": "yes"}}, ["/crds/keep"]),
    "disruption budget of zero": (
        {"podDisruptionBudget": {"maxUnavailable": 0}},
        ["/podDisruptionBudget/maxUnavailable"],
    ),
    "readiness period of zero": (
        {"health": {"readinessProbe": {"periodSeconds": 0}}},
        ["/health/readinessProbe/periodSeconds"],
    ),
    "env entry without a name": ({"extraEnv": [{"value": "x"}]}, ["/extraEnv/0", "name"]),
    "allowed endpoint without a scheme": (
        {"nks": {"allowedEndpoints": ["nks.example.com"]}},
        ["/nks/allowedEndpoints/0", "does not match"],
    ),
    "allowed endpoint with a query": (
        {"nks": {"allowedEndpoints": ["https://nks.example.com/?x=1"]}},
        ["/nks/allowedEndpoints/0"],
    ),
    # The chart joins the list with commas: two prefixes in one entry would pass unseen.
    "two allowed endpoints in one entry": (
        {"nks": {"allowedEndpoints": ["https://a.example,https://b.example"]}},
        ["/nks/allowedEndpoints/0"],
    ),
    "allowed endpoint with user info": (
        {"nks": {"allowedEndpoints": ["https://user:pw@nks.example.com"]}},
        ["/nks/allowedEndpoints/0"],
    ),
    "answer cap below 64 KiB": (
        {"nks": {"maxAnswerBytes": 1024}},
        ["/nks/maxAnswerBytes", "minimum"],
    ),
    "zero call timeout": ({"nks": {"callTimeoutSeconds": 0}}, ["/nks/callTimeoutSeconds"]),
    "no account concurrency": (
        {"nks": {"accountConcurrency": 0}},
        ["/nks/accountConcurrency", "minimum"],
    ),
    "Argo CD namespace that is no name": (
        {"argocd": {"namespace": "Argo_CD"}},
        ["/argocd/namespace", "does not match"],
    ),
    "empty Argo CD namespace": ({"argocd": {"namespace": ""}}, ["/argocd/namespace"]),
    # kopf's exclusion syntax means nothing to these lists: refused, not silently literal.
    "default credentials namespace excluded kopf-style": (
        {"credentials": {"namespaces": ["!kube-system"]}},
        ["/credentials/namespaces/0", "does not match"],
    ),
    "Argo CD namespaces as one comma list": (
        {"argocd": {"allowedNamespaces": ["team-a,team-b"]}},
        ["/argocd/allowedNamespaces/0"],
    ),
    "Argo CD label key with a space": (
        {"argocd": {"allowedLabelKeys": ["team name"]}},
        ["/argocd/allowedLabelKeys/0"],
    ),
    "node selector with a number": ({"nodeSelector": {"zone": 1}}, ["/nodeSelector/zone"]),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_schema_rejects_with_a_clear_message(helm: Helm, case: str) -> None:
    values, expected = REJECTED[case]
    with pytest.raises(HelmError) as caught:
        helm.template(values)
    message = caught.value.stderr
    assert "values don't meet the specifications of the schema" in message
    for fragment in expected:
        assert fragment in message, f"{case}: {fragment!r} not in:\n{message}"


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_python_jsonschema_agrees(case: str) -> None:
    # The schema means the same to any draft-07 validator (editors, CI linters, Helm 3).
    values = merged(DEFAULTS, REJECTED[case][0])
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(values)), case


def test_render_time_checks_explain_the_fix(helm: Helm) -> None:
    with pytest.raises(HelmError, match="give them different ports"):
        helm.template({"health": {"port": 9090}})
    with pytest.raises(HelmError, match=r"set serviceAccount\.name"):
        helm.template({"serviceAccount": {"create": False}})


def test_schema_is_valid_draft_07_and_closed() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["additionalProperties"] is False
    # Every key of values.yaml is declared (a closed schema would otherwise reject it).
    jsonschema.validate(DEFAULTS, SCHEMA, cls=jsonschema.Draft7Validator)
    assert set(DEFAULTS) <= set(SCHEMA["properties"])


ACCEPTED: dict[str, dict[str, Any]] = {
    "defaults": {},
    "poll intervals": {
        "operator": {"fastPollSeconds": 0.5, "slowPollSeconds": 600, "errorBackoffSeconds": 5}
    },
    "leader-elected pair": {
        "replicaCount": 2,
        "leaderElection": {"enabled": True, "name": "nks.ha"},
    },
    # The Lease is in the release namespace, whatever the operator watches.
    "leader election with globs": {
        "replicaCount": 3,
        "leaderElection": {"enabled": True},
        "watchNamespaces": ["team-*", "!kube-system"],
    },
    "scaled to zero": {"replicaCount": 0},
    "dev credentials": {
        "credentials": {
            "create": True,
            "tenantId": "t",
            "username": "u",
            "password": "p",
            "identityUrl": "http://127.0.0.1:8000",
        }
    },
    "globs": {"watchNamespaces": ["team-*", "!kube-system", "a,b", "x?"]},
    "self-signed webhook": {"webhook": {"enabled": True, "failurePolicy": "Ignore"}},
    # The cert-manager mode is accepted in test_webhook.py (Helm 3 orders its kinds apart).
    "everything": {
        "image": {"repository": "reg.example/nks", "tag": "0.1.0-rc.1", "pullPolicy": "Always"},
        "watchNamespaces": ["team-a"],
        "rbac": {"aggregateClusterRoles": False},
        "credentials": {"existingSecret": "nks-credentials", "namespaces": ["team-a"]},
        "argocd": {"allowedNamespaces": ["team-a"]},
        "metrics": {"serviceMonitor": {"enabled": True, "interval": "1m30s"}},
        "networkPolicy": {"enabled": True, "kubeAPI": {"cidrs": ["10.0.0.1/32", "fd00::1/128"]}},
        "tolerations": [{"operator": "Exists"}],
        "global": {"imageRegistry": "ignored"},
    },
    "quantities of every form": {
        "resources": {
            "requests": {"cpu": "0.25", "memory": "128974848", "ephemeral-storage": "1G"},
            "limits": {"cpu": 2, "memory": "1.5Gi", "nvidia.com/gpu": 1, "hugepages-2Mi": "64Mi"},
        },
        "tmpSizeLimit": "1e9",
    },
    "tenancy and bounds": {
        "credentials": {"existingSecret": "c", "namespaces": ["platform", "team-*", "[ab]-x"]},
        "nks": {
            "allowedEndpoints": [
                "http://127.0.0.1:9511",
                "https://nks.private.example/v1/",
                "http://localhost:*",
                "https://[fd00::1]:8443",
            ],
            "maxAnswerBytes": 268435456,
            "callTimeoutSeconds": 2.5,
            "accountConcurrency": 1,
        },
        "argocd": {
            "namespace": "gitops",
            "allowedNamespaces": ["*"],
            "allowedProjects": ["{namespace}", "shared-*", "*"],
            "allowedLabelKeys": ["example.com/*", "env"],
        },
    },
    "CRDs for Argo CD": {
        "crds": {"keep": False, "argocdSyncOptions": ["Delete=false", "Prune=false"]}
    },
    "CRDs left to another release": {"crds": {"enabled": False}},
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_schema_accepts_good_values(helm: Helm, case: str) -> None:
    helm.template(ACCEPTED[case])
    jsonschema.validate(merged(DEFAULTS, ACCEPTED[case]), SCHEMA, cls=jsonschema.Draft7Validator)


def test_lint(helm: Helm) -> None:
    out = helm("lint", str(CHART), "--strict")
    assert "1 chart(s) linted, 0 chart(s) failed" in out


@pytest.mark.parametrize(
    "case", ["everything", "dev credentials", "leader-elected pair", "globs", "tenancy and bounds"]
)
def test_lint_with_values(helm: Helm, case: str) -> None:
    out = helm("lint", str(CHART), "--strict", "--values", "-", input=json.dumps(ACCEPTED[case]))
    assert "0 chart(s) failed" in out


def test_lint_reports_schema_errors(helm: Helm) -> None:
    with pytest.raises(HelmError, match="/operator/logFormat"):
        helm("lint", str(CHART), "--values", "-", input='{"operator": {"logFormat": "xml"}}')
