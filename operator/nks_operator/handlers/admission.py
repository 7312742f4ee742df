"""kopf glue of the validating admission webhook (reconcile/admission.py decides).

Nothing registers on import: `nks-operator run --webhook-port` calls `register()`, so the
operator without a webhook never starts a server nor manages a webhook configuration.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import kopf
from pydantic import ValidationError

from nks_operator.api.cluster import ArgoCDRegistration
from nks_operator.api.resources import CLUSTER, GROUP, NODEGROUP, VERSION, Resource
from nks_operator.kube.client import KubeAPIError, KubeClient
from nks_operator.kube.login import process_login
from nks_operator.reconcile import admission, policy
from nks_operator.settings import OperatorSettings
from nks_operator.webhook import CABundleInjector, InjectionRefused, WebhookOptions, build_server

logger = logging.getLogger(__name__)

# DELETE is never intercepted: a resource must stay deletable whatever its spec says.
OPERATIONS: list[Literal["CREATE", "UPDATE"]] = ["CREATE", "UPDATE"]

Review = Callable[..., list[str]]


def handler_id(resource: Resource) -> str:
    """`validate-nkscluster`: the kopf handler id and the webhook's URL path."""
    return f"validate-{resource.singular}"


def review_request(
    review: Review, body: Mapping[str, Any], old: Mapping[str, Any] | None
) -> list[str]:
    """Problems with one admission request (`body` is the new object, `old` the stored one)."""
    metadata = body.get("metadata") or {}
    if metadata.get("deletionTimestamp"):
        return []  # finalizer removal during deletion must always go through
    return review(
        body.get("spec") or {},
        None if old is None else old.get("spec") or {},
        metadata.get("name") or "",
        old_status=None if old is None else old.get("status") or {},
        old_annotations=None if old is None else (old.get("metadata") or {}).get("annotations"),
    )


def argocd_policy(body: Mapping[str, Any], settings: OperatorSettings | None) -> list[str]:
    """The admin's Argo CD policy (reconcile/policy.py), refused at apply time too."""
    metadata = body.get("metadata") or {}
    raw = (body.get("spec") or {}).get("argocd")
    if settings is None or raw is None or metadata.get("deletionTimestamp"):
        return []
    try:
        registration = ArgoCDRegistration.model_validate(raw)
    except ValidationError:
        return []  # the spec review reports it
    return policy.argocd_refusals(settings, str(metadata.get("namespace") or ""), registration)


def _handler(review: Review, check_policy: bool) -> Callable[..., Any]:
    async def validate(body: kopf.Body, old: kopf.Body | None, memo: kopf.Memo, **_: Any) -> None:
        try:
            problems = review_request(review, body, old)
            if check_policy:
                problems += argocd_policy(body, memo.get("settings"))
        except Exception:
            # A bug here must not block every apply: the operator checks the spec again.
            logger.exception("admission review failed; admitting, the operator re-checks")
            return
        if problems:
            raise kopf.AdmissionError("; ".join(problems), code=422)

    return validate


def register(options: WebhookOptions, registry: kopf.OperatorRegistry | None = None) -> None:
    """Register the webhook server and both validation handlers with kopf."""
    server = build_server(options)  # fails now, before kopf starts, on a certificate problem

    @kopf.on.startup(id="webhook-server", registry=registry)
    def configure_webhook(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.admission.server = server
        settings.admission.managed = options.managed_config

    if options.inject_ca_config is not None:
        # Self-signed: the certificate is its own CA. Without a file kopf would make one
        # of its own, which could not be injected.
        if server.certfile is None:
            raise ValueError("the webhook server has no certificate file to inject as CA")
        _register_injection(options.inject_ca_config, Path(server.certfile).read_bytes(), registry)

    for resource, review, check_policy in (
        (CLUSTER, admission.review_cluster, True),
        (NODEGROUP, admission.review_nodegroup, False),
    ):
        kopf.on.validate(
            GROUP,
            VERSION,
            resource.plural,
            id=handler_id(resource),
            operations=OPERATIONS,
            ignore_failures=options.ignore_failures,
            registry=registry,
        )(_handler(review, check_policy))


def _register_injection(name: str, ca: bytes, registry: kopf.OperatorRegistry | None) -> None:
    """Write the CA bundle into the configuration `name` at start (the operator stops if it
    cannot: a missing configuration or missing RBAC), then keep it there."""

    @kopf.on.startup(id="webhook-ca-bundle", registry=registry)
    async def inject_ca_bundle(memo: kopf.Memo, **_: Any) -> None:
        client = KubeClient(process_login().consumer())
        injector = CABundleInjector(client, name, ca)
        try:
            await injector.inject()
        except InjectionRefused as error:
            await client.aclose()
            raise kopf.PermanentError(str(error)) from None
        except KubeAPIError as error:  # changed meanwhile, or the apiserver unavailable
            await client.aclose()
            raise kopf.TemporaryError(f"writing the webhook CA bundle: {error}", delay=5) from None
        memo.webhook_ca_client = client
        memo.webhook_ca_keeper = asyncio.create_task(injector.keep(), name="webhook CA bundle")

    @kopf.on.cleanup(id="webhook-ca-bundle", registry=registry)
    async def stop_injecting(memo: kopf.Memo, **_: Any) -> None:
        keeper: asyncio.Task[None] | None = memo.get("webhook_ca_keeper")
        if keeper is not None:
            keeper.cancel()
        client: KubeClient | None = memo.get("webhook_ca_client")
        if client is not None:
            await client.aclose()
