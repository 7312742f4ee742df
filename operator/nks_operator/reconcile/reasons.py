"""Every reason the operator writes into a condition or an Event, in one place.

Argo CD health checks, the admission webhook and docs/reference.md read these strings;
tests import this enum to check them, so a new reason is classified where it is added.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # -- problems a person must fix (Argo CD: Degraded) --------------------------------
    INVALID_SPEC = "InvalidSpec"
    CREDENTIALS_MISSING = "CredentialsMissing"
    CREDENTIALS_SECRET_NOT_FOUND = "CredentialsSecretNotFound"
    CREDENTIALS_INVALID = "CredentialsInvalid"
    CREDENTIALS_REJECTED = "CredentialsRejected"
    SECRET_KEY_MISSING = "SecretKeyMissing"
    CREATE_REFUSED = "CreateRefused"
    CLUSTER_NAME_IN_USE = "ClusterNameInUse"
    NODE_GROUP_NAME_IN_USE = "NodeGroupNameInUse"
    CLUSTER_NOT_FOUND = "ClusterNotFound"
    NODE_GROUP_NOT_FOUND = "NodeGroupNotFound"
    NKS_FAILED = "NKSFailed"
    # The NKS cluster or node group is managed by another NKSCluster / NKSNodeGroup.
    MANAGED_ELSEWHERE = "ManagedByAnotherResource"
    # No credentialsRef, and the admin does not let this namespace use the defaults.
    DEFAULT_CREDENTIALS_NOT_ALLOWED = "DefaultCredentialsNotAllowed"
    # The credentials Secret points at an endpoint the admin did not allow.
    ENDPOINT_NOT_ALLOWED = "EndpointNotAllowed"
    # A Secret of the name the operator would write exists and is not the operator's.
    SECRET_NOT_OWNED = "SecretNotOwned"
    # The spec asks for something the admin's policy does not permit (Argo CD).
    NOT_PERMITTED = "NotPermitted"

    # -- NKS or Kubernetes could not be used this time (retried with backoff) ---------
    NKS_UNAVAILABLE = "NKSUnavailable"
    NKS_ANSWER_INVALID = "NKSAnswerInvalid"
    KUBERNETES_UNAVAILABLE = "KubernetesUnavailable"

    # -- Ready -------------------------------------------------------------------------
    CLUSTER_READY = "ClusterReady"
    NODE_GROUP_READY = "NodeGroupReady"
    CREATING = "Creating"
    PROVISIONING = "Provisioning"
    UPDATING = "Updating"
    UPGRADING = "Upgrading"
    DELETING = "Deleting"
    PAUSED = "Paused"
    WAITING_FOR_CLUSTER = "WaitingForCluster"
    CREDENTIALS_RESOLVED = "CredentialsResolved"

    # -- Synced ------------------------------------------------------------------------
    SYNCED = "Synced"
    OBSERVED = "Observed"
    CREATE_REQUESTED = "CreateRequested"
    ADOPTED = "Adopted"
    OPERATION_REQUESTED = "OperationRequested"
    OPERATION_REFUSED = "OperationRefused"
    OPERATION_FAILED = "OperationFailed"
    UPGRADE_BLOCKED = "UpgradeBlocked"
    STOP_NODES_BLOCKED = "StopNodesBlocked"
    AUTOSCALER_BLOCKED = "AutoscalerBlocked"
    NO_UPGRADE_PATH = "NoUpgradePath"
    UNKNOWN_NODES = "UnknownNodes"
    NODE_STATE_UNKNOWN = "NodeStateUnknown"
    SERVICE_GATEWAY_BLOCKED = "ServiceGatewayBlocked"
    CNI_CHANGE_BLOCKED = "CNIChangeBlocked"
    USER_SCRIPT_NOT_APPLIED = "UserScriptNotApplied"
    SETTING_NOT_APPLIED = "SettingNotApplied"
    # An add-on change cannot be sent as specified (an option NKS does not let change, NKS
    # refuses to list the cluster's add-ons).
    ADDON_BLOCKED = "AddonBlocked"
    # NKS reports an add-on *_FAILED: not applied again until the spec changes.
    ADDON_FAILED = "AddonFailed"
    ARGOCD_REGISTRATION_FAILED = "ArgoCDRegistrationFailed"

    # -- Progressing -------------------------------------------------------------------
    IDLE = "Idle"
    WAITING = "Waiting"
    OPERATION_IN_PROGRESS = "OperationInProgress"
    OPERATION_TIMED_OUT = "OperationTimedOut"

    # -- Events only -------------------------------------------------------------------
    CREDENTIALS_ERROR = "CredentialsError"
    CREATE_UNCERTAIN = "CreateUncertain"
    OPERATION_SUCCEEDED = "OperationSucceeded"
    OPERATION_DROPPED = "OperationDropped"
    KUBECONFIG_WRITTEN = "KubeconfigWritten"
    KUBECONFIG_REFRESHED = "KubeconfigRefreshed"
    ARGOCD_REGISTERED = "ArgoCDRegistered"
    # An add-on removed from spec.addons is of a type NKS does not let remove: it stays.
    ADDON_NOT_REMOVED = "AddonNotRemoved"
    RETAINED = "Retained"
    DELETED = "Deleted"
    DELETE_REQUESTED = "DeleteRequested"
    DELETE_FAILED = "DeleteFailed"
    DELETE_REFUSED = "DeleteRefused"
    RELEASED = "Released"
    NKS_TASK_STARTED = "NKSTaskStarted"
    NKS_TASK_SUCCEEDED = "NKSTaskSucceeded"
    NKS_TASK_FAILED = "NKSTaskFailed"


# Not Ready for a reason waiting will not fix: a person must change the spec, the
# credentials or NKS itself (the Argo CD health checks call these Degraded).
NEEDS_ATTENTION: frozenset[Reason] = frozenset(
    {
        Reason.INVALID_SPEC,
        Reason.CREDENTIALS_MISSING,
        Reason.CREDENTIALS_SECRET_NOT_FOUND,
        Reason.CREDENTIALS_INVALID,
        Reason.CREDENTIALS_REJECTED,
        Reason.SECRET_KEY_MISSING,
        Reason.CREATE_REFUSED,
        Reason.CLUSTER_NAME_IN_USE,
        Reason.NODE_GROUP_NAME_IN_USE,
        Reason.CLUSTER_NOT_FOUND,
        Reason.NODE_GROUP_NOT_FOUND,
        Reason.NKS_FAILED,
        Reason.MANAGED_ELSEWHERE,
        Reason.DEFAULT_CREDENTIALS_NOT_ALLOWED,
        Reason.ENDPOINT_NOT_ALLOWED,
        Reason.SECRET_NOT_OWNED,
        Reason.NOT_PERMITTED,
    }
)

CREDENTIALS_PROBLEMS: frozenset[Reason] = frozenset(
    {
        Reason.CREDENTIALS_MISSING,
        Reason.CREDENTIALS_SECRET_NOT_FOUND,
        Reason.CREDENTIALS_INVALID,
        Reason.CREDENTIALS_REJECTED,
        Reason.DEFAULT_CREDENTIALS_NOT_ALLOWED,
        Reason.ENDPOINT_NOT_ALLOWED,
    }
)


# On Synced or Progressing: the resource runs, but a change cannot go on without a person -
# NKS refused or failed it, it cannot be sent as specified, or it passed its deadline. Argo
# CD calls these Degraded too, `kubectl get` shows them (SYNCED), and they count as
# terminal reconcile errors. Waiting (Waiting, OperationInProgress, NodeStateUnknown: a
# node between states) is not among them.
CANNOT_PROCEED: frozenset[Reason] = frozenset(
    {
        Reason.OPERATION_REFUSED,
        Reason.OPERATION_FAILED,
        Reason.OPERATION_TIMED_OUT,
        Reason.UPGRADE_BLOCKED,
        Reason.NO_UPGRADE_PATH,
        Reason.STOP_NODES_BLOCKED,
        Reason.AUTOSCALER_BLOCKED,
        Reason.UNKNOWN_NODES,
        Reason.SERVICE_GATEWAY_BLOCKED,
        Reason.CNI_CHANGE_BLOCKED,
        Reason.USER_SCRIPT_NOT_APPLIED,
        Reason.SETTING_NOT_APPLIED,
        Reason.ADDON_BLOCKED,
        Reason.ADDON_FAILED,
        Reason.ARGOCD_REGISTRATION_FAILED,
    }
)
