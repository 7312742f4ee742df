"""NKS answers -> specs: one function per resource kind, each field read the way the
operator reads it when it compares (reconcile/day2.py, reconcile/observed.py).

Inputs are the typed answers the operator's poller works on (nks/models) and the nodes'
power states (importer/nodes.py). A field is written only when NKS reports it; what the
spec cannot hold is left out and said in `notes`, never dropped silently; what the spec
cannot say for sure (a value NKS answered unreadably, nodes whose power state is unknown)
is said in `holds`, and the resource is imported paused; a required field NKS does not
report, or an id that is not a UUID, is an error for that resource.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from nks_operator.api.annotations import RENEW_CERTIFICATE_ANNOTATION
from nks_operator.api.base import UUID_PATTERN, DeletionPolicy
from nks_operator.api.cluster import Certificate, IPAccessControl, NKSClusterSpec
from nks_operator.api.nodegroup import NKSNodeGroupSpec
from nks_operator.api.worker import MetricAutoscaler, NodeLabels
from nks_operator.importer.fitting import field_path, fit
from nks_operator.importer.inventory import ClusterRecord
from nks_operator.nks.models import IPACL, Cluster, NodeGroup
from nks_operator.nks.models import status as nks_status
from nks_operator.nks.models.labels import ClusterLabels, WorkerLabels
from nks_operator.nks.models.nodegroup import DEFAULT_WORKER
from nks_operator.nks.userscript import decode_user_script
from nks_operator.reconcile.day2 import parse_expiry
from nks_operator.reconcile.nodes import Nodes

CNIS = ("calico", "calico-ebpf")  # the values spec.network.cni can name
# Certificates expiring within the operator's default renewal window are called out.
EXPIRY_WARNING = datetime.timedelta(days=Certificate.model_fields["renew_before_days"].default)
_UUID = re.compile(UUID_PATTERN)


@dataclass(frozen=True)
class Options:
    """What the command line decides for every imported resource."""

    region: str
    credentials_secret: str | None = None
    deletion_policy: DeletionPolicy = "Retain"


@dataclass
class Mapped:
    """A spec (wire names) with what it leaves out (`notes`), what it cannot say for sure
    (`holds`: the resource is imported paused) or cannot be built from (`errors`: the
    resource cannot be imported)."""

    spec: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    holds: list[str] = field(default_factory=list)


# -- reading NKS's values ---------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A value as NKS wrote it, None for unset ("" and null); never trimmed, since the
    operator compares the exact text."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value)
    return text if text.strip() else None


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` only when NKS reported a value (absent keys take the spec's default)."""
    if value is not None and value != [] and value != {}:
        target[key] = value


def is_uuid(value: str | None) -> bool:
    return value is not None and _UUID.match(value) is not None


def _unreadable(what: str, answer: Any) -> list[str]:
    """A hold for the values of an answer NKS sent in a shape the import could not read:
    the model made them unknown (nks/models/base.py, `NKSAnswer`), so where the spec holds
    them it can only take its defaults."""
    found = getattr(answer, "unreadable", None) or {}
    if not found:
        return []
    parts = "; ".join(f"{path}: {problem}" for path, problem in sorted(found.items()))
    return [
        f"NKS's {what} has values the import could not read ({parts}): the spec cannot say "
        "what NKS has there"
    ]


# -- the worker group fields (default worker and node groups) ---------------------------


def _autoscaler(labels: WorkerLabels) -> dict[str, Any] | None:
    """The ca_* labels; absent (= off) unless NKS says the autoscaler is on."""
    if not labels.ca_enable:
        return None
    scaler: dict[str, Any] = {"enabled": True}
    _put(scaler, "minNodes", labels.ca_min_node_count)
    _put(scaler, "maxNodes", labels.ca_max_node_count)
    down: dict[str, Any] = {}
    _put(down, "enabled", labels.ca_scale_down_enable)
    _put(down, "unneededTimeMinutes", labels.ca_scale_down_unneeded_time)
    _put(down, "utilizationThresholdPercent", labels.ca_scale_down_util_thresh)
    _put(down, "delayAfterAddMinutes", labels.ca_scale_down_delay_after_add)
    _put(scaler, "scaleDown", down)
    _put(scaler, "podReplicas", labels.ca_pod_replicas)
    return scaler


