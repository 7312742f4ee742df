"""The kubeconfig Secret, in Cluster API's convention so existing tools can read it."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from nks_operator.api.resources import CLUSTER, GROUP, VERSION

SECRET_TYPE = "cluster.x-k8s.io/secret"
CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name"
EXPIRY_ANNOTATION = f"{GROUP}/certificate-expiry"
CLUSTER_ID_ANNOTATION = f"{GROUP}/cluster-id"


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
