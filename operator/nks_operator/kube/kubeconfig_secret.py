"""The kubeconfig Secret, in Cluster API's convention so existing tools can read it.

The operator writes only a Secret it created for the NKSCluster (an owner reference to
its UID): a Secret of that name made by anyone else is left alone. What it stores is NKS's
kubeconfig reduced to what a kubeconfig for a remote cluster needs - server, embedded
certificates and keys, token - so no command (`exec`, `auth-provider`), file path or proxy
from an answer ever reaches a user's kubectl.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import yaml

from nks_operator.api.annotations import CERTIFICATE_EXPIRY_ANNOTATION, CLUSTER_ID_ANNOTATION
from nks_operator.api.resources import CLUSTER, GROUP, VERSION
from nks_operator.kube import yaml_text

SECRET_TYPE = "cluster.x-k8s.io/secret"
CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name"
EXPIRY_ANNOTATION = CERTIFICATE_EXPIRY_ANNOTATION


def default_name(cluster_name: str) -> str:
    return f"{cluster_name}-kubeconfig"


def build(
    owner: dict[str, Any], secret_name: str, kubeconfig: str, cluster_id: str, expiry: str | None
) -> dict[str, Any]:
    meta = owner["metadata"]
    annotations = {CLUSTER_ID_ANNOTATION: cluster_id}
    if expiry:
        annotations[EXPIRY_ANNOTATION] = expiry
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": SECRET_TYPE,
        "metadata": {
            "name": secret_name,
            "namespace": meta["namespace"],
            "labels": {CLUSTER_NAME_LABEL: meta["name"]},
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": CLUSTER.kind,
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "data": {"value": base64.b64encode(kubeconfig.encode()).decode()},
    }


def is_current(secret: dict[str, Any] | None, cluster_id: str, expiry: str | None) -> bool:
    """Whether the Secret holds this cluster's kubeconfig for the current certificate."""
    if secret is None or not (secret.get("data") or {}).get("value"):
        return False
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    return annotations.get(CLUSTER_ID_ANNOTATION) == cluster_id and annotations.get(
        EXPIRY_ANNOTATION
    ) == (expiry or None)


def value_of(secret: dict[str, Any] | None) -> str | None:
    raw = None if secret is None else (secret.get("data") or {}).get("value")
    if raw is None:
        return None
    try:
        return base64.b64decode(raw).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def is_owned(secret: Mapping[str, Any], owner_uid: str) -> bool:
    """Whether the operator made this Secret for the NKSCluster with `owner_uid`."""
    references = (secret.get("metadata") or {}).get("ownerReferences") or []
    return any(
        isinstance(ref, dict) and ref.get("uid") == owner_uid and ref.get("controller") is True
        for ref in references
    )


# What each section of a kubeconfig may keep: embedded material only.
_KEEP = {
    "cluster": ("server", "certificate-authority-data", "tls-server-name"),
    "user": ("client-certificate-data", "client-key-data", "token"),
    "context": ("cluster", "user", "namespace"),
}
_SECTIONS = {"clusters": "cluster", "users": "user", "contexts": "context"}


def _named_entries(entries: Any, kind: str) -> list[dict[str, Any]]:
    kept = []
    for entry in entries if isinstance(entries, list) else []:
        body = entry.get(kind) if isinstance(entry, dict) else None
        if not isinstance(body, dict) or not isinstance(entry.get("name"), str):
            continue
        fields = {k: body[k] for k in _KEEP[kind] if isinstance(body.get(k), str) and body[k]}
        kept.append({"name": entry["name"], kind: fields})
    return kept


def sanitize(kubeconfig: str) -> str:
    """NKS's kubeconfig with only the fields a remote cluster's kubeconfig needs; the text
    unchanged when nothing had to go. Raises ValueError (naming no value) when it is not a
    kubeconfig or its servers are not https URLs."""
    try:
        config = yaml_text.load(kubeconfig)
    except yaml.YAMLError:
        raise ValueError("kubeconfig: not valid YAML") from None
    if not isinstance(config, dict):
        raise ValueError("kubeconfig: not a mapping")
    clean: dict[str, Any] = {"apiVersion": "v1", "kind": "Config"}
    for section, kind in _SECTIONS.items():
        clean[section] = _named_entries(config.get(section), kind)
    if isinstance(config.get("current-context"), str):
        clean["current-context"] = config["current-context"]
    if config.get("preferences") == {}:
        clean["preferences"] = {}
    for entry in clean["clusters"]:
        server = entry["cluster"].get("server", "")
        if not server.lower().startswith("https://"):
            raise ValueError(f"kubeconfig: cluster {entry['name']!r} has no https server")
    if not clean["clusters"] or not clean["users"]:
        raise ValueError("kubeconfig: no cluster or no user")
    if clean == config:
        return kubeconfig
    return yaml_text.dump(clean)
