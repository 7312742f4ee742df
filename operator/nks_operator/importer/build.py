"""The imported resources: names, specs and the operator's verdict put together, with
everything the user must be told about each one."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from nks_operator.api.annotations import PAUSED_ANNOTATION
from nks_operator.api.cluster import NKSClusterSpec
from nks_operator.api.nodegroup import NKSNodeGroupSpec
from nks_operator.api.resources import CLUSTER, GROUP, NODEGROUP, VERSION
from nks_operator.importer import mapping, naming, verify
from nks_operator.importer.inventory import ClusterRecord, Inventory
from nks_operator.importer.mapping import Options
from nks_operator.importer.naming import Existing
from nks_operator.nks.models import NodeGroup
from nks_operator.nks.models import status as nks_status

API_VERSION = f"{GROUP}/{VERSION}"


@dataclass
class Imported:
    """One resource to print or apply, and what to say about it."""

    kind: str
    name: str
    namespace: str
    manifest: dict[str, Any]
    messages: list[str] = field(default_factory=list)
    paused: bool = False
    exists: bool = False  # a resource in the namespace already manages it: left alone

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass
class Result:
    resources: list[Imported] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # not imported, and why
    errors: list[str] = field(default_factory=list)  # cannot be imported: nothing is output
    warnings: list[str] = field(default_factory=list)  # about the whole import


def _manifest(
    kind: str, name: str, namespace: str, spec: dict[str, Any], paused: bool
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if paused:
        metadata["annotations"] = {PAUSED_ANNOTATION: "true"}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def _state(status: str | None, reason: Any) -> tuple[list[str], bool]:
    """What to say about NKS's status, and whether the resource must be imported paused."""
    if not status:
        return ["NKS reports no status for it"], False
    if nks_status.is_failed(status):
        return [
            f"NKS reports {status} ({reason or 'no reason given'}): the operator shows it as "
            "Failed and sends nothing while it stays so"
        ], False
    if not nks_status.is_in_progress(status):
        return [], False
    if nks_status.is_creation(status):
        return [f"NKS reports {status}: the spec holds the values it is being created with"], False
    return [
        f"NKS reports {status}: an operation is running, and what it changes is known only "
        "when it ends; imported paused - import again once it settles, or check the spec "
        f"and remove the annotation {PAUSED_ANNOTATION}"
    ], True


def _held(holds: list[str]) -> list[str]:
    return [
        f'{hold} - imported paused ({PAUSED_ANNOTATION}: "true"), so nothing is sent; check '
        "the spec against NKS, then remove the annotation"
        for hold in holds
    ]


def _verdict(findings: verify.Findings) -> list[str]:
    messages = []
    if findings.writes:
        messages.append(
            f"the operator would first {'; '.join(findings.writes)} - the spec cannot say what NKS "
            f'has: imported paused ({PAUSED_ANNOTATION}: "true"), so nothing is sent; '
            "reconcile the difference, then remove the annotation"
        )
    messages += [
        f"the operator would refuse the spec (InvalidSpec, nothing is sent): {problem}"
        for problem in findings.problems
    ]
    messages += [f"the operator would report: {item}" for item in findings.blocked]
    return messages


