"""Task types of the task history (`/events`): the older guide's names, the current
edition's, and which API operation a task of each confirms.

The two editions name some tasks differently (the copy's `NODEGROUP_NODE_ACTION_NODE_STOP`
is the current `NODEGROUP_NODE_ACTION_STOP_NODE`), the copy has none for several
operations the current edition records, and which names today's service writes for the
copy's operations is unknown (docs/nks-api-notes.md, "Task names"). So a task confirming
an operation may carry any name of its `TaskKind`: compare through `same_task` /
`task_names`, never by one literal name.
"""

from __future__ import annotations

from dataclasses import dataclass

from nks_operator.nks.operations import Operation


@dataclass(frozen=True)
class TaskKind:
    """One kind of task, under every name NKS has used for it.

    `copy`: the name in the older guide copy (None: it lists none); `current`: the current
    edition's; `also`: further names the current edition may record for the same call
    (a resize: "add nodes" / "remove nodes"). `operations`: the calls it confirms (none:
    NKS records it by itself, e.g. auto healing, or for a console-only change).
    """

    copy: str | None
    current: str | None
    operations: frozenset[Operation] = frozenset()
    also: frozenset[str] = frozenset()

    @property
    def names(self) -> frozenset[str]:
        return frozenset(n for n in (self.copy, self.current, *self.also) if n is not None)

    def name(self, edition: str) -> str:
        """The name an edition records ("copy" or "current"), else the other one."""
        preferred = self.copy if edition == "copy" else self.current
        fallback = self.current if edition == "copy" else self.copy
        name = preferred or fallback
        assert name is not None  # every kind has at least one name
        return name


def _kind(
    copy: str | None, current: str | None, *operations: Operation, also: tuple[str, ...] = ()
) -> TaskKind:
    return TaskKind(copy, current, frozenset(operations), frozenset(also))


_O = Operation
TASK_KINDS: tuple[TaskKind, ...] = (
    _kind("CLUSTER_CREATE", "CLUSTER_CREATE", _O.CREATE_CLUSTER),
    _kind("CLUSTER_DELETE", "CLUSTER_DELETE", _O.DELETE_CLUSTER),
    _kind("CLUSTER_HANDOVER", "CLUSTER_HANDOVER"),
    _kind("CLUSTER_CNI_UPDATE", None, _O.UPDATE_CNI),
    _kind(None, "CLUSTER_UPDATE_VM_AUTH_KEY"),
    _kind("NODEGROUP_CREATE", "NODEGROUP_CREATE", _O.CREATE_NODEGROUP),
    _kind("NODEGROUP_DELETE", "NODEGROUP_DELETE", _O.DELETE_NODEGROUP),
    # Whether a resize records CLUSTER_RESIZE or the current edition's scale-out / scale-in
    # task is unknown: all three confirm it.
    _kind(
        "CLUSTER_RESIZE",
        "CLUSTER_RESIZE",
        _O.RESIZE_CLUSTER,
        also=("NODEGROUP_SCALE_OUT", "NODEGROUP_SCALE_IN"),
    ),
    _kind("NODEGROUP_UPDATE_FLAVOR", "NODEGROUP_UPDATE_FLAVOR", _O.CHANGE_FLAVOR),
    _kind("NODEGROUP_UPGRADE", "NODEGROUP_UPGRADE", _O.UPGRADE_NODEGROUP),
    _kind("NODEGROUP_USERSCRIPT_UPDATE", "NODEGROUP_USERSCRIPT_UPDATE", _O.UPDATE_USER_SCRIPT),
    _kind(
        "NODEGROUP_SET_CLUSTER_AUTOSCALER", "NODEGROUP_SET_CLUSTER_AUTOSCALER", _O.SET_AUTOSCALER
    ),
    _kind(None, "NODEGROUP_SET_METRIC_BASE_AUTOSCALER", _O.SET_METRIC_AUTOSCALER),
    _kind(None, "NODEGROUP_METRIC_BASE_AUTOSCALER_SCALE_OUT"),
    _kind(None, "NODEGROUP_METRIC_BASE_AUTOSCALER_SCALE_IN"),
    _kind("NODEGROUP_NODE_ACTION_NODE_START", "NODEGROUP_NODE_ACTION_START_NODE", _O.START_NODES),
    _kind("NODEGROUP_NODE_ACTION_NODE_STOP", "NODEGROUP_NODE_ACTION_STOP_NODE", _O.STOP_NODES),
    _kind(None, "CLUSTER_API_EP_IPACL_UPDATE", _O.SET_IP_ACL),
    _kind(None, "CLUSTER_UPDATE_SGW", _O.UPDATE_SERVICE_GATEWAY),
    _kind(None, "CLUSTER_ROTATE_CERTIFICATE", _O.RENEW_CERTIFICATE),
    _kind(None, "CLUSTER_UPDATE_NKS_REGISTRY"),
    _kind(None, "NODEGROUP_UPDATE_EXTRA_VOLUME"),
    _kind(None, "NODEGROUP_UPDATE_EXTRA_SECURITY_GROUP"),
    _kind(None, "CLUSTER_UPDATE_K8S_ARGS"),
    _kind(None, "CLUSTER_UPDATE_OIDC_ARGS"),
    _kind(None, "NODEGROUP_UPDATE_K8S_NODE_LABELS", _O.SET_NODE_LABELS),
    _kind(None, "CLUSTER_INSTALL_ADDON", _O.INSTALL_ADDON),
    _kind(None, "CLUSTER_UPDATE_ADDON", _O.UPDATE_ADDON),
    _kind(None, "CLUSTER_UNINSTALL_ADDON", _O.UNINSTALL_ADDON),
    _kind(None, "CLUSTER_UPDATE_CONTROL_PLANE_LOG", _O.SET_CONTROL_PLANE_LOG),
    _kind(None, "NODEGROUP_UPDATE_FIP_AUTO_BIND", _O.SET_FIP_AUTO_BIND),
    _kind(None, "K8S_API_NOT_WORKING"),
    _kind(None, "ALL_NODES_NOT_READY"),
    _kind(None, "AUTO_HEALING"),
)

_BY_NAME: dict[str, TaskKind] = {name: kind for kind in TASK_KINDS for name in kind.names}
_BY_OPERATION: dict[Operation, TaskKind] = {
    operation: kind for kind in TASK_KINDS for operation in kind.operations
}


def task_kind(name: str) -> TaskKind | None:
    """The kind a task type name belongs to (either edition's name); None: unknown name."""
    return _BY_NAME.get(name)


def kind_of(operation: Operation) -> TaskKind | None:
    """The task kind that confirms `operation`; None: NKS records no task for it (reads)."""
    return _BY_OPERATION.get(operation)


def task_names(operation: Operation) -> frozenset[str]:
    """Every task type name a task confirming `operation` may carry (empty: none)."""
    kind = kind_of(operation)
    return kind.names if kind is not None else frozenset()


def same_task(a: str, b: str) -> bool:
    """Two task type names of the same kind (an unknown name matches only itself)."""
    if a == b:
        return True
    kind = task_kind(a)
    return kind is not None and b in kind.names


def aliases(name: str) -> frozenset[str]:
    """Every name of `name`'s kind, `name` included (an unknown name: itself only)."""
    kind = task_kind(name)
    return kind.names if kind is not None else frozenset({name})


def confirmed_operations(name: str) -> frozenset[Operation]:
    """The operations a task of this type confirms (empty: none, or an unknown name)."""
    kind = task_kind(name)
    return kind.operations if kind is not None else frozenset()
