"""Every annotation and label name the operator reads or writes under its API group.

Users set the first three on an NKSCluster or NKSNodeGroup; the operator writes the rest
(on its kinds, and on the Secrets and records it manages).
"""

from __future__ import annotations

from nks_operator.api.resources import GROUP

# Set by users on NKSCluster / NKSNodeGroup.
PAUSED_ANNOTATION = f"{GROUP}/paused"
RECONCILE_REQUESTED_ANNOTATION = f"{GROUP}/reconcile-requested-at"
RENEW_CERTIFICATE_ANNOTATION = f"{GROUP}/renew-certificate"

# Written by the operator on its kinds. The exactly-once record: written with the
# finalizer before a create call.
CREATE_REQUESTED_ANNOTATION = f"{GROUP}/create-requested"
OWN_ANNOTATIONS: frozenset[str] = frozenset({CREATE_REQUESTED_ANNOTATION})
"""Annotations only the operator writes on its kinds: a change of these wakes nothing."""

# On the Secrets the operator writes (kubeconfig, Argo CD cluster).
CERTIFICATE_EXPIRY_ANNOTATION = f"{GROUP}/certificate-expiry"
CLUSTER_ID_ANNOTATION = f"{GROUP}/cluster-id"
CLUSTER_NAMESPACE_LABEL = f"{GROUP}/cluster-namespace"
CLUSTER_NAME_LABEL = f"{GROUP}/cluster-name"
OWNER_ANNOTATION = f"{GROUP}/cluster"
"""`<namespace>/<name>` in full, since a long name is shortened in its label."""
OWNER_UID_ANNOTATION = f"{GROUP}/cluster-uid"

# On the operator's NKSOwnership records.
OWNER_UID_LABEL = f"{GROUP}/owner-uid"