def _problems(error: ValidationError, prefix: str) -> str:
    return "; ".join(
        f"{field_path(prefix, e['loc'])}: {e['msg']}"
        for e in error.errors(include_input=False, include_url=False)
    )


def _node_labels(labels: WorkerLabels, notes: list[str]) -> dict[str, str] | None:
    """`k8s_node_labels` as NKS shows them; not shown: absent (left alone), as NKS's answers
    may not show them at all."""
    shown = labels.k8s_node_labels
    if shown is None:
        return None
    try:
        TypeAdapter(NodeLabels).validate_python(shown)
    except ValidationError as error:
        notes.append(
            "nodeLabels left unset (not managed): NKS's node labels do not fit the spec "
            f"({_problems(error, 'nodeLabels')})"
        )
        return None
    return dict(shown)


def _metric_autoscaler(labels: WorkerLabels, holds: list[str]) -> dict[str, Any] | None:
    """The `mba_*` policies NKS shows on; absent (= off) when none is. A policy the spec
    cannot hold holds the resource: without it the operator would change or turn off what
    NKS runs."""
    found: dict[str, Any] = {}
    for name, shown, count_name, count in (
        ("scaleOut", labels.mba_scale_out, "maxNodes", "max_node_count"),
        ("scaleIn", labels.mba_scale_in, "minNodes", "min_node_count"),
    ):
        if shown is None or not shown.enable:
            continue
        policy: dict[str, Any] = {"enabled": True}
        _put(policy, count_name, getattr(shown, count))
        _put(policy, "rulesOperator", (_text(shown.rules_operator) or "").upper() or None)
        _put(policy, "delayMinutes", shown.delay)
        _put(policy, "adjustmentCount", shown.adjustment_count)
        policy["rules"] = [
            {"metric": r.metric, "threshold": r.threshold, "durationMinutes": r.duration}
            for r in shown.rules or []
        ]
        found[name] = policy
    if not found:
        return None
    try:
        MetricAutoscaler.model_validate(found)
    except ValidationError as error:
        holds.append(
            "NKS's metric autoscaler has values the spec cannot hold "
            f"({_problems(error, 'metricAutoscaler')}): the spec cannot say what NKS runs"
        )
    return found


def _floating_ip(labels: WorkerLabels, notes: list[str]) -> dict[str, Any] | None:
    """`fip_*` as NKS shows them; not shown: absent (left alone)."""
    enabled = labels.fip_auto_bind_enable
    if enabled is None:
        return None
    fip: dict[str, Any] = {"enabled": enabled}
    subnet = _text(labels.fip_bind_subnet)
    if subnet is not None and is_uuid(subnet):
        fip["subnetID"] = subnet
    elif enabled:
        notes.append(
            f"floatingIPAutoBind left unset (not managed): NKS shows it on with the subnet "
            f"{subnet!r}, not a subnet UUID"
        )
        return None
    _put(fip, "selector", _text(labels.fip_selector))
    return fip


def _additional_networks(labels: WorkerLabels, notes: list[str]) -> list[dict[str, str]]:
    networks = labels.additional_network_ids or []
    subnets = labels.additional_subnet_ids or []
    if len(networks) != len(subnets):
        notes.append(
            f"additionalNetworks left out: NKS lists {len(networks)} network(s) and "
            f"{len(subnets)} subnet(s), which do not pair up"
        )
        return []
    return [{"networkID": n, "subnetID": s} for n, s in zip(networks, subnets, strict=True)]


def _extra_security_groups(labels: WorkerLabels) -> list[dict[str, Any]]:
    return [
        {"targetSubnetID": group.target_subnet, "securityGroupIDs": list(group.security_group_ids)}
        for group in labels.extra_security_groups or []
    ]


def _extra_volumes(labels: WorkerLabels, notes: list[str]) -> list[dict[str, Any]]:
    volumes = []
    for index, item in enumerate(labels.extra_volumes or []):
        volume: dict[str, Any] = {"type": item.volume_type, "sizeGB": item.volume_size}
        _put(volume, "mountPath", _text(item.volume_mount_path))
        if _text(item.volume_key_id):
            notes.append(
                f"extraVolumes[{index}] is encrypted: keyID is not imported (it is only used "
                "when creating, together with an appkey Secret the import cannot know)"
            )
        volumes.append(volume)
    return volumes


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_text(script: str) -> bool:
    return all(char.isprintable() or char in "\t\n\r\f\v" for char in script)


