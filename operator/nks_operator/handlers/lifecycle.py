"""Operator start-up and shutdown: kopf's settings and the runtime built once."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import kopf

from nks_operator.api import relations
from nks_operator.api.resources import CLUSTER, GROUP, NODEGROUP
from nks_operator.control.cluster import ClusterAdapter
from nks_operator.control.context import OperatorContext
from nks_operator.control.nodegroup import NodeGroupAdapter
from nks_operator.control.reconciler import Reconciler
from nks_operator.handlers import shard
from nks_operator.handlers.diffbase import NoDiffBase
from nks_operator.kube.api import KubeAPI
from nks_operator.kube.client import KubeClient
from nks_operator.kube.events import EventPoster
from nks_operator.kube.login import process_login
from nks_operator.kube.ownership import Ownerships
from nks_operator.kube.signing import SigningKey
from nks_operator.metrics import OperatorMetrics
from nks_operator.polling.accounts import Accounts
from nks_operator.runtime.cache import ObjectCache
from nks_operator.runtime.leader import LeaderElection, LeaseSettings
from nks_operator.runtime.workers import Workers
from nks_operator.runtime.workqueue import WorkQueue
from nks_operator.settings import OperatorSettings

logger = logging.getLogger(__name__)

FINALIZER = f"{GROUP}/finalizer"
CREDENTIALS_FINALIZER = f"{GROUP}/credentials-in-use"
# kopf removes its own finalizer from objects no handler of its needs; the operator manages
# its finalizer itself, so kopf's is a name no object carries.
KOPF_FINALIZER = f"{GROUP}/kopf-unused"
IDLE_WORKER_SECONDS = 0.5  # kopf's default: 5


def build_context(settings: OperatorSettings, metrics: OperatorMetrics) -> OperatorContext:
    queue: WorkQueue[Any] = WorkQueue(metrics=metrics.queue_metrics())
    client = KubeClient(process_login().consumer())
    kube = KubeAPI(client, secret_ttl=settings.slow_poll_seconds)
    accounts = Accounts(settings, wake=queue.add, metrics=metrics.nks_request_hook)
    return OperatorContext(
        settings=settings,
        kube=kube,
        events=EventPoster(client),
        accounts=accounts,
        cache=ObjectCache(
            parent_of=relations.PARENT_OF,
            children_view=relations.SEEN_BY_CHILDREN,
            own_annotations=relations.OWN_ANNOTATIONS,
        ),
        queue=queue,
        metrics=metrics,
        finalizer=shard.finalizer(FINALIZER, settings.selector),
        credentials_finalizer=shard.finalizer(CREDENTIALS_FINALIZER, settings.selector),
        ownerships=Ownerships(kube),
        signing=SigningKey(kube, settings.own_namespace, settings.signing_key_secret),
        selector=settings.selector,
    )


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = KOPF_FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.posting.level = logging.WARNING  # kopf's own per-handler chatter stays in logs
    settings.watching.server_timeout = 300
    # kopf keeps a worker per object for this long after its last watch event, holding
    # that event (the whole object as decoded, managedFields included): under a burst of
    # thousands of objects, megabytes the cache already holds trimmed. Events come seconds
    # apart per object, so a short wait loses nothing (BENCHMARKS.md, issue 21).
    settings.queueing.idle_timeout = IDLE_WORKER_SECONDS
    operator_settings = _with_namespace(memo.get("settings") or OperatorSettings.from_env())
    memo.settings = operator_settings
    metrics = OperatorMetrics()
    ctx = build_context(operator_settings, metrics)
    reconciler = Reconciler(
        ctx, {CLUSTER.kind: ClusterAdapter(), NODEGROUP.kind: NodeGroupAdapter()}
    )
    workers = Workers(
        ctx.queue,
        reconciler.reconcile,
        count=operator_settings.workers,
        metrics=metrics,
        resync_seconds=operator_settings.slow_poll_seconds,
    )
    memo.ctx = ctx
    memo.workers = workers
    if operator_settings.metrics_port:
        memo.metrics_server = metrics.start_server(operator_settings.metrics_port)
        logger.info("metrics on :%d/metrics", operator_settings.metrics_port)
    for kind in (CLUSTER.kind, NODEGROUP.kind):
        metrics.register_controller(kind.lower(), operator_settings.workers)
    if operator_settings.leader_election:
        memo.leading = asyncio.create_task(_lead(ctx, workers, memo), name="leader election")
    else:
        ctx.events.start()
        workers.start()
    logger.info(
        "nks-operator started (%d workers, fast poll %.1fs, slow poll %.1fs, default "
        "credentials: %s, shard selector: %s)",
        operator_settings.workers,
        operator_settings.fast_poll_seconds,
        operator_settings.slow_poll_seconds,
        "yes" if operator_settings.default_credentials else "no",
        ",".join(f"{k}={v}" for k, v in operator_settings.selector.items()) or "none",
    )


def _with_namespace(settings: OperatorSettings) -> OperatorSettings:
    """The operator's namespace: the setting, else the kubeconfig context's (or the service
    account's), else "default"."""
    if settings.operator_namespace:
        return settings
    namespace = process_login().namespace() or "default"
    return dataclasses.replace(settings, operator_namespace=namespace)


def _lease_namespace(settings: OperatorSettings) -> str:
    if settings.leader_election_namespace:
        return settings.leader_election_namespace
    return process_login().namespace() or "default"


async def _lead(ctx: OperatorContext, workers: Workers, memo: kopf.Memo) -> None:
    """Work only while holding the Lease; on losing it, stop at once and end the process
    (a restarted replica stands by), as controller-runtime does."""
    settings = ctx.settings
    assert settings.leader_election is not None
    election = LeaderElection(
        ctx.kube.client,
        LeaseSettings(settings.leader_election, _lease_namespace(settings)),
    )
    memo.election = election
    await election.acquire()
    ctx.events.start()
    workers.start()
    await election.keep()
    logger.error("Lost the leader election Lease: stopping")
    await workers.stop()
    await ctx.accounts.close()
    memo.leadership_lost = True
    stop = memo.get("stop")
    if stop is not None:
        stop.set()


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo | None:
    """kopf logs in with the operator's own login (kube/login.py: `--kubeconfig`,
    `--context`, exec plugins, in-cluster): kopf and the operator's client use the same
    credentials. kopf calls this again after a 401 and when they expire, and gets fresh
    ones then."""
    return process_login().for_kopf()


@kopf.on.cleanup()
async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    leading: asyncio.Task[None] | None = memo.get("leading")
    if leading is not None and not leading.done():
        leading.cancel()
    workers: Workers | None = memo.get("workers")
    if workers is not None:
        await workers.stop()
    election: LeaderElection | None = memo.get("election")
    if election is not None:
        await election.release()
    ctx: OperatorContext | None = memo.get("ctx")
    if ctx is not None:
        await ctx.events.flush()
        await ctx.events.stop()
        await ctx.accounts.close()
        await ctx.kube.client.aclose()
    server = memo.get("metrics_server")
    if server is not None:
        server[0].shutdown()


@kopf.on.probe(id="accounts")
def accounts_probe(memo: kopf.Memo, **_: Any) -> int:
    """Liveness detail: how many NKS accounts are being polled."""
    ctx: OperatorContext | None = memo.get("ctx")
    return 0 if ctx is None else len(ctx.accounts)
