"""The kubeconfig Secret, in Cluster API's convention so existing tools can read it."""

from __future__ import annotations

import base64
from typing import Any

from kubernetes import client

from nks_operator.api.resources import CLUSTER, GROUP, VERSION

SECRET_TYPE = "cluster.x-k8s.io/secret"
CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name"
EXPIRY_ANNOTATION = f"{GROUP}/certificate-expiry"
CLUSTER_ID_ANNOTATION = f"{GROUP}/cluster-id"


def default_name(cluster_name: str) -> str:
    return f"{cluster_name}-kubeconfig"


def build(
    owner: dict[str, Any], secret_name: str, kubeconfig: str, cluster_id: str, expiry: str | None
) -> client.V1Secret:
    meta = owner["metadata"]
    return client.V1Secret(
        api_version="v1",
        kind="Secret",
        type=SECRET_TYPE,
        metadata=client.V1ObjectMeta(
            name=secret_name,
            namespace=meta["namespace"],
            labels={CLUSTER_NAME_LABEL: meta["name"]},
            annotations={
                CLUSTER_ID_ANNOTATION: cluster_id,
                **({EXPIRY_ANNOTATION: expiry} if expiry else {}),
            },
            owner_references=[
                client.V1OwnerReference(
                    api_version=f"{GROUP}/{VERSION}",
                    kind=CLUSTER.kind,
                    name=meta["name"],
                    uid=meta["uid"],
                    controller=True,
                    block_owner_deletion=True,
                )
            ],
        ),
        data={"value": base64.b64encode(kubeconfig.encode()).decode()},
    )


def is_current(secret: client.V1Secret | None, cluster_id: str, expiry: str | None) -> bool:
    """Whether the Secret holds this cluster's kubeconfig for the current certificate."""
    if secret is None or not (secret.data or {}).get("value"):
        return False
    annotations = secret.metadata.annotations or {}
    return annotations.get(CLUSTER_ID_ANNOTATION) == cluster_id and annotations.get(
        EXPIRY_ANNOTATION
    ) == (expiry or None)


def value_of(secret: client.V1Secret | None) -> str | None:
    raw = None if secret is None else (secret.data or {}).get("value")
    return None if raw is None else base64.b64decode(raw).decode()