def _user_script(labels: WorkerLabels, notes: list[str]) -> str | None:
    """The script `user_script_v2` holds: base64 of the script on the wire (nks/userscript.py),
    or the plain script; the operator compares through the same codec
    (reconcile/day2.py, `user_script_matches_spec`)."""
    wire = labels.user_script_v2
    if _text(wire) is None:
        if _text(labels.user_script) is not None:
            notes.append(
                "a user script is set in the old user_script label, which the spec does not "
                "manage; userScript left unset (the operator leaves it alone)"
            )
        return None
    assert wire is not None
    script = decode_user_script(wire)
    if script is not None and _is_text(script):
        return script
    if not _is_base64(wire):
        return wire  # not base64: the plain script
    notes.append(
        "the user script label (user_script_v2) holds base64 of something that is not text "
        "(binary data or control characters); userScript left unset (the operator leaves the "
        "script alone)"
    )
    return None


def worker_spec(group: NodeGroup | Cluster, cluster: Cluster | None = None) -> Mapped:
    """The WorkerSpec fields of one worker group, from its node group GET (for the default
    worker, the cluster GET when the group itself could not be read). The availability
    zone and boot volume type a group does not report (the guide's own example has `""`)
    come from `cluster`: required by the spec, they only matter when creating, and the
    operator compares them only when NKS reports them."""
    labels = group.labels
    inherited = cluster.labels if cluster is not None else ClusterLabels()
    spec: dict[str, Any] = {}
    notes: list[str] = []
    errors: list[str] = []
    holds: list[str] = []

    def required(key: str, value: str | None, source: str) -> str | None:
        fallback = _text(getattr(inherited, source, None))
        if value is None and fallback is not None:
            value = fallback
            notes.append(f"{key}: NKS reports no {source} for the group; the cluster's is used")
        if value is None:
            errors.append(f"NKS reports no {source}; {key} is required")
        return value

    _put(spec, "flavorID", required("flavorID", _text(group.flavor_id), "flavor_id"))
    image = _text(getattr(group, "image_id", None)) or _text(labels.node_image)
    _put(spec, "imageID", required("imageID", image, "node_image"))
    zone = _text(labels.availability_zone)
    _put(spec, "availabilityZone", required("availabilityZone", zone, "availability_zone"))
    autoscaler = _autoscaler(labels)
    count = group.node_count
    if count is not None and autoscaler is not None:
        # Ignored while the autoscaler is on, but the spec keeps it within its bounds.
        low, high = autoscaler.get("minNodes", 1), autoscaler.get("maxNodes", 10)
        if not low <= count <= high:
            notes.append(
                f"nodeCount {count} lies outside the autoscaler's {low}..{high}; set to "
                f"{min(max(count, low), high)} (ignored while the autoscaler is on)"
            )
            count = min(max(count, low), high)
    _put(spec, "nodeCount", count)
    volume: dict[str, Any] = {}
    volume_type = _text(labels.boot_volume_type)
    _put(volume, "type", required("bootVolume.type", volume_type, "boot_volume_type"))
    _put(volume, "sizeGB", labels.boot_volume_size)
    if _text(labels.boot_volume_key_id):
        notes.append(
            "the boot volume is encrypted: bootVolume.keyID is not imported (it is only used "
            "when creating, together with an appkey Secret the import cannot know)"
        )
    spec["bootVolume"] = volume
    _put(spec, "autoscaler", autoscaler)
    _put(spec, "userScript", _user_script(labels, notes))
    _put(spec, "additionalNetworks", _additional_networks(labels, notes))
    _put(spec, "extraSecurityGroups", _extra_security_groups(labels))
    _put(spec, "extraVolumes", _extra_volumes(labels, notes))
    _put(spec, "nodeLabels", _node_labels(labels, notes))
    _put(spec, "metricAutoscaler", _metric_autoscaler(labels, holds))
    _put(spec, "floatingIPAutoBind", _floating_ip(labels, notes))
    return Mapped(spec, notes, errors, holds)


# -- NKSCluster -------------------------------------------------------------------------


