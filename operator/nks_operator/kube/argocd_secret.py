"""The Argo CD cluster Secret: registers an NKS cluster so Argo CD can deploy into it.

The Secret lives in Argo CD's namespace (the admin's setting, never a resource's), so an
owner reference cannot tie it to the NKSCluster (they do not cross namespaces). Labels and
annotations naming the owner's namespace, name and UID take its place: the operator writes
and deletes only a Secret that carries them for that NKSCluster. Its server is the API
address NKS reports for the cluster, not one taken from the kubeconfig.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from nks_operator.api.annotations import (
    CLUSTER_ID_ANNOTATION,
    CLUSTER_NAME_LABEL,
    CLUSTER_NAMESPACE_LABEL,
    OWNER_ANNOTATION,
    OWNER_UID_ANNOTATION,
)
from nks_operator.api.cluster import ArgoCDRegistration
from nks_operator.kube import yaml_text

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "nks-operator"

_MAX_NAME = 253  # DNS-1123 subdomain
_MAX_LABEL_VALUE = 63
_HASH_LEN = 10


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH_LEN]


def _shorten(text: str, limit: int) -> str:
    """`text` if it fits, else a prefix plus a hash of the whole, so distinct inputs stay
    distinct; the prefix is trimmed so the result still ends in an alphanumeric."""
    if len(text) <= limit:
        return text
    prefix = text[: limit - _HASH_LEN - 1].rstrip("-._")
    return f"{prefix}-{_digest(text)}"


def secret_name(owner_namespace: str, owner_name: str) -> str:
    """`nks-<namespace>.<name>`: namespaces hold no dots, so the first dot separates the two
    and no two NKSClusters share a name, even across namespaces (one Argo CD namespace
    serves them all). Names over 253 characters are shortened with a hash."""
    return _shorten(f"nks-{owner_namespace}.{owner_name}", _MAX_NAME)


def _label_value(text: str) -> str:
    # metadata.name may run to 253 characters; label values stop at 63.
    return _shorten(text, _MAX_LABEL_VALUE)


def owner_labels(owner_namespace: str, owner_name: str) -> dict[str, str]:
    """The labels that identify the operator's Secret for one NKSCluster."""
    return {
        MANAGED_BY_LABEL: MANAGED_BY,
        CLUSTER_NAMESPACE_LABEL: owner_namespace,
        CLUSTER_NAME_LABEL: _label_value(owner_name),
    }


@dataclass(frozen=True)
class ClusterAccess:
    """What Argo CD needs to reach a cluster. Key material stays out of repr (and logs)."""

    server: str
    ca_data: str
    cert_data: str | None = field(default=None, repr=False)
    key_data: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def argocd_config(self) -> dict[str, Any]:
        """The Secret's `config` (Argo CD's ClusterConfig): always verify the server."""
        tls: dict[str, Any] = {"caData": self.ca_data, "insecure": False}
        if self.cert_data is None:
            return {"bearerToken": self.token, "tlsClientConfig": tls}
        return {"tlsClientConfig": {**tls, "certData": self.cert_data, "keyData": self.key_data}}


def _entry(entries: Any, kind: str, name: str | None) -> dict[str, Any]:
    """The `kind` body of the entry called `name` (or of the only entry when unnamed)."""
    items = [e for e in entries or [] if isinstance(e, dict)]
    found: dict[str, Any] | None
    if name is None:
        if len(items) != 1:
            raise ValueError(f"kubeconfig: no current-context and not exactly one {kind}")
        found = items[0]
    else:
        found = next((e for e in items if e.get("name") == name), None)
        if found is None:
            raise ValueError(f"kubeconfig: {kind} {name!r} not found")
    body = found.get(kind)
    if not isinstance(body, dict):
        raise ValueError(f"kubeconfig: {kind} {found.get('name')!r} has no {kind} section")
    return body


def _base64_field(section: dict[str, Any], key: str, where: str) -> str | None:
    value = section.get(key)
    if value is None or value == "":
        return None
    text = "".join(str(value).split())
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        # The value itself may be a key: name the field only.
        raise ValueError(f"kubeconfig: {where} {key} is not valid base64") from None
    return text


