"""The NKS (NHN Kubernetes Service) API client: async, typed, safe to retry and to log.

One `NKSClient` per (credentials, region); one `TokenCache` per process, shared by all
clients so a token is issued once per set of credentials::

    from nks_operator.nks import Credentials, NKSClient, NotFoundError, TokenCache

    cache = TokenCache()
    credentials = Credentials(tenant_id="...", username="me@example.com", password="...")
    async with NKSClient(credentials, "kr1", token_cache=cache) as nks:
        for cluster in await nks.list_clusters():
            print(cluster.name, cluster.status, cluster.kubernetes_version)
        try:
            kubeconfig = await nks.get_kubeconfig("my-cluster-uuid")  # a SecretStr
        except NotFoundError:
            ...

Against the simulator or a private endpoint, pass `nks_url=` / `identity_url=` (base
URLs; `/v1/...` and `/v2.0/tokens` are appended). Errors are subclasses of `NKSError`;
reads are retried on transient failures, writes never blindly (see `retry`).

Requests go only to NHN Cloud's public https hosts and the URLs given to the client, or
where an explicit `policy=EndpointPolicy...` allows (`EndpointNotAllowedError`, nothing
sent); redirects are never followed. An answer beyond `max_answer_bytes` is refused
(`AnswerTooLargeError`) and each attempt ends after `call_timeout` seconds (see `transport`).

Answers are read tolerantly: an odd value makes one field unknown (`model.unreadable`
says which), and list calls return a `Listing` whose `unreadable` names the entries that
could not be read at all. Node instances (for stop/start) are compute servers:
`ComputeClient.sharing(nks)` and `match_servers`. User scripts: `nks.userscript`.
"""

from nks_operator.nks.allowlist import PUBLIC_ONLY, EndpointPolicy
from nks_operator.nks.auth import CacheKey, Credentials, Token, TokenCache
from nks_operator.nks.client import DeleteResult, NKSClient
from nks_operator.nks.compute import ComputeClient, NodeServers, Server, match_servers
from nks_operator.nks.endpoints import (
    DEFAULT_IDENTITY_URL,
    NKS_REGIONS,
    Endpoints,
    resolve_endpoints,
)
from nks_operator.nks.errors import (
    AnswerTooLargeError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    EndpointNotAllowedError,
    ForbiddenError,
    InvalidRequestError,
    InvalidResponseError,
    NKSError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnauthorizedError,
)
from nks_operator.nks.listing import Listing, UnreadableEntry
from nks_operator.nks.metrics import MetricsHook, RequestSample
from nks_operator.nks.models import (
    CLUSTER_TEMPLATE_ID,
    DEFAULT_MASTER,
    DEFAULT_WORKER,
    IPACL,
    ActionResponse,
    Addon,
    AutoscalerConfig,
    AutoscalerUpdate,
    Cluster,
    ClusterCreateLabels,
    ClusterCreateRequest,
    ClusterLabels,
    ExtraSecurityGroup,
    ExtraVolume,
    IPACLTarget,
    NodeGroup,
    NodeGroupCreateLabels,
    NodeGroupCreateRequest,
    NodeGroupLabels,
    Supports,
    TaskEvent,
)
from nks_operator.nks.operations import Operation
from nks_operator.nks.retry import NO_RETRIES, RetryPolicy
from nks_operator.nks.transport import DEFAULT_TIMEOUT
from nks_operator.nks.userscript import (
    decode_user_script,
    encode_user_script,
    user_script_matches,
)

__all__ = [
    "CLUSTER_TEMPLATE_ID",
    "DEFAULT_IDENTITY_URL",
    "DEFAULT_MASTER",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WORKER",
    "IPACL",
    "NKS_REGIONS",
    "NO_RETRIES",
    "PUBLIC_ONLY",
    "APIError",
    "ActionResponse",
    "Addon",
    "AnswerTooLargeError",
    "AuthenticationError",
    "AutoscalerConfig",
    "AutoscalerUpdate",
    "CacheKey",
    "Cluster",
    "ClusterCreateLabels",
    "ClusterCreateRequest",
    "ClusterLabels",
    "ComputeClient",
    "ConfigurationError",
    "ConflictError",
    "Credentials",
    "DeleteResult",
    "EndpointNotAllowedError",
    "EndpointPolicy",
    "Endpoints",
    "ExtraSecurityGroup",
    "ExtraVolume",
    "ForbiddenError",
    "IPACLTarget",
    "InvalidRequestError",
    "InvalidResponseError",
    "Listing",
    "MetricsHook",
    "NKSClient",
    "NKSError",
    "NodeGroup",
    "NodeGroupCreateLabels",
    "NodeGroupCreateRequest",
    "NodeGroupLabels",
    "NodeServers",
    "NotFoundError",
    "Operation",
    "RateLimitedError",
    "RequestSample",
    "RetryPolicy",
    "Server",
    "ServerError",
    "Supports",
    "TaskEvent",
    "Token",
    "TokenCache",
    "TransportError",
    "UnauthorizedError",
    "UnreadableEntry",
    "decode_user_script",
    "encode_user_script",
    "match_servers",
    "resolve_endpoints",
    "user_script_matches",
]