def _network(cluster: Cluster, notes: list[str]) -> dict[str, Any]:
    labels = cluster.labels
    network: dict[str, Any] = {}
    _put(network, "vpcNetworkID", _text(cluster.fixed_network))
    _put(network, "subnetID", _text(cluster.fixed_subnet))
    _put(network, "externalNetworkID", _text(labels.external_network_id))
    subnets = list(labels.external_subnet_ids or [])
    odd = [subnet for subnet in subnets if not is_uuid(subnet)]
    if odd:
        # All or none: a partial list would differ from NKS's, which the operator refuses.
        notes.append(
            f"network.externalSubnetIDs left out: NKS lists {', '.join(map(repr, odd))}, not a UUID"
        )
    else:
        _put(network, "externalSubnetIDs", subnets)
    _put(network, "podsNetworkCIDR", _text(labels.pods_network_cidr))
    _put(network, "podsNetworkSubnet", labels.pods_network_subnet)
    _put(network, "serviceClusterIPRange", _text(labels.service_cluster_ip_range))
    cni = (_text(labels.cni_driver) or "").lower()
    if cni in CNIS:
        network["cni"] = cni
    elif cni:
        notes.append(
            f"NKS reports the CNI {cni!r}, which spec.network.cni cannot name; left unset "
            "(the operator leaves the CNI alone; `cni: calico` would migrate to Calico)"
        )
    return network


def _ip_access_control(
    acl: IPACL | None, error: str | None, notes: list[str]
) -> dict[str, Any] | None:
    """GET api_ep_ipacl -> spec.apiEndpoint.ipAccessControl; None leaves it unmanaged."""
    if acl is None:
        notes.append(
            f"apiEndpoint.ipAccessControl left unset (not managed): NKS did not answer "
            f"the IP ACL read ({error or 'no answer'})"
        )
        return None
    if acl.enable is None or (acl.enable and acl.ipacl_targets is None):
        parts = "; ".join(f"{k}: {v}" for k, v in sorted(acl.unreadable.items()))
        notes.append(
            "apiEndpoint.ipAccessControl left unset (not managed): NKS's IP ACL answer has "
            f"values the import could not read ({parts or 'enable'})"
        )
        return None
    if not acl.enable:
        return {"enabled": False}
    targets = []
    for target in acl.ipacl_targets or []:
        entry = {"cidr": target.cidr_address}
        _put(entry, "description", _text(target.description))
        targets.append(entry)
    result = {"enabled": True, "action": (acl.action or "").upper(), "targets": targets}
    try:
        IPAccessControl.model_validate(result)
    except ValidationError as invalid:
        reasons = "; ".join(
            f"{field_path('ipAccessControl', e['loc'])}: {e['msg']}"
            for e in invalid.errors(include_input=False, include_url=False)
        )
        notes.append(
            "apiEndpoint.ipAccessControl left unset (not managed): NKS's IP ACL does not fit "
            f"the spec ({reasons})"
        )
        return None
    return result


def _service_gateways(labels: ClusterLabels) -> dict[str, str]:
    gateways: dict[str, str] = {}
    _put(gateways, "ncr", _text(labels.ncr_sgw))
    _put(gateways, "obs", _text(labels.obs_sgw))
    return gateways


def _certificate(labels: ClusterLabels, now: datetime.datetime, notes: list[str]) -> dict[str, Any]:
    """Auto-renewal off: a renewal replaces the certificate, and kubeconfigs handed out
    before it may stop working (only the operator's own Secret is refreshed), so the
    import never decides one, now or later. The validity NKS reports is kept for when
    renewal is turned on or requested."""
    certificate: dict[str, Any] = {"autoRenew": False}
    _put(certificate, "validityYears", labels.term_of_validity)
    expiry = parse_expiry(_text(labels.certificate_expiry))
    if expiry is not None and expiry - EXPIRY_WARNING <= now:
        notes.append(
            f"the cluster certificate expires {labels.certificate_expiry}: renew it "
            f"with the annotation {RENEW_CERTIFICATE_ANNOTATION}, or set "
            "certificate.autoRenew (imported as false)"
        )
    return certificate


