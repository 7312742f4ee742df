"""NKS answers -> specs: one function per resource kind, each field read the way the
operator reads it when it compares (reconcile/day2.py, reconcile/observed.py).

Inputs are the wire dicts the operator's poller works on. A field is written only when NKS
reports it; what the spec cannot hold is left out and said in `notes`, never dropped
silently, and a required field NKS does not report is an error for that resource.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from nks_operator.api.base import DeletionPolicy
from nks_operator.api.cluster import Certificate, IPAccessControl, NKSClusterSpec
from nks_operator.api.nodegroup import NKSNodeGroupSpec
from nks_operator.importer.fitting import field_path, fit
from nks_operator.importer.inventory import ClusterRecord
from nks_operator.reconcile.day2 import parse_expiry, stopped_nodes
from nks_operator.reconcile.observed import colon_list, label_flag, labels_of

CNIS = ("calico", "calico-ebpf")  # the values spec.network.cni can name
# Certificates expiring within the operator's default renewal window are called out.
EXPIRY_WARNING = datetime.timedelta(days=Certificate.model_fields["renew_before_days"].default)


@dataclass(frozen=True)
class Options:
    """What the command line decides for every imported resource."""

    region: str
    credentials_secret: str | None = None
    deletion_policy: DeletionPolicy = "Retain"


@dataclass
class Mapped:
    """A spec (wire names) with what it leaves out (`notes`) or cannot be built from
    (`errors`: the resource cannot be imported)."""

    spec: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# -- reading NKS's values ---------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A value as NKS wrote it, None for unset ("" and null); never trimmed, since the
    operator compares the exact text."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value)
    return text if text.strip() else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` only when NKS reported a value (absent keys take the spec's default)."""
    if value is not None and value != [] and value != {}:
        target[key] = value


# -- the worker group fields (default worker and node groups) ---------------------------


