"""Operator start-up and shutdown: kopf settings and the dependencies built once."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from nks_operator import metrics
from nks_operator.api.resources import GROUP
from nks_operator.control.common import FINALIZER, OperatorContext
from nks_operator.control.registry import Registry
from nks_operator.handlers import shard
from nks_operator.kube.api import KubeAPI, load_api_client
from nks_operator.kube.diffbase import DigestDiffBaseStorage
from nks_operator.polling.accounts import Accounts
from nks_operator.settings import OperatorSettings

logger = logging.getLogger(__name__)


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # This project's own finalizer and annotation prefix, not kopf.zalando.org.
    settings.persistence.finalizer = shard.finalizer(FINALIZER)
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = DigestDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING  # kopf's own per-handler chatter stays in logs
    settings.watching.server_timeout = 300
    settings.background.cancellation_polling = 5
    operator_settings: OperatorSettings = memo.get("settings") or OperatorSettings.from_env()
    memo.ctx = OperatorContext(
        settings=operator_settings,
        kube=KubeAPI(load_api_client(memo.get("kubeconfig"))),
        accounts=Accounts(operator_settings),
        registry=Registry(),
    )
    if operator_settings.metrics_port:
        metrics.start_metrics_server(operator_settings.metrics_port)
        logger.info("metrics on :%d/metrics", operator_settings.metrics_port)
    for kind in ("nkscluster", "nksnodegroup"):
        metrics.register_controller(kind, 1)
    logger.info(
        "nks-operator started (fast poll %.1fs, slow poll %.1fs, default credentials: %s, "
        "shard selector: %s)",
        operator_settings.fast_poll_seconds,
        operator_settings.slow_poll_seconds,
        "yes" if operator_settings.default_credentials else "no",
        ",".join(f"{k}={v}" for k, v in shard.selector().items()) or "none",
    )


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """The pod's service account, else the kubeconfig KUBECONFIG names *now*.

    kopf's default goes through the kubernetes client, which fixes the kubeconfig path at
    import time; the demo and `--kubeconfig` set it later.
    """
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


@kopf.on.cleanup()
async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    ctx: OperatorContext | None = memo.get("ctx")
    if ctx is not None:
        await ctx.accounts.close()


@kopf.on.probe(id="accounts")
def accounts_probe(memo: kopf.Memo, **_: Any) -> int:
    """Liveness detail: how many NKS accounts are being polled."""
    ctx: OperatorContext | None = memo.get("ctx")
    return 0 if ctx is None else len(ctx.accounts._accounts)