def _addons(record: ClusterRecord, notes: list[str]) -> list[dict[str, Any]] | None:
    """spec.addons: every add-on NKS reports installed, at its version and with the option
    values NKS shows, so the operator keeps them as they are (reconcile/addons.py: an entry
    NKS runs as listed is neither sent nor checked against the catalogue). None (NKS's
    list unknown) leaves add-ons unmanaged."""
    if record.addons is None:
        notes.append(
            "addons left unset (not managed: the operator leaves them as NKS has them): NKS "
            f"did not answer the add-on list ({record.addons_error or 'no answer'})"
        )
        return None
    entries = []
    for addon in sorted(record.addons, key=lambda a: (a.name or "", a.uuid)):
        name, version = _text(addon.name), _text(addon.version)
        if name is None or version is None:
            notes.append(
                f"add-on {addon.uuid} left out of addons (not managed): NKS reports no name "
                "or version for it"
            )
            continue
        entry: dict[str, Any] = {"name": name, "version": version}
        _put(entry, "options", dict(addon.options or {}))
        entries.append(entry)
        if not nks_status.is_stable(addon.status):
            notes.append(
                f"add-on {name} is {addon.status or 'of unknown status'} in NKS: the operator "
                "installs or updates nothing while it is in progress, and applies a failed "
                "one again only after the spec changes"
            )
    return entries


def _etcd_encryption(labels: ClusterLabels) -> dict[str, str] | None:
    """The SKM key etcd is encrypted with (`labels.skm`), immutable: imported so the spec
    says what NKS has."""
    key = None if labels.skm is None else _text(labels.skm.key_id)
    return None if key is None else {"keyID": key}


def _control_plane_log(labels: ClusterLabels, notes: list[str]) -> None:
    """Not imported: the app key of Log & Crash Search is a secret the import cannot write
    into a spec, and whether NKS shows the setting at all is unknown."""
    shown = labels.control_plane_log
    if shown is not None and shown.enable:
        notes.append(
            f"controlPlaneLog left unset (not managed): NKS ships the control-plane logs "
            f"({shown.type or 'destination unknown'}); set spec.controlPlaneLog (with an "
            "appKeySecretRef for Log & Crash Search) to manage it"
        )


def _stopped_default_worker_nodes(nodes: Nodes | None) -> list[str]:
    stopped = [node for node in (nodes.states if nodes else None) or () if node.stopped]
    if not stopped:
        return []
    names = ", ".join(f"{node.name} ({node.id})" for node in stopped)
    return [
        f"default-worker has stopped node(s) {names}: spec.defaultWorker cannot list "
        "stopped nodes, and the operator neither stops nor starts default-worker nodes"
    ]


def cluster_spec(
    record: ClusterRecord,
    *,
    name: str,
    options: Options,
    now: datetime.datetime | None = None,
    default_nodes: Nodes | None = None,
) -> Mapped:
    """The NKSCluster spec of one NKS cluster; `name` is its metadata name,
    `default_nodes` the default worker's nodes (what the spec cannot say about them is
    noted)."""
    now = now or datetime.datetime.now(datetime.UTC)
    cluster = record.cluster
    labels = cluster.labels
    notes: list[str] = []
    errors: list[str] = []
    holds = _unreadable("cluster answer", cluster)
    spec: dict[str, Any] = {}
    if record.name != name:
        spec["clusterName"] = record.name
    if not is_uuid(record.uuid):
        # Never left out: without clusterID the operator would create a new cluster.
        errors.append(f"NKS lists the cluster's id as {record.uuid!r}, which is not a UUID")
    spec["clusterID"] = record.uuid
    spec["deletionPolicy"] = options.deletion_policy
    spec["region"] = options.region.lower()
    if options.credentials_secret:
        spec["credentialsRef"] = {"name": options.credentials_secret}
    version = _text(cluster.kubernetes_version)
    if version is None:
        errors.append("NKS reports no Kubernetes version (kube_tag, coe_version)")
    _put(spec, "kubernetesVersion", version)
    keypair = _text(cluster.keypair)
    if keypair is None:
        errors.append("NKS reports no keypair; spec.keypair is required")
    _put(spec, "keypair", keypair)
    spec["network"] = _network(cluster, notes)
    endpoint: dict[str, Any] = {}
    _put(endpoint, "publicIP", labels.master_lb_floating_ip_enabled)
    acl = _ip_access_control(record.ip_acl, record.ip_acl_error, notes)
    _put(endpoint, "ipAccessControl", acl)
    _put(spec, "apiEndpoint", endpoint)
    _put(spec, "serviceGateways", _service_gateways(labels))
    _put(spec, "strictSecurityGroupRules", labels.strict_sg_rules)
    spec["certificate"] = _certificate(labels, now, notes)
    _put(spec, "addons", _addons(record, notes))
    _put(spec, "etcdEncryption", _etcd_encryption(labels))
    _control_plane_log(labels, notes)
    worker = _default_worker(record, default_nodes)
    spec["defaultWorker"] = worker.spec
    notes += worker.notes
    errors += worker.errors
    holds += worker.holds
    if errors:
        return Mapped(spec, notes, errors, holds)
    fitted = fit(NKSClusterSpec, spec)
    return Mapped(spec, notes + fitted.notes, fitted.errors, holds)