def _autoscaler(labels: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ca_* labels; absent (= off) unless NKS says the autoscaler is on."""
    if not label_flag(labels.get("ca_enable")):
        return None
    scaler: dict[str, Any] = {"enabled": True}
    _put(scaler, "minNodes", _int(labels.get("ca_min_node_count")))
    _put(scaler, "maxNodes", _int(labels.get("ca_max_node_count")))
    down: dict[str, Any] = {}
    _put(down, "enabled", label_flag(labels.get("ca_scale_down_enable")))
    _put(down, "unneededTimeMinutes", _int(labels.get("ca_scale_down_unneeded_time")))
    _put(down, "utilizationThresholdPercent", _int(labels.get("ca_scale_down_util_thresh")))
    _put(down, "delayAfterAddMinutes", _int(labels.get("ca_scale_down_delay_after_add")))
    _put(scaler, "scaleDown", down)
    return scaler


def _additional_networks(labels: Mapping[str, Any], notes: list[str]) -> list[dict[str, str]]:
    networks = colon_list(labels.get("additional_network_id_list"))
    subnets = colon_list(labels.get("additional_subnet_id_list"))
    if len(networks) != len(subnets):
        if networks or subnets:
            notes.append(
                f"additionalNetworks left out: NKS lists {len(networks)} network(s) and "
                f"{len(subnets)} subnet(s), which do not pair up"
            )
        return []
    return [{"networkID": n, "subnetID": s} for n, s in zip(networks, subnets, strict=True)]


def _entries(value: Any, what: str, notes: list[str]) -> list[dict[str, Any]]:
    """A label holding a list of objects (NKS may send "" or nothing for none)."""
    if value is None or value == "" or value == []:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        notes.append(f"{what} left out: NKS's value is not a list of objects")
        return []
    return value


def _extra_security_groups(labels: Mapping[str, Any], notes: list[str]) -> list[dict[str, Any]]:
    groups = []
    for item in _entries(labels.get("extra_security_groups"), "extraSecurityGroups", notes):
        ids = item.get("security_group_ids")  # comma-joined on the wire
        parts = [str(i) for i in ids] if isinstance(ids, list) else str(ids or "").split(",")
        groups.append(
            {
                "targetSubnetID": _text(item.get("target_subnet")),
                "securityGroupIDs": [part.strip() for part in parts if part.strip()],
            }
        )
    return groups


def _extra_volumes(labels: Mapping[str, Any], notes: list[str]) -> list[dict[str, Any]]:
    volumes = []
    for index, item in enumerate(_entries(labels.get("extra_volumes"), "extraVolumes", notes)):
        volume: dict[str, Any] = {
            "type": _text(item.get("volume_type")),
            "sizeGB": _int(item.get("volume_size")),
        }
        _put(volume, "mountPath", _text(item.get("volume_mount_path")))
        if _text(item.get("volume_key_id")):
            notes.append(
                f"extraVolumes[{index}] is encrypted: keyID is not imported (it is only used "
                "when creating, together with an appkey Secret the import cannot know)"
            )
        volumes.append(volume)
    return volumes


def worker_spec(group: Mapping[str, Any], cluster: Mapping[str, Any] | None = None) -> Mapped:
    """The WorkerSpec fields of one worker group, from its node group GET (for the default
    worker, the cluster GET when the group itself could not be read). The availability
    zone and boot volume type a group does not report (the guide's own example has `""`)
    come from `cluster`: required by the spec, they only matter when creating, and the
    operator compares them only when NKS reports them."""
    labels = labels_of(dict(group))
    inherited = labels_of(dict(cluster or {}))
    spec: dict[str, Any] = {}
    notes: list[str] = []
    errors: list[str] = []

    def required(key: str, value: str | None, source: str) -> str | None:
        if value is None and _text(inherited.get(source)) is not None:
            value = _text(inherited.get(source))
            notes.append(f"{key}: NKS reports no {source} for the group; the cluster's is used")
        if value is None:
            errors.append(f"NKS reports no {source}; {key} is required")
        return value

    _put(spec, "flavorID", required("flavorID", _text(group.get("flavor_id")), "flavor_id"))
    image = _text(group.get("image_id")) or _text(labels.get("node_image"))
    _put(spec, "imageID", required("imageID", image, "node_image"))
    zone = _text(labels.get("availability_zone"))
    _put(spec, "availabilityZone", required("availabilityZone", zone, "availability_zone"))
    autoscaler = _autoscaler(labels)
    count = _int(group.get("node_count"))
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
    volume_type = _text(labels.get("boot_volume_type"))
    _put(volume, "type", required("bootVolume.type", volume_type, "boot_volume_type"))
    _put(volume, "sizeGB", _int(labels.get("boot_volume_size")))
    if _text(labels.get("boot_volume_key_id")):
        notes.append(
            "the boot volume is encrypted: bootVolume.keyID is not imported (it is only used "
            "when creating, together with an appkey Secret the import cannot know)"
        )
    spec["bootVolume"] = volume
    _put(spec, "autoscaler", autoscaler)
    script = labels.get("user_script_v2")
    if _text(script) is not None:
        spec["userScript"] = script
    elif _text(labels.get("user_script")) is not None:
        notes.append(
            "a user script is set in the old user_script label, which the spec does not "
            "manage; userScript left unset (the operator leaves it alone)"
        )
    _put(spec, "additionalNetworks", _additional_networks(labels, notes))
    _put(spec, "extraSecurityGroups", _extra_security_groups(labels, notes))
    _put(spec, "extraVolumes", _extra_volumes(labels, notes))
    return Mapped(spec, notes, errors)


# -- NKSCluster -------------------------------------------------------------------------


def _network(details: Mapping[str, Any], labels: Mapping[str, Any], notes: list[str]) -> dict:
    network: dict[str, Any] = {
        "vpcNetworkID": _text(details.get("fixed_network")),
        "subnetID": _text(details.get("fixed_subnet")),
    }
    _put(network, "externalNetworkID", _text(labels.get("external_network_id")))
    _put(network, "externalSubnetIDs", colon_list(labels.get("external_subnet_id_list")))
    _put(network, "podsNetworkCIDR", _text(labels.get("pods_network_cidr")))
    _put(network, "podsNetworkSubnet", _int(labels.get("pods_network_subnet")))
    _put(network, "serviceClusterIPRange", _text(labels.get("service_cluster_ip_range")))
    cni = (_text(labels.get("cni_driver")) or "").lower()
    if cni in CNIS:
        network["cni"] = cni
    elif cni:
        notes.append(
            f"NKS reports the CNI {cni!r}, which spec.network.cni cannot name; left unset "
            "(the operator leaves the CNI alone; `cni: calico` would migrate to Calico)"
        )
    return network


def _ip_access_control(
    acl: Mapping[str, Any] | None, error: str | None, notes: list[str]
) -> dict[str, Any] | None:
    """GET api_ep_ipacl -> spec.apiEndpoint.ipAccessControl; None leaves it unmanaged."""
    if acl is None:
        notes.append(
            f"apiEndpoint.ipAccessControl left unset (not managed): NKS did not answer "
            f"the IP ACL read ({error or 'no answer'})"
        )
        return None
    if not label_flag(acl.get("enable")):
        return {"enabled": False}
    targets = []
    for target in acl.get("ipacl_targets") or []:
        entry = {"cidr": _text(target.get("cidr_address"))}
        _put(entry, "description", _text(target.get("description")))
        targets.append(entry)
    result = {
        "enabled": True,
        "action": (_text(acl.get("action")) or "").upper(),
        "targets": targets,
    }
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


def _service_gateways(labels: Mapping[str, Any]) -> dict[str, str]:
    gateways: dict[str, str] = {}
    _put(gateways, "ncr", _text(labels.get("ncr_sgw")))
    _put(gateways, "obs", _text(labels.get("obs_sgw")))
    return gateways


def _certificate(labels: Mapping[str, Any], now: datetime.datetime, notes: list[str]) -> dict:
    """Auto-renewal off: a renewal replaces the certificate, and kubeconfigs handed out
    before it may stop working (only the operator's own Secret is refreshed), so the
    import never decides one, now or later. The validity NKS reports is kept for when
    renewal is turned on or requested."""
    certificate: dict[str, Any] = {"autoRenew": False}
    _put(certificate, "validityYears", _int(labels.get("term_of_validity")))
    expiry = parse_expiry(_text(labels.get("certificate_expiry")))
    if expiry is not None and expiry - EXPIRY_WARNING <= now:
        notes.append(
            f"the cluster certificate expires {labels.get('certificate_expiry')}: renew it "
            "with the annotation nks.nhncloud.com/renew-certificate, or set "
            "certificate.autoRenew (imported as false)"
        )
    return certificate


def cluster_spec(
    record: ClusterRecord,
    *,
    name: str,
    options: Options,
    now: datetime.datetime | None = None,
) -> Mapped:
    """The NKSCluster spec of one NKS cluster; `name` is its metadata name."""
    now = now or datetime.datetime.now(datetime.UTC)
    details = record.details
    labels = labels_of(details)
    notes: list[str] = []
    errors: list[str] = []
    spec: dict[str, Any] = {}
    if record.name != name:
        spec["clusterName"] = record.name
    spec["clusterID"] = record.uuid
    spec["deletionPolicy"] = options.deletion_policy
    spec["region"] = options.region
    if options.credentials_secret:
        spec["credentialsRef"] = {"name": options.credentials_secret}
    version = _text(labels.get("kube_tag")) or _text(details.get("coe_version"))
    if version is None:
        errors.append("NKS reports no Kubernetes version (kube_tag, coe_version)")
    _put(spec, "kubernetesVersion", version)
    keypair = _text(details.get("keypair"))
    if keypair is None:
        errors.append("NKS reports no keypair; spec.keypair is required")
    _put(spec, "keypair", keypair)
    spec["network"] = _network(details, labels, notes)
    endpoint: dict[str, Any] = {}
    _put(endpoint, "publicIP", label_flag(labels.get("master_lb_floating_ip_enabled")))
    acl = _ip_access_control(record.ip_acl, record.ip_acl_error, notes)
    _put(endpoint, "ipAccessControl", acl)
    _put(spec, "apiEndpoint", endpoint)
    _put(spec, "serviceGateways", _service_gateways(labels))
    _put(spec, "strictSecurityGroupRules", label_flag(labels.get("strict_sg_rules")))
    spec["certificate"] = _certificate(labels, now, notes)
    group = record.default_worker
    if group is None:
        notes.append(
            "NKS lists no default-worker node group; defaultWorker comes from the cluster's "
            "own fields (nodeCount is the cluster's total)"
        )
    worker = worker_spec(group, details) if group is not None else worker_spec(details)
    spec["defaultWorker"] = worker.spec
    notes += [f"defaultWorker: {note}" for note in worker.notes]
    errors += [f"defaultWorker: {error}" for error in worker.errors]
    if group is not None:
        stopped = stopped_nodes(group, ())
        if stopped:
            notes.append(
                f"defaultWorker has stopped node(s) {', '.join(sorted(stopped))}: the spec "
                "does not model them for the default worker (left as they are)"
            )
    if errors:
        return Mapped(spec, notes, errors)
    fitted = fit(NKSClusterSpec, spec)
    return Mapped(spec, notes + fitted.notes, fitted.errors)


# -- NKSNodeGroup -----------------------------------------------------------------------


def nodegroup_spec(
    group: Mapping[str, Any],
    *,
    name: str,
    cluster_name: str,
    cluster_version: str | None,
    options: Options,
    cluster: Mapping[str, Any] | None = None,
) -> Mapped:
    """The NKSNodeGroup spec of one node group; `name` is its metadata name,
    `cluster_name` the metadata name of its NKSCluster, `cluster` NKS's cluster GET, and
    `cluster_version` the version the NKSCluster asks for (the one the group
    follows unless it pins its own)."""
    labels = labels_of(dict(group))
    spec: dict[str, Any] = {"clusterRef": {"name": cluster_name}}
    nks_name = str(group.get("name") or "")
    if nks_name != name:
        spec["nodeGroupName"] = nks_name
    spec["nodeGroupID"] = str(group.get("uuid"))
    spec["deletionPolicy"] = options.deletion_policy
    version = _text(labels.get("kube_tag")) or _text(group.get("version"))
    if version is not None and version != cluster_version:
        # A group behind the control plane stays where it is instead of being upgraded.
        spec["kubernetesVersion"] = version
    worker = worker_spec(group, cluster)
    spec.update(worker.spec)
    _put(spec, "stoppedNodes", sorted(stopped_nodes(group, ())))
    if worker.errors:
        return Mapped(spec, worker.notes, worker.errors)
    fitted = fit(NKSNodeGroupSpec, spec)
    return Mapped(spec, worker.notes + fitted.notes, fitted.errors)