@dataclass
class _Builder:
    inventory: Inventory
    namespace: str
    options: Options
    names: naming.Names
    now: datetime.datetime
    result: Result

    def _add(self, item: Imported, spec: dict[str, Any], notes: list[str], paused: bool) -> None:
        item.manifest = _manifest(item.kind, item.name, self.namespace, spec, paused)
        if not item.exists:  # an existing resource is left as it is: nothing to say
            item.paused = paused
            item.messages = notes
        self.result.resources.append(item)

    def cluster(self, record: ClusterRecord, *, exists: bool) -> NKSClusterSpec | None:
        name = self.names.clusters[record.uuid]
        item = Imported(CLUSTER.kind, name, self.namespace, {}, exists=exists)
        default = record.default_worker
        mapped = mapping.cluster_spec(
            record,
            name=name,
            options=self.options,
            now=self.now,
            default_nodes=self.inventory.nodes(default) if default is not None else None,
        )
        if mapped.errors:
            self.result.errors += [
                f"{item.ref} (NKS cluster {record.name}, {record.uuid}): {problem}"
                for problem in mapped.errors
            ]
            return None
        spec = NKSClusterSpec.model_validate(mapped.spec)
        findings = verify.cluster_findings(spec, name, record, self.inventory.supported, self.now)
        messages, paused = _state(record.status, record.cluster.status_reason)
        self._add(
            item,
            mapped.spec,
            messages + mapped.notes + _held(mapped.holds) + _verdict(findings),
            paused or bool(mapped.holds) or bool(findings.writes),
        )
        return spec

    def nodegroup(
        self,
        group: NodeGroup,
        record: ClusterRecord,
        cluster_spec: NKSClusterSpec,
        *,
        exists: bool,
    ) -> None:
        uuid = group.uuid
        name = self.names.nodegroups[uuid]
        item = Imported(NODEGROUP.kind, name, self.namespace, {}, exists=exists)
        nodes = self.inventory.nodes(group)
        mapped = mapping.nodegroup_spec(
            group,
            name=name,
            cluster_name=self.names.clusters[record.uuid],
            cluster_version=cluster_spec.kubernetes_version,
            options=self.options,
            nodes=nodes,
            cluster=record.cluster,
        )
        if mapped.errors:
            self.result.errors += [
                f"{item.ref} (NKS node group {group.name}, {uuid}): {problem}"
                for problem in mapped.errors
            ]
            return
        spec = NKSNodeGroupSpec.model_validate(mapped.spec)
        findings = verify.nodegroup_findings(
            spec,
            name,
            group,
            cluster_spec=cluster_spec,
            cluster=record.cluster,
            supported=self.inventory.supported,
            nodes=nodes,
        )
        messages, paused = _state(group.status, group.status_reason)
        self._add(
            item,
            mapped.spec,
            messages + mapped.notes + _held(mapped.holds) + _verdict(findings),
            paused or bool(mapped.holds) or bool(findings.writes),
        )


def build(
    inventory: Inventory,
    *,
    namespace: str,
    options: Options,
    existing: Existing | None = None,
    now: datetime.datetime | None = None,
) -> Result:
    """Every resource to import, clusters first and each followed by its node groups."""
    existing = existing or Existing()
    result = Result(skipped=list(inventory.skipped))
    if inventory.servers.listing is None:
        result.warnings.append(
            f"the nodes' power states could not be read ({inventory.servers.problem}): node "
            "groups with nodes are imported paused"
        )
    clusters = []
    for record in sorted(inventory.clusters, key=lambda r: (r.name, r.uuid)):
        label = f"NKS cluster {record.name} ({record.uuid})"
        status = str(record.status or "")
        if nks_status.is_deletion(status) and not nks_status.is_failed(status):
            result.skipped.append(f"{label}: NKS is deleting it ({status}); not imported")
        elif record.uuid in existing.elsewhere:
            result.skipped.append(
                f"{label}: already managed by {existing.elsewhere[record.uuid]}; not imported"
            )
        else:
            clusters.append(record)
    skip = frozenset(
        group.uuid
        for record in clusters
        for group in record.extra_groups
        if group.uuid in existing.elsewhere
    )
    builder = _Builder(
        inventory,
        namespace,
        options,
        naming.assign(clusters, existing, skip),
        now or datetime.datetime.now(datetime.UTC),
        result,
    )
    managed = existing.managed_here()
    for record in clusters:
        spec = builder.cluster(record, exists=record.uuid in managed)
        for group in record.extra_groups:
            uuid = group.uuid
            if uuid in skip:
                result.skipped.append(
                    f"NKS node group {group.name} ({uuid}) of {record.name}: already "
                    f"managed by {existing.elsewhere[uuid]}; not imported"
                )
            elif spec is not None:
                builder.nodegroup(group, record, spec, exists=uuid in managed)
        result.skipped += [
            f"NKS listed a node group of {record.name} ({record.uuid}) the import could not "
            f"read ({entry}); not imported"
            for entry in record.unreadable_groups
        ]
    return result