def _default_worker(record: ClusterRecord, default_nodes: Nodes | None) -> Mapped:
    """spec.defaultWorker: from the default-worker group, else from the cluster's fields."""
    notes: list[str] = []
    holds: list[str] = []
    group = record.default_worker
    if group is None:
        notes.append(
            "NKS lists no default-worker node group; defaultWorker comes from the cluster's "
            "own fields (nodeCount is the cluster's total)"
        )
        if record.unreadable_groups:
            holds.append(
                "NKS listed node group(s) the import could not read, one of which may be "
                f"{DEFAULT_WORKER}: {'; '.join(record.unreadable_groups)}"
            )
    else:
        holds += _unreadable(f"{DEFAULT_WORKER} answer", group)
    cluster = record.cluster
    worker = worker_spec(group, cluster) if group is not None else worker_spec(cluster)
    notes += [f"defaultWorker: {note}" for note in worker.notes]
    notes += _stopped_default_worker_nodes(default_nodes)
    errors = [f"defaultWorker: {error}" for error in worker.errors]
    holds += [f"defaultWorker: {hold}" for hold in worker.holds]
    return Mapped(worker.spec, notes, errors, holds)


# -- NKSNodeGroup -----------------------------------------------------------------------


def _stopped_nodes(nodes: Nodes, spec: dict[str, Any], holds: list[str]) -> None:
    """`stoppedNodes`: what the operator, reading the same servers, would find stopped - so
    it neither starts nor stops a node (reconcile/day2.py). Unknown: nothing is listed,
    and the resource is held, since the spec cannot say which nodes are stopped."""
    if nodes.states is None:
        holds.append(
            f"the nodes' power states could not be read from the compute API ({nodes.problem}): "
            "stoppedNodes cannot say which nodes are stopped"
        )
        return
    _put(spec, "stoppedNodes", nodes.stopped)


def nodegroup_spec(
    group: NodeGroup,
    *,
    name: str,
    cluster_name: str,
    cluster_version: str | None,
    options: Options,
    nodes: Nodes,
    cluster: Cluster | None = None,
) -> Mapped:
    """The NKSNodeGroup spec of one node group; `name` is its metadata name,
    `cluster_name` the metadata name of its NKSCluster, `cluster` NKS's cluster GET,
    `cluster_version` the version the NKSCluster asks for (the one the group follows
    unless it pins its own) and `nodes` the group's nodes with their power states."""
    spec: dict[str, Any] = {"clusterRef": {"name": cluster_name}}
    errors: list[str] = []
    holds = _unreadable("node group answer", group)
    nks_name = group.name or ""
    if nks_name != name:
        spec["nodeGroupName"] = nks_name
    if not is_uuid(group.uuid):
        # Never left out: without nodeGroupID the operator would create a new node group.
        errors.append(f"NKS lists the node group's id as {group.uuid!r}, which is not a UUID")
    spec["nodeGroupID"] = group.uuid
    spec["deletionPolicy"] = options.deletion_policy
    version = _text(group.kubernetes_version) or _text(group.version)
    if version is not None and version != cluster_version:
        # A group behind the control plane stays where it is instead of being upgraded.
        spec["kubernetesVersion"] = version
    worker = worker_spec(group, cluster)
    spec.update(worker.spec)
    _stopped_nodes(nodes, spec, holds)
    errors += worker.errors
    holds += worker.holds
    if errors:
        return Mapped(spec, worker.notes, errors, holds)
    fitted = fit(NKSNodeGroupSpec, spec)
    return Mapped(spec, worker.notes + fitted.notes, fitted.errors, holds)
