"""`nks-operator run`: the operator itself."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
from typing import Any

from nks_operator import webhook
from nks_operator.settings import OperatorSettings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the operator",
        description=(
            "Watch NKSCluster and NKSNodeGroup resources and reconcile them with NKS. Uses "
            "the in-cluster service account, else the current kubeconfig. Default credentials "
            "come from NKS_TENANT_ID / NKS_USERNAME / NKS_PASSWORD (and NKS_IDENTITY_URL, "
            "NKS_URL)."
        ),
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "-A", "--all-namespaces", action="store_true", help="watch every namespace (default)"
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
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster or ~/.kube)")
    parser.add_argument(
        "--liveness",
        default=os.environ.get("NKS_LIVENESS_ENDPOINT", "http://0.0.0.0:8080/healthz"),
        help="liveness endpoint URL (default %(default)s; empty to disable)",
    )
    parser.add_argument("--fast-poll", type=float, help="seconds between polls while NKS is busy")
    parser.add_argument("--slow-poll", type=float, help="seconds between steady-state resyncs")
    parser.add_argument("--error-backoff", type=float, help="retry delay after user errors")
    parser.add_argument(
        "--workers",
        type=int,
        help="resources reconciled concurrently (default 16; env NKS_WORKERS)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=int(os.environ.get("NKS_METRICS_PORT") or 0),
        help="serve Prometheus metrics on this port at /metrics (0: off; env NKS_METRICS_PORT)",
    )
    parser.add_argument(
        "--peering",
        metavar="NAME",
        help="kopf peering name for an active/standby pair (needs kopf's peering CRDs)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("NKS_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
    )
    parser.add_argument(
        "--log-format",
        default=os.environ.get("NKS_LOG_FORMAT", "plain"),
        choices=["plain", "full", "json"],
    )
    webhook.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # The operator talks to Kubernetes through its own httpx client; kopf would import the
    # official client (22 MiB) only to recognise its objects, which the operator never has.
    if "kubernetes" not in sys.modules:
        sys.modules["kubernetes"] = None  # type: ignore[assignment]
    import kopf

    import nks_operator.handlers  # noqa: F401  (registers the handlers)
    from nks_operator.handlers import shard

    try:
        selector = shard.parse_selector(args.selector)
    except shard.SelectorError as error:
        raise SystemExit(f"nks-operator run: {error}") from None

    settings = OperatorSettings.from_env(
        fast_poll_seconds=args.fast_poll,
        slow_poll_seconds=args.slow_poll,
        error_backoff_seconds=args.error_backoff,
        metrics_port=args.metrics_port,
        workers=args.workers,
        selector=selector or None,
    )
    if args.kubeconfig:
        os.environ["KUBECONFIG"] = args.kubeconfig
    log_format = {
        "plain": kopf.LogFormat.PLAIN,
        "full": kopf.LogFormat.FULL,
        "json": kopf.LogFormat.JSON,
    }[args.log_format]
    # kopf's "verbose" means DEBUG (whole bodies on every event): only for --log-level DEBUG.
    kopf.configure(
        debug=args.log_level == "DEBUG",
        quiet=args.log_level in ("WARNING", "ERROR"),
        log_format=log_format,
    )
    if args.log_level == "ERROR":
        logging.getLogger().setLevel(logging.ERROR)
    # Transport chatter stays out of the operator's log.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    webhook_options = webhook.options_from_args(args)
    if webhook_options is not None:
        # Imported only now: without --webhook-port no server runs and no configuration
        # is managed.
        from nks_operator.handlers import admission

        admission.register(webhook_options)
    memo = kopf.Memo(settings=settings, kubeconfig=args.kubeconfig)
    asyncio.run(
        kopf.operator(
            clusterwide=not args.namespace,
            namespaces=args.namespace,
            liveness_endpoint=args.liveness or None,
            standalone=args.peering is None,
            peering_name=args.peering,
            # Peers of equal priority all pause in kopf; a random one makes exactly one
            # replica active and the others standby.
            priority=random.randint(1, 2**30) if args.peering else 0,
            memo=memo,
        )
    )
    return 0
