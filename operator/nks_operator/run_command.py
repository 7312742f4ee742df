"""`nks-operator run`: the operator itself."""

from __future__ import annotations

import argparse
import asyncio
import asyncio.sslproto
import importlib.util
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from nks_operator import webhook
from nks_operator.kube import login
from nks_operator.settings import OperatorSettings, SettingsError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("plain", "full", "json")
# Flag of each setting a flag can override, for error messages.
SETTING_FLAGS = {
    "fast_poll_seconds": "--fast-poll",
    "slow_poll_seconds": "--slow-poll",
    "error_backoff_seconds": "--error-backoff",
    "metrics_port": "--metrics-port",
    "workers": "--workers",
    "operator_namespace": "--operator-namespace",
    "default_credentials_namespaces": "--default-credentials-namespaces",
    "allowed_endpoints": "--allowed-endpoints",
    "max_answer_bytes": "--max-answer-bytes",
    "call_timeout_seconds": "--call-timeout",
    "account_concurrency": "--account-concurrency",
    "argocd_namespace": "--argocd-namespace",
    "argocd_allowed_namespaces": "--argocd-allowed-namespaces",
    "argocd_allowed_projects": "--argocd-allowed-projects",
    "argocd_allowed_label_keys": "--argocd-allowed-label-keys",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the operator",
        description=(
            "Watch NKSCluster and NKSNodeGroup resources and reconcile them with NKS. Logs in "
            "to Kubernetes as kubectl does: --kubeconfig, else KUBECONFIG, else the in-cluster "
            "service account, else ~/.kube/config (exec plugins, OIDC, tokens and client "
            "certificates all work); --context picks a context. Default credentials "
            "come from NKS_TENANT_ID / NKS_USERNAME / NKS_PASSWORD (and NKS_IDENTITY_URL, "
            "NKS_URL)."
        ),
    )
    _scope_arguments(parser)
    login.add_arguments(parser)
    _loop_arguments(parser)
    _tenancy_arguments(parser)
    _leader_election_arguments(parser)
    _log_arguments(parser)
    webhook.add_arguments(parser)
    parser.set_defaults(func=run)


def _scope_arguments(parser: argparse.ArgumentParser) -> None:
    """Which resources this operator reconciles."""
    scope = parser.add_mutually_exclusive_group()
    # Watching every namespace is what happens without --namespace; the flag stays because
    # the chart passes it (templates/deployment.yaml) and it reads as kubectl's -A.
    scope.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        help="watch every namespace (the default without --namespace)",
    )
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="watch only this namespace (repeatable; globs allowed)",
    )
    parser.add_argument(
        "-l",
        "--selector",
        action="append",
        default=[part for part in [os.environ.get("NKS_SELECTOR", "")] if part],
        metavar="KEY=VALUE",
        help="reconcile only resources with these labels (repeatable or comma-separated; "
        "for sharding one namespace across several operators; env NKS_SELECTOR)",
    )


def _loop_arguments(parser: argparse.ArgumentParser) -> None:
    """Liveness, polling cadence, workers and metrics."""
    parser.add_argument(
        "--liveness",
        default=os.environ.get("NKS_LIVENESS_ENDPOINT", "http://0.0.0.0:8080/healthz"),
        help="liveness endpoint URL (default %(default)s; empty to disable)",
    )
    parser.add_argument(
        "--fast-poll",
        type=float,
        help="seconds between cluster lists while NKS is busy (default 2; env "
        "NKS_FAST_POLL_SECONDS)",
    )
    parser.add_argument(
        "--slow-poll",
        type=float,
        help="seconds between steady-state resyncs (default 120; env NKS_SLOW_POLL_SECONDS)",
    )
    parser.add_argument(
        "--error-backoff",
        type=float,
        help=(
            "retry delay of a change waiting on something that may pass by itself; errors a "
            "person must fix wait for a change instead (default 60; env "
            "NKS_ERROR_BACKOFF_SECONDS)"
        ),
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="resources reconciled concurrently (default 16; env NKS_WORKERS)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        help="serve Prometheus metrics on this port at /metrics (0: off, the default; "
        "env NKS_METRICS_PORT)",
    )


def _leader_election_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--leader-election",
        dest="leader_election",
        metavar="LEASE",
        default=os.environ.get("NKS_LEADER_ELECTION") or None,
        help="run as one of several replicas: the one holding this coordination.k8s.io Lease "
        "reconciles, the others stand by (env NKS_LEADER_ELECTION)",
    )
    parser.add_argument(
        "--leader-election-namespace",
        metavar="NS",
        default=os.environ.get("POD_NAMESPACE") or None,
        help="namespace of the Lease (default: env POD_NAMESPACE, else the kubeconfig's "
        "namespace, else default)",
    )


