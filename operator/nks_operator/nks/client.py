"""NKSClient: one typed async method per NKS API operation.

The client adds what every call needs - the identity token (cached, renewed, one
re-authentication on 401), the `OpenStack-API-Version` header, safe retries, error
mapping, metrics and masked logging - so each method is only its path and payloads.
Method names equal the `Operation` names used by the simulator and metrics.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from nks_operator.nks.allowlist import EndpointPolicy
from nks_operator.nks.auth import CacheKey, Credentials, TokenCache
from nks_operator.nks.endpoints import Endpoints, resolve_endpoints
from nks_operator.nks.errors import InvalidResponseError, NotFoundError
from nks_operator.nks.listing import Listing, ReadEntries, UnreadableEntry
from nks_operator.nks.metrics import MetricsHook
from nks_operator.nks.models import (
    IPACL,
    ActionResponse,
    AddonInstallRequest,
    AddonType,
    AddonUpdateRequest,
    AutoscalerConfig,
    AutoscalerUpdate,
    CatalogueAddon,
    CertificateRenewal,
    Cluster,
    ClusterCreateRequest,
    CNIUpdateRequest,
    ControlPlaneLog,
    ControlPlaneLogUpdate,
    FlavorChangeRequest,
    FloatingIPAutoBind,
    FloatingIPAutoBindUpdate,
    InstalledAddon,
    IPACLAction,
    IPACLTarget,
    IPACLUpdate,
    MetricAutoscalerUpdate,
    NKSModel,
    NodeGroup,
    NodeGroupCreateRequest,
    NodeLabelsUpdate,
    NodeListRequest,
    ResizeRequest,
    ResolveConflicts,
    ScaleInPolicy,
    ScaleOutPolicy,
    ServiceGatewayUpdate,
    Supports,
    TaskEvent,
    UpgradeRequest,
    UserScriptUpdate,
)
from nks_operator.nks.models.base import describe_validation_error
from nks_operator.nks.operations import API_VERSION_HEADER, Operation
from nks_operator.nks.retry import RetryPolicy
from nks_operator.nks.session import Session, client_policy
from nks_operator.nks.transport import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_MAX_ANSWER_BYTES,
    HTTP,
    Transport,
    decode_json,
)
from nks_operator.nks.userscript import encode_user_script

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=NKSModel)

# Statuses that mean success, per kind of call (NKS-only actions answer 200 or 202).
_READ_OK = (200,)
_WRITE_OK = (200, 201, 202)
_DELETE_OK = (200, 202, 204)

# A guard against a server whose `next` link never ends.
MAX_PAGES = 1000


class DeleteResult(enum.Enum):
    """What a delete call achieved: NKS accepted it, or the resource was already gone."""

    ACCEPTED = "accepted"
    ALREADY_GONE = "already_gone"


class NKSClient:
    """An NKS API client for one set of credentials and one region.

    Build one per (credentials, region) and share one `TokenCache` (and optionally one
    wire, e.g. `AiohttpTransport`, or httpx client) across all clients of the process.
    Use as an async context manager, or call `aclose()`; a shared wire is left open.

    Requests go only where `policy` allows (EndpointNotAllowedError, nothing sent); with
    an explicit policy the NKS and identity URLs are checked here, at construction. None:
    NHN Cloud's public hosts plus the URLs passed here. An answer beyond
    `max_answer_bytes` is refused, and each attempt ends after `call_timeout` seconds.
    """

    def __init__(
        self,
        credentials: Credentials,
        region: str | None = None,
        *,
        nks_url: str | None = None,
        identity_url: str | None = None,
        token_cache: TokenCache | None = None,
        http: HTTP | None = None,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        metrics: MetricsHook | None = None,
        policy: EndpointPolicy | None = None,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        self.endpoints: Endpoints = resolve_endpoints(
            region, nks_url=nks_url, identity_url=identity_url
        )
        self.region = region.strip().lower() if region else None
        self.session = Session(
            credentials,
            self.endpoints.identity,
            token_cache=token_cache,
            http=http,
            timeout=timeout,
            retry=retry,
            metrics=metrics,
            policy=client_policy(policy, self.endpoints.nks, self.endpoints.identity),
            max_answer_bytes=max_answer_bytes,
            call_timeout=call_timeout,
        )
        # Operations whose path answered without its trailing slash (see `_call`).
        self._unslashed: set[Operation] = set()
        self._listed_clusters: ReadEntries[Cluster] = ReadEntries()

    @property
    def retry(self) -> RetryPolicy:
        return self.session.retry

    @property
    def token_cache(self) -> TokenCache:
        return self.session.token_cache

    @property
    def _cache_key(self) -> CacheKey:
        return self.session.cache_key

    @property
    def _transport(self) -> Transport:
        return self.session.transport

    def __repr__(self) -> str:
        credentials = self.session.credentials
        return (
            f"NKSClient(nks={self.endpoints.nks!r}, tenant={credentials.tenant_id!r}, "
            f"user={credentials.username!r})"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.session.aclose()

    # -- authentication -----------------------------------------------------------------

    async def authenticate(self) -> None:
        """Obtain (or reuse) a token now: checks credentials without touching NKS.

        Raises AuthenticationError for wrong credentials.
        """
        await self.session.token()

    # -- plumbing -----------------------------------------------------------------------

    def _url(self, operation: Operation, path: Mapping[str, str], *, slash: bool = True) -> str:
        quoted = {name: quote(str(value), safe="") for name, value in path.items()}
        template = operation.route.path if slash else operation.route.path.rstrip("/")
        return self.endpoints.nks + template.format(**quoted)

    async def _call(
        self,
        operation: Operation,
        *,
        path: Mapping[str, str] | None = None,
        body: NKSModel | None = None,
        params: Mapping[str, str] | None = None,
        expected: Sequence[int] = _READ_OK,
    ) -> httpx.Response:
        """One call. A path the current edition writes with a trailing slash (the add-on
        lists and install) may be served only without it (a CLI measured against the
        service lists so; unknown which holds): a 404 is tried once in the other form -
        safe for the install too, a 404 changes nothing - and the form that answered is
        kept for this client."""
        slash = operation not in self._unslashed
        try:
            return await self._send(operation, path or {}, body, params, expected, slash)
        except NotFoundError:
            if not operation.route.path.endswith("/"):
                raise
            response = await self._send(operation, path or {}, body, params, expected, not slash)
            self._unslashed ^= {operation}
            return response

    async def _send(
        self,
        operation: Operation,
        path: Mapping[str, str],
        body: NKSModel | None,
        params: Mapping[str, str] | None,
        expected: Sequence[int],
        slash: bool,
    ) -> httpx.Response:
        return await self.session.send(
            operation,
            self._url(operation, path, slash=slash),
            headers=API_VERSION_HEADER,
            body=body,
            params=params,
            expected=expected,
        )

    async def _call_json(self, operation: Operation, **kwargs: Any) -> Any:
        response = await self._call(operation, **kwargs)
        return decode_json(response, operation)

    async def _call_model(self, model: type[M], operation: Operation, **kwargs: Any) -> M:
        response = await self._call(operation, **kwargs)
        data = decode_json(response, operation)
        if data is None and kwargs.get("body") is not None:
            data = {}  # a write may be answered with an empty body
        if not isinstance(data, dict):
            # `null`, `[]` or a bare string would otherwise read as an object of defaults.
            raise InvalidResponseError(
                f"expected a JSON object, got {'nothing' if data is None else type(data).__name__}",
                operation=operation,
                status_code=response.status_code,
            )
        return _parse(model, data, operation)

    async def _list(
        self,
        model: type[M],
        operation: Operation,
        key: str,
        *,
        path: Mapping[str, str] | None = None,
        page_size: int | None = None,
        entries: ReadEntries[M] | None = None,
    ) -> Listing[M]:
        """All items of a list call, following `next` links (limit/marker) transparently.

        An entry that cannot be parsed goes to the listing's `unreadable` (named by its
        uuid and name when they can be read) and never hides the others; an answer that
        is not a list at all raises InvalidResponseError. With `entries`, an entry read
        by the previous complete list from the same JSON is taken from it.
        """
        entries = entries or ReadEntries(remember=False)
        params: dict[str, str] = {"limit": str(page_size)} if page_size else {}
        seen_pages: set[tuple[tuple[str, str], ...]] = set()
        items: dict[str, M] = {}
        unreadable: dict[str, UnreadableEntry] = {}
        read: dict[bytes, M] = {}  # by the mark of the JSON each entry was read from
        for _ in range(MAX_PAGES):
            data = await self._call_json(operation, path=path, params=params or None)
            if not isinstance(data, dict) or not isinstance(data.get(key), list):
                raise InvalidResponseError(
                    f"expected a JSON object with a {key!r} list", operation=operation
                )
            page = data[key]
            for raw in page:
                mark = entries.mark(raw)
                item = entries.known(mark)
                if item is None:
                    try:
                        item = _parse(model, raw, operation)
                    except InvalidResponseError as exc:
                        entry = UnreadableEntry.of(raw, exc.message)
                        unreadable[entry.uuid or f"#{len(unreadable)}"] = entry
                        logger.warning("NKS %s: unreadable entry %s", operation, entry.describe())
                        continue
                if mark is not None:
                    read[mark] = item
                # Keyed by uuid: an item shifting across a page boundary is kept once.
                items[getattr(item, "uuid", None) or str(len(items))] = item
            params = _next_page_params(data.get("next"))
            fingerprint = tuple(sorted(params.items()))
            if not page or not params or fingerprint in seen_pages:
                break
            seen_pages.add(fingerprint)
        else:
            logger.warning("NKS %s: stopped after %d pages", operation, MAX_PAGES)
        for uuid in items:
            unreadable.pop(uuid, None)  # read on another page after all
        entries.keep(read)
        return Listing(items.values(), unreadable.values())

    async def _delete(self, operation: Operation, path: Mapping[str, str]) -> DeleteResult:
        try:
            await self._call(operation, path=path, expected=_DELETE_OK)
        except NotFoundError:
            return DeleteResult.ALREADY_GONE
        return DeleteResult.ACCEPTED

    async def _action(
        self, operation: Operation, path: Mapping[str, str], body: NKSModel
    ) -> ActionResponse:
        return await self._call_model(
            ActionResponse, operation, path=path, body=body, expected=_WRITE_OK
        )

    # -- clusters -----------------------------------------------------------------------

    async def list_clusters(self, *, page_size: int | None = None) -> Listing[Cluster]:
        """Every cluster of the project, all pages (`page_size` sets `limit` per page).

        Clusters NKS describes unreadably are in the result's `unreadable`."""
        return await self._list(
            Cluster,
            Operation.LIST_CLUSTERS,
            "clusters",
            page_size=page_size,
            entries=self._listed_clusters,
        )

    async def find_clusters(self, name: str) -> Listing[Cluster]:
        """Clusters named `name` (names are not unique at NKS): recovery after a restart.

        Unreadable entries with that name - or whose name could not be read - are kept in
        `unreadable`: the cluster may exist."""
        listing = await self.list_clusters()
        return Listing(
            (cluster for cluster in listing if cluster.name == name),
            (entry for entry in listing.unreadable if entry.name in (name, None)),
        )

    async def get_cluster(self, cluster: str) -> Cluster:
        """One cluster by UUID (or name); NotFoundError once it is gone."""
        return await self._call_model(Cluster, Operation.GET_CLUSTER, path={"cluster": cluster})

    async def create_cluster(self, request: ClusterCreateRequest) -> str:
        """Start creating a cluster (~10 min); returns its UUID.

        Never retried on 5xx/timeout: the cluster may exist anyway - look it up by name.
        """
        operation = Operation.CREATE_CLUSTER
        response = await self._call_model(
            ActionResponse, operation, body=request, expected=_WRITE_OK
        )
        if not response.uuid:
            raise InvalidResponseError("create answer has no cluster uuid", operation=operation)
        return response.uuid

    async def delete_cluster(self, cluster: str) -> DeleteResult:
        """Start deleting a cluster; ALREADY_GONE when NKS answers 404."""
        return await self._delete(Operation.DELETE_CLUSTER, {"cluster": cluster})

    async def resize_cluster(
        self,
        cluster: str,
        *,
        nodegroup: str,
        node_count: int,
        nodes_to_remove: Sequence[str] | None = None,
    ) -> ActionResponse:
        """Set a worker group's node count; without `nodes_to_remove` a scale-in removes
        random nodes. Refused while the group's autoscaler is on."""
        body = ResizeRequest(
            nodegroup=nodegroup,
            node_count=node_count,
            nodes_to_remove=list(nodes_to_remove) if nodes_to_remove is not None else None,
        )
        return await self._action(Operation.RESIZE_CLUSTER, {"cluster": cluster}, body)

    async def get_kubeconfig(self, cluster: str) -> SecretStr:
        """The cluster's admin kubeconfig (YAML), as a SecretStr so it cannot be logged
        by accident. It changes after a certificate renewal."""
        operation = Operation.GET_KUBECONFIG
        data = await self._call_json(operation, path={"cluster": cluster})
        config = data.get("config") if isinstance(data, dict) else None
        if not isinstance(config, str) or not config:
            raise InvalidResponseError("answer has no 'config' text", operation=operation)
        return SecretStr(config)

    async def update_cni(
        self,
        cluster: str,
        *,
        pod_cidr: str,
        cni: str = "calico",
        pod_subnet: int | None = None,
        num_buffer_nodes: int | None = None,
        num_max_unavailable_nodes: int | None = None,
    ) -> ActionResponse:
        """Change the CNI (Flannel -> Calico); rolls the nodes. The copy's API only: the
        current edition has none (the CNI is an add-on), so today's NKS answers 404."""
        body = CNIUpdateRequest(
            cni=cni,
            pod_cidr=pod_cidr,
            pod_subnet=pod_subnet,
            num_buffer_nodes=num_buffer_nodes,
            num_max_unavailable_nodes=num_max_unavailable_nodes,
        )
        return await self._action(Operation.UPDATE_CNI, {"cluster": cluster}, body)

    async def set_ip_acl(
        self,
        cluster: str,
        *,
        enable: bool,
        action: IPACLAction | None = None,
        targets: Sequence[IPACLTarget | str] | None = None,
    ) -> ActionResponse:
        """Enforce (ALLOW/DENY `targets`) or disable IP access control on the API endpoint.

        A target is an IPACLTarget or a bare CIDR/address string.
        """
        body = IPACLUpdate(
            enable=enable,
            action=action,
            ipacl_targets=(
                [
                    t
                    if isinstance(t, IPACLTarget)
                    else IPACLTarget(cidr_address=t, description=None)
                    for t in targets
                ]
                if targets is not None
                else None
            ),
        )
        return await self._action(Operation.SET_IP_ACL, {"cluster": cluster}, body)

    async def get_ip_acl(self, cluster: str) -> IPACL:
        return await self._call_model(IPACL, Operation.GET_IP_ACL, path={"cluster": cluster})

    async def renew_certificate(self, cluster: str, *, term_of_validity: int) -> ActionResponse:
        """Renew the cluster certificates for 1..5 years; fetch the kubeconfig again after."""
        body = CertificateRenewal(term_of_validity=term_of_validity)
        return await self._action(Operation.RENEW_CERTIFICATE, {"cluster": cluster}, body)

    async def update_service_gateway(
        self, cluster: str, *, ncr_sgw: str, obs_sgw: str
    ) -> ActionResponse:
        """Set the NCR and OBS service gateways. The guide requires both: pass the current
        value of the one not changed (the cluster's `ncr_sgw` / `obs_sgw` label).

        No task is recorded for it: confirm by reading the labels back."""
        body = ServiceGatewayUpdate(ncr_sgw=ncr_sgw, obs_sgw=obs_sgw)
        return await self._action(Operation.UPDATE_SERVICE_GATEWAY, {"cluster": cluster}, body)

    async def set_control_plane_log(
        self, cluster: str, settings: ControlPlaneLog
    ) -> ActionResponse:
        """Ship the control plane's logs to Log & Crash Search or Object Storage, or stop
        (`ControlPlaneLog(enable=False)`). Task `CLUSTER_UPDATE_CONTROL_PLANE_LOG`; no
        documented answer field shows the setting (docs/nks-api-notes.md)."""
        body = ControlPlaneLogUpdate(control_plane_log=settings)
        return await self._action(Operation.SET_CONTROL_PLANE_LOG, {"cluster": cluster}, body)

    async def list_events(self, cluster: str) -> Listing[TaskEvent]:
        """The cluster's task history: proof that an operation started, and its outcome."""
        return await self._list(
            TaskEvent, Operation.LIST_EVENTS, "events", path={"cluster": cluster}
        )

    async def get_event(self, cluster: str, event: str) -> TaskEvent:
        return await self._call_model(
            TaskEvent, Operation.GET_EVENT, path={"cluster": cluster, "event": event}
        )

    # -- node groups --------------------------------------------------------------------

    async def list_nodegroups(self, cluster: str) -> Listing[NodeGroup]:
        """Every node group; whether `default-master` (the control plane) is among them is
        contested (docs/nks-api-notes.md, "Node groups and node counts"): skip it by name
        and by `role: master`, never rely on it being there."""
        return await self._list(
            NodeGroup, Operation.LIST_NODEGROUPS, "nodegroups", path={"cluster": cluster}
        )

    async def get_nodegroup(self, cluster: str, nodegroup: str) -> NodeGroup:
        """One node group by UUID or name (`default-master` answers 403)."""
        return await self._call_model(
            NodeGroup,
            Operation.GET_NODEGROUP,
            path={"cluster": cluster, "nodegroup": nodegroup},
        )

    async def create_nodegroup(self, cluster: str, request: NodeGroupCreateRequest) -> NodeGroup:
        """Start creating a node group (~5 min); returns it as NKS first describes it.

        Never retried on 5xx/timeout: look the group up by name before trying again.
        """
        operation = Operation.CREATE_NODEGROUP
        group = await self._call_model(
            NodeGroup, operation, path={"cluster": cluster}, body=request, expected=_WRITE_OK
        )
        return group

    async def delete_nodegroup(self, cluster: str, nodegroup: str) -> DeleteResult:
        """Start deleting a node group; ALREADY_GONE on 404 (`default-worker` is refused)."""
        return await self._delete(
            Operation.DELETE_NODEGROUP, {"cluster": cluster, "nodegroup": nodegroup}
        )

    async def stop_nodes(
        self, cluster: str, nodegroup: str, node_ids: Sequence[str]
    ) -> ActionResponse:
        """Stop the given node instances (not all nodes of a group)."""
        body = NodeListRequest(node_list=list(node_ids))
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.STOP_NODES, path, body)

    async def start_nodes(
        self, cluster: str, nodegroup: str, node_ids: Sequence[str]
    ) -> ActionResponse:
        body = NodeListRequest(node_list=list(node_ids))
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.START_NODES, path, body)

    async def get_autoscaler(self, cluster: str, nodegroup: str) -> AutoscalerConfig:
        return await self._call_model(
            AutoscalerConfig,
            Operation.GET_AUTOSCALER,
            path={"cluster": cluster, "nodegroup": nodegroup},
        )

    async def set_autoscaler(
        self, cluster: str, nodegroup: str, config: AutoscalerUpdate
    ) -> ActionResponse:
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.SET_AUTOSCALER, path, config)

    async def upgrade_nodegroup(
        self,
        cluster: str,
        nodegroup: str,
        *,
        version: str,
        num_buffer_nodes: int | None = None,
        num_max_unavailable_nodes: int | None = None,
    ) -> ActionResponse:
        """Upgrade one group by one minor version; `default-master` (the control plane)
        goes first."""
        body = UpgradeRequest(
            version=version,
            num_buffer_nodes=num_buffer_nodes,
            num_max_unavailable_nodes=num_max_unavailable_nodes,
        )
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.UPGRADE_NODEGROUP, path, body)

    async def update_user_script(self, cluster: str, nodegroup: str, script: str) -> ActionResponse:
        """Replace the group's user script; `script` is the plain text, sent encoded as
        `user_script_v2` is (see `nks.userscript`)."""
        body = UserScriptUpdate(contents=encode_user_script(script))
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.UPDATE_USER_SCRIPT, path, body)

    async def change_flavor(
        self,
        cluster: str,
        nodegroup: str,
        *,
        flavor_id: str,
        num_buffer_nodes: int | None = None,
        num_max_unavailable_nodes: int | None = None,
    ) -> ActionResponse:
        """Change the group's instance flavor; rolls the nodes."""
        body = FlavorChangeRequest(
            flavor_id=flavor_id,
            num_buffer_nodes=num_buffer_nodes,
            num_max_unavailable_nodes=num_max_unavailable_nodes,
        )
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.CHANGE_FLAVOR, path, body)

    # -- node group settings of the current edition (PATCH by `type`) -------------------

    async def set_node_labels(
        self, cluster: str, nodegroup: str, labels: Mapping[str, str]
    ) -> ActionResponse:
        """Set the Kubernetes labels of the group's nodes: the complete set (whether NKS
        merges is unknown), at most 20. Only nodes created afterwards get them. Task
        `NODEGROUP_UPDATE_K8S_NODE_LABELS`. Invalid labels raise ValueError, nothing sent."""
        body = NodeLabelsUpdate(k8s_node_labels=dict(labels))
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.SET_NODE_LABELS, path, body)

    async def set_metric_autoscaler(
        self,
        cluster: str,
        nodegroup: str,
        *,
        scale_out: ScaleOutPolicy | None = None,
        scale_in: ScaleInPolicy | None = None,
    ) -> ActionResponse:
        """Set the group's metric-based autoscaler policies (send whole policies; one with
        `enable=False` turns that direction off). While it is on, NKS refuses manual
        resizes. Task `NODEGROUP_SET_METRIC_BASE_AUTOSCALER`."""
        if scale_out is None and scale_in is None:
            raise ValueError("give a scale-out policy, a scale-in policy or both")
        body = MetricAutoscalerUpdate(mba_scale_out=scale_out, mba_scale_in=scale_in)
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.SET_METRIC_AUTOSCALER, path, body)

    async def set_fip_auto_bind(
        self,
        cluster: str,
        nodegroup: str,
        *,
        enable: bool,
        subnet: str | None = None,
        selector: str | None = None,
    ) -> ActionResponse:
        """Give new nodes of the group a floating IP on `subnet`'s interface (needed when
        enabling), from the IPs `selector` picks (none: any). Task
        `NODEGROUP_UPDATE_FIP_AUTO_BIND`."""
        body = FloatingIPAutoBindUpdate(
            fip_auto_bind_update_info=FloatingIPAutoBind(
                fip_auto_bind_enable=enable, fip_bind_subnet=subnet, fip_selector=selector
            )
        )
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.SET_FIP_AUTO_BIND, path, body)

    # -- add-ons ------------------------------------------------------------------------

    async def list_addon_types(self) -> Listing[AddonType]:
        """The kinds of add-on (`cni`, `kube-dns`, ...) and whether each is mandatory."""
        return await self._list(AddonType, Operation.LIST_ADDON_TYPES, "addon_types")

    async def get_addon_type(self, addon_type: str) -> AddonType:
        """One add-on type by UUID or name."""
        return await self._call_model(
            AddonType, Operation.GET_ADDON_TYPE, path={"addon_type": addon_type}
        )

    async def list_addon_catalogue(self) -> Listing[CatalogueAddon]:
        """Every add-on version NHN offers, with its option schemas: check a version and
        its options here before installing or updating."""
        return await self._list(CatalogueAddon, Operation.LIST_ADDON_CATALOGUE, "addons")

    async def get_addon_catalogue_entry(self, addon: str) -> CatalogueAddon:
        """One catalogue entry by its UUID."""
        return await self._call_model(
            CatalogueAddon, Operation.GET_ADDON_CATALOGUE_ENTRY, path={"addon": addon}
        )

    async def list_cluster_addons(self, cluster: str) -> Listing[InstalledAddon]:
        """The add-ons installed on a cluster, with their versions and statuses."""
        return await self._list(
            InstalledAddon, Operation.LIST_CLUSTER_ADDONS, "addons", path={"cluster": cluster}
        )

    async def get_cluster_addon(self, cluster: str, addon: str) -> InstalledAddon:
        """One installed add-on by its UUID or name; NotFoundError when not installed."""
        return await self._call_model(
            InstalledAddon,
            Operation.GET_CLUSTER_ADDON,
            path={"cluster": cluster, "addon": addon},
        )

    async def install_addon(
        self,
        cluster: str,
        *,
        name: str,
        version: str,
        resolve_conflicts: ResolveConflicts,
        options: Mapping[str, str] | None = None,
    ) -> ActionResponse:
        """Install a catalogue add-on; `options` are sent only when given (whether NKS takes
        them is contested). Task `CLUSTER_INSTALL_ADDON`; confirm by the installed
        add-on's `version` and `status`."""
        body = AddonInstallRequest(
            name=name,
            version=version,
            resolve_conflicts=resolve_conflicts,
            options=dict(options) if options is not None else None,
        )
        return await self._action(Operation.INSTALL_ADDON, {"cluster": cluster}, body)

    async def update_addon(
        self,
        cluster: str,
        addon: str,
        *,
        version: str,
        resolve_conflicts: ResolveConflicts,
        options: Mapping[str, str] | None = None,
    ) -> ActionResponse:
        """Move an installed add-on (UUID or name) to a catalogue version; `options` as for
        `install_addon` (an option not `updatable` cannot change). Task
        `CLUSTER_UPDATE_ADDON`."""
        body = AddonUpdateRequest(
            version=version,
            resolve_conflicts=resolve_conflicts,
            options=dict(options) if options is not None else None,
        )
        path = {"cluster": cluster, "addon": addon}
        return await self._action(Operation.UPDATE_ADDON, path, body)

    async def uninstall_addon(self, cluster: str, addon: str) -> DeleteResult:
        """Remove an installed add-on (mandatory types are refused); ALREADY_GONE on 404.
        Task `CLUSTER_UNINSTALL_ADDON`."""
        return await self._delete(Operation.UNINSTALL_ADDON, {"cluster": cluster, "addon": addon})

    # -- other --------------------------------------------------------------------------

    async def get_supports(self) -> Supports:
        """Supported Kubernetes versions (`true` = usable for new clusters) and task types."""
        supports = await self._call_model(Supports, Operation.GET_SUPPORTS)
        if not supports.supported_k8s:
            # Never a real answer: taken at face value it would refuse every version.
            raise InvalidResponseError(
                "the answer lists no Kubernetes versions", operation=Operation.GET_SUPPORTS
            )
        return supports


def _parse(model: type[M], data: Any, operation: Operation) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidResponseError(
            f"unexpected {model.__name__} answer: {describe_validation_error(exc)}",
            operation=operation,
        ) from None


def _next_page_params(next_link: Any) -> dict[str, str]:
    """Query parameters of a `next` link, reused against our own base URL (the link's
    host may be an internal name, or differ from an overridden endpoint)."""
    if not isinstance(next_link, str) or not next_link.strip():
        return {}
    try:
        url = httpx.URL(next_link.strip())
    except httpx.InvalidURL:
        return {}
    return dict(url.params)