def parse_kubeconfig(kubeconfig_yaml: str) -> ClusterAccess:
    """Server, CA and credentials of the kubeconfig's current context.

    NKS embeds everything (`*-data` fields); file paths would point into someone else's
    disk, so they count as missing. Errors name fields, never their values."""
    try:
        config = yaml_text.load(kubeconfig_yaml)
    except yaml.YAMLError:
        # YAML errors quote the offending text, which may be key material.
        raise ValueError("kubeconfig: not valid YAML") from None
    if not isinstance(config, dict):
        raise ValueError("kubeconfig: not a mapping")

    current = config.get("current-context") or None
    if current is None and not config.get("contexts"):
        cluster = _entry(config.get("clusters"), "cluster", None)
        user = _entry(config.get("users"), "user", None)
    else:
        context = _entry(config.get("contexts"), "context", current)
        cluster = _entry(config.get("clusters"), "cluster", context.get("cluster"))
        user = _entry(config.get("users"), "user", context.get("user"))

    server = cluster.get("server")
    ca_data = _base64_field(cluster, "certificate-authority-data", "cluster")
    cert_data = _base64_field(user, "client-certificate-data", "user")
    key_data = _base64_field(user, "client-key-data", "user")
    token = user.get("token") or None

    has_pair = cert_data is not None and key_data is not None
    missing = [] if server else ["cluster server"]
    if ca_data is None:
        missing.append("cluster certificate-authority-data")
    if not has_pair and token is None:
        if cert_data is None:
            missing.append("user client-certificate-data (or token)")
        if key_data is None:
            missing.append("user client-key-data (or token)")
    if missing:
        raise ValueError(f"kubeconfig: missing {', '.join(missing)}")
    if has_pair:  # what NKS issues; a token alongside it is redundant
        return ClusterAccess(str(server), str(ca_data), cert_data=cert_data, key_data=key_data)
    return ClusterAccess(str(server), str(ca_data), token=str(token))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def build(
    owner: dict[str, Any],
    registration: ArgoCDRegistration,
    kubeconfig_yaml: str,
    cluster_id: str,
    *,
    argocd_namespace: str,
    server: str,
) -> dict[str, Any]:
    """The desired Secret manifest. Written as `data` (not `stringData`) so it compares
    directly with what the API server returns; the JSON is canonical so equal content means
    equal bytes.

    Raises ValueError when the kubeconfig lacks what Argo CD needs."""
    meta = owner["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    access = parse_kubeconfig(kubeconfig_yaml)
    values = {
        "name": registration.name or f"{namespace}/{name}",
        "server": server,
        "config": json.dumps(access.argocd_config(), sort_keys=True, separators=(",", ":")),
    }
    if registration.project:
        values["project"] = registration.project
    # Ours last: user labels must not turn the Secret into something else or hide it from
    # the owner selector (deletion would then miss it).
    labels = {
        **registration.labels,
        **owner_labels(namespace, name),
        SECRET_TYPE_LABEL: "cluster",
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": secret_name(namespace, name),
            "namespace": argocd_namespace,
            "labels": labels,
            "annotations": {
                CLUSTER_ID_ANNOTATION: cluster_id,
                OWNER_ANNOTATION: f"{namespace}/{name}",
                OWNER_UID_ANNOTATION: meta["uid"],
            },
        },
        "data": {key: _b64(value) for key, value in values.items()},
    }


def is_current(existing: dict[str, Any] | None, desired: dict[str, Any]) -> bool:
    """Whether `existing` already says what `desired` says, so nothing needs writing.

    Data and labels must match exactly: the Secret is wholly the operator's, and a label
    dropped from spec.argocd.labels must disappear (ApplicationSets select on them).
    Annotations only for the keys the operator sets; other tools may add their own."""
    if existing is None or not isinstance(existing.get("metadata"), dict):
        return False
    meta, wanted = existing["metadata"], desired["metadata"]
    if (existing.get("data") or {}) != (desired.get("data") or {}):
        return False
    if (meta.get("labels") or {}) != (wanted.get("labels") or {}):
        return False
    have = meta.get("annotations") or {}
    return all(have.get(k) == v for k, v in (wanted.get("annotations") or {}).items())


def is_owned(existing: dict[str, Any], owner_namespace: str, owner_name: str, uid: str) -> bool:
    """Whether the operator made this Secret for this NKSCluster (else it is never
    touched). Secrets of releases before the UID annotation are recognised by the owner's
    namespace and name, which only the operator writes into Argo CD's namespace."""
    meta = existing.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations: dict[str, str] = meta.get("annotations") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
        return False
    if annotations.get(OWNER_ANNOTATION) != f"{owner_namespace}/{owner_name}":
        return False
    return annotations.get(OWNER_UID_ANNOTATION, uid) == uid