def _log_arguments(parser: argparse.ArgumentParser) -> None:
    # Any case is accepted; argparse applies `type` to a flag and to a string default alike.
    parser.add_argument(
        "--log-level",
        type=str.upper,
        default=os.environ.get("NKS_LOG_LEVEL") or "INFO",
        choices=LOG_LEVELS,
        help="DEBUG, INFO (default), WARNING or ERROR, any case (env NKS_LOG_LEVEL)",
    )
    parser.add_argument(
        "--log-format",
        type=str.lower,
        default=os.environ.get("NKS_LOG_FORMAT") or "plain",
        choices=LOG_FORMATS,
        help="plain (default), full or json (env NKS_LOG_FORMAT)",
    )


def _tenancy_arguments(parser: argparse.ArgumentParser) -> None:
    """Who may use what: docs/security.md explains each setting and its default."""
    group = parser.add_argument_group("tenancy and bounds (docs/security.md)")
    group.add_argument(
        "--operator-namespace",
        metavar="NS",
        help="the operator's own namespace (default: env POD_NAMESPACE, else the kubeconfig's "
        "namespace, else default)",
    )
    group.add_argument(
        "--default-credentials-namespaces",
        metavar="LIST",
        help="namespaces (comma list, globs, * for all) whose resources may use the default "
        "credentials (default: the operator's own; env NKS_DEFAULT_CREDENTIALS_NAMESPACES)",
    )
    group.add_argument(
        "--allowed-endpoints",
        metavar="LIST",
        help="URL prefixes (comma list) besides NHN Cloud's public https hosts that "
        "credentials may be sent to, e.g. http://127.0.0.1:9511 (env NKS_ALLOWED_ENDPOINTS)",
    )
    group.add_argument(
        "--max-answer-bytes",
        type=int,
        help="largest NKS answer read, in bytes (default 4 MiB; env NKS_MAX_ANSWER_BYTES)",
    )
    group.add_argument(
        "--call-timeout",
        type=float,
        help="seconds one NKS call may take, answer included (default 60; env "
        "NKS_CALL_TIMEOUT_SECONDS)",
    )
    group.add_argument(
        "--account-concurrency",
        type=int,
        help="passes of one account that may call NKS at once (default: half the workers; "
        "env NKS_ACCOUNT_CONCURRENCY)",
    )
    group.add_argument(
        "--argocd-namespace",
        metavar="NS",
        help="namespace Argo CD cluster Secrets are written to (default argocd; env "
        "NKS_ARGOCD_NAMESPACE)",
    )
    group.add_argument(
        "--argocd-allowed-namespaces",
        metavar="LIST",
        help="namespaces whose NKSClusters may register in Argo CD (comma list, globs, *; "
        "default: the operator's own; env NKS_ARGOCD_ALLOWED_NAMESPACES)",
    )
    group.add_argument(
        "--argocd-allowed-projects",
        metavar="LIST",
        help="Argo CD projects a registration may name (globs; {namespace} is the "
        "NKSCluster's namespace; * also allows none; default {namespace}; env "
        "NKS_ARGOCD_ALLOWED_PROJECTS)",
    )
    group.add_argument(
        "--argocd-allowed-label-keys",
        metavar="LIST",
        help="label keys (globs) a registration may set (default: none; env "
        "NKS_ARGOCD_ALLOWED_LABEL_KEYS)",
    )


def cache_missing_sniffio() -> None:
    """Make `import sniffio` fail at once when sniffio is not installed.

    httpcore runs `import sniffio` for every lock, event and cancellation shield of every
    request, several times per HTTP call. anyio 4 no longer installs sniffio, and Python
    never caches a failed import: each one searched every sys.path entry (about 55 us; 13 %
    of the operator's CPU in the benchmark's profile, BENCHMARKS.md "Profile (issue 21)").
    None in sys.modules raises ModuleNotFoundError at once; httpcore (and anyio, httpx,
    tenacity, which catch it too) then assume asyncio, as they did."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


# A TLS record carries at most 16 KiB; four of them per read.
SSL_READ_BUFFER_BYTES = 64 * 1024


def small_ssl_read_buffers() -> None:
    """Read each TLS connection through a 64 KiB buffer instead of asyncio's 256 KiB.

    asyncio's SSL protocol allocates and zero-fills a read buffer of `max_size` bytes per
    connection, for as long as the connection is open: with the kube-apiserver's watches
    and the two connection pools, 24 connections held 6 MiB in the benchmark's memory
    scenario, more than every NKS answer the poller keeps (BENCHMARKS.md). A smaller
    buffer only means more reads of a large answer, each still several records."""
    asyncio.sslproto.SSLProtocol.max_size = SSL_READ_BUFFER_BYTES


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """asyncio's own loop, whatever loop policy a library installed. Not uvloop: when the
    kube-apiserver restarts, its reuse of a closed socket's file descriptor
    (MagicStack/uvloop#653) surfaces in kopf's watcher as a RuntimeError kopf does not
    retry, and the whole operator stops; it measured no cheaper here (BENCHMARKS.md)."""
    if sys.platform == "win32":
        return asyncio.ProactorEventLoop
    return asyncio.SelectorEventLoop


def run(args: argparse.Namespace) -> int:
    import nks_operator.handlers  # noqa: F401  (registers the handlers)
    from nks_operator.handlers import namespaces

    namespaces.install()
    settings = _settings(args)
    _require_kube_credentials(args.kubeconfig, args.context)
    _configure_logging(args.log_level, args.log_format)
    cache_missing_sniffio()
    small_ssl_read_buffers()
    webhook_options = webhook.options_from_args(args)
    if webhook_options is not None:
        # Imported only now: without --webhook-port no server runs and no configuration
        # is managed.
        from nks_operator.handlers import admission

        admission.register(webhook_options)
    return _operate(args, settings)


def _settings(args: argparse.Namespace) -> OperatorSettings:
    """The settings from the flags and the environment; exits with the reason when invalid."""
    from nks_operator.handlers import shard

    try:
        selector = shard.parse_selector(args.selector)
    except shard.SelectorError as error:
        raise SystemExit(f"nks-operator run: {error}") from None
    # argparse checks `choices` for a flag, not for a default read from the environment.
    for value, choices, variable in (
        (args.log_level, LOG_LEVELS, "NKS_LOG_LEVEL"),
        (args.log_format, LOG_FORMATS, "NKS_LOG_FORMAT"),
    ):
        if value not in choices:
            raise SystemExit(
                f"nks-operator run: {variable}: {value!r} is not one of {', '.join(choices)}"
            )
    try:
        return OperatorSettings.from_env(
            flags=SETTING_FLAGS,
            fast_poll_seconds=args.fast_poll,
            slow_poll_seconds=args.slow_poll,
            error_backoff_seconds=args.error_backoff,
            metrics_port=args.metrics_port,
            workers=args.workers,
            selector=selector or None,
            leader_election=args.leader_election,
            leader_election_namespace=args.leader_election_namespace,
            operator_namespace=args.operator_namespace,
            default_credentials_namespaces=args.default_credentials_namespaces,
            allowed_endpoints=args.allowed_endpoints,
            max_answer_bytes=args.max_answer_bytes,
            call_timeout_seconds=args.call_timeout,
            account_concurrency=args.account_concurrency,
            argocd_namespace=args.argocd_namespace,
            argocd_allowed_namespaces=args.argocd_allowed_namespaces,
            argocd_allowed_projects=args.argocd_allowed_projects,
            argocd_allowed_label_keys=args.argocd_allowed_label_keys,
        )
    except SettingsError as error:
        raise SystemExit(f"nks-operator run: {error}") from None


def _configure_logging(level: str, log_format: str) -> None:
    import kopf

    # kopf's "verbose" means DEBUG (whole bodies on every event): only for --log-level DEBUG.
    kopf.configure(
        debug=level == "DEBUG",
        quiet=level in ("WARNING", "ERROR"),
        log_format={
            "plain": kopf.LogFormat.PLAIN,
            "full": kopf.LogFormat.FULL,
            "json": kopf.LogFormat.JSON,
        }[log_format],
    )
    if level == "ERROR":
        logging.getLogger().setLevel(logging.ERROR)
    # kopf logs "Handler 'cluster_event' succeeded." at INFO for every watch event: most
    # of the log's lines and about 2 % of the CPU under load, saying nothing (BENCHMARKS.md,
    # issue 21). A failing handler is still logged, at ERROR.
    logging.getLogger("kopf.objects").setLevel(
        logging.NOTSET if level == "DEBUG" else max(logging.WARNING, logging.getLevelName(level))
    )
    # Transport chatter stays out of the operator's log.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _operate(args: argparse.Namespace, settings: OperatorSettings) -> int:
    """Run kopf until it stops; 1 when this replica lost its leader election Lease."""
    import kopf

    memo = kopf.Memo(settings=settings, stop=None)

    async def operate() -> None:
        # Set when this replica loses its Lease: kopf stops, and the process exits non-zero.
        memo.stop = asyncio.Event()
        await kopf.operator(
            clusterwide=not args.namespace,
            namespaces=args.namespace,
            liveness_endpoint=args.liveness or None,
            standalone=True,
            stop_flag=memo.stop,
            memo=memo,
        )

    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(operate())
    if memo.get("leadership_lost"):
        print("nks-operator run: lost the leader election Lease; exiting", file=sys.stderr)
        return 1
    return 0


def _require_kube_credentials(kubeconfig: str | None, context: str | None) -> None:
    """Log in once now and exit with the reason when that fails; otherwise the operator's
    start-up would fail and be retried every minute, forever. The same login then serves
    kopf and the operator's own client."""
    try:
        login.configure(kubeconfig, context).fresh()
    except login.LoginError as error:
        raise SystemExit(f"nks-operator run: {error}") from None
