"""What every step of a pass needs: the NKS account, error reporting, the finalizer."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from nks_operator.api.status import CreationIntent
from nks_operator.control import events
from nks_operator.control.adapter import Location
from nks_operator.control.context import OperatorContext
from nks_operator.control.passes import (
    CREATE_REQUESTED_ANNOTATION,
    Pass,
    PassResult,
    Stop,
)
from nks_operator.kube import credentials as kube_credentials
from nks_operator.nks import errors
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile.outcome import Problem, Stage, Timing
from nks_operator.reconcile.reasons import Reason

logger = logging.getLogger(__name__)


class Steps:
    """Shared by the reconciler and its creation, operations and deletion steps."""

    def __init__(self, ctx: OperatorContext) -> None:
        self.ctx = ctx
        settings = ctx.settings
        self.timing = Timing(
            slow_seconds=settings.slow_poll_seconds,
            error_backoff_seconds=settings.error_backoff_seconds,
            fast_seconds=settings.fast_poll_seconds,
        )
        # How long a sent operation may take to show in NKS before it counts as dropped.
        self.confirm_seconds = max(30.0, settings.fast_poll_seconds * 10)

    def deadline(self, operation: str) -> float:
        """How long an operation may run before it is reported as timed out."""
        settings = self.ctx.settings
        if operation.endswith("_CREATE"):
            return settings.create_timeout_seconds
        if operation.endswith("_DELETE"):
            return settings.delete_timeout_seconds
        return settings.update_timeout_seconds

    # -- inputs ---------------------------------------------------------------------------

    async def account(self, p: Pass, location: Location) -> Account:
        try:
            creds = await kube_credentials.resolve(
                self.ctx.kube,
                p.namespace,
                location.credentials_secret,
                self.ctx.settings.default_credentials,
            )
        except kube_credentials.CredentialsProblem as problem:
            raise p.stop(Reason(problem.reason), problem.message) from None
        try:
            account = self.ctx.accounts.get(creds, location.region)
        except errors.ConfigurationError as error:  # e.g. unusable endpoint overrides
            raise p.stop(Reason.CREDENTIALS_INVALID, f"{creds.source}: {error}") from None
        p.credentials = creds
        events.clear_warnings(p.memory, Reason.CREDENTIALS_ERROR)
        return account

    async def supported(self, p: Pass, account: Account) -> Mapping[str, bool]:
        try:
            return await account.supported_versions()
        except errors.NKSError as error:
            raise self.nks_error(p, error) from None

    def nks_error(self, p: Pass, error: errors.NKSError, **fields: Any) -> Stop:
        if isinstance(error, errors.UnauthorizedError):
            creds = p.credentials
            if creds is not None and creds.secret is not None:
                self.ctx.kube.forget_secret(*creds.secret)
            return p.stop(
                Reason.CREDENTIALS_REJECTED, f"NKS rejected the credentials: {error}", **fields
            )
        # Nothing new is known: only Synced says what failed (the rest stays as it was).
        return Stop(
            p.assess(
                fields.pop("stage", Stage.OBSERVING),
                transient=Problem(Reason.NKS_UNAVAILABLE, f"NKS call failed: {error}"),
                **fields,
            )
        )

    async def secret_values(self, p: Pass) -> dict[tuple[str, str], str]:
        refs = [(ref.name, ref.key) for ref in p.adapter.secret_refs(p.spec)]
        try:
            return await kube_credentials.resolve_secret_keys(self.ctx.kube, p.namespace, refs)
        except kube_credentials.CredentialsProblem as problem:
            raise p.stop(Reason(problem.reason), problem.message) from None

    def watch(self, p: Pass, account: Account, cluster_id: str) -> ClusterSnapshot:
        poller = account.poller
        watching = p.memory.watching
        if watching != (poller, cluster_id):
            if watching is not None:
                watching[0].unwatch(watching[1], p.key)
            p.memory.watching = (poller, cluster_id)
        return poller.watch(cluster_id, p.key)

    # -- metadata: finalizer and create intent --------------------------------------------

    async def patch_metadata(self, p: Pass, metadata: dict[str, Any]) -> None:
        result = await self.ctx.kube.patch_metadata(
            p.adapter.resource,
            p.namespace,
            p.name,
            metadata,
            resource_version=p.meta.get("resourceVersion"),
        )
        if result is not None:
            self.ctx.cache.wrote_metadata(p.key, result)
            p.meta = (self.ctx.cache.get(p.key) or {"metadata": p.meta})["metadata"]
            p.body["metadata"] = p.meta

    def _finalizers_with_ours(self, p: Pass) -> list[str] | None:
        current = list(p.meta.get("finalizers") or [])
        if self.ctx.finalizer in current:
            return None
        return [*current, self.ctx.finalizer]

    async def ensure_finalizer(self, p: Pass) -> None:
        finalizers = self._finalizers_with_ours(p)
        if finalizers is not None:
            await self.patch_metadata(p, {"finalizers": finalizers})

    async def record_intent(self, p: Pass, intent: CreationIntent) -> None:
        """Finalizer and intent in one write: both must be durable before the call."""
        metadata: dict[str, Any] = {
            "annotations": {
                CREATE_REQUESTED_ANNOTATION: json.dumps(
                    intent.model_dump(mode="json", by_alias=True), sort_keys=True
                )
            }
        }
        finalizers = self._finalizers_with_ours(p)
        if finalizers is not None:
            metadata["finalizers"] = finalizers
        await self.patch_metadata(p, metadata)

    async def clear_intent(self, p: Pass) -> None:
        if CREATE_REQUESTED_ANNOTATION in p.annotations:
            await self.patch_metadata(p, {"annotations": {CREATE_REQUESTED_ANNOTATION: None}})
        p.status.creation = None

    async def release(self, p: Pass) -> PassResult:
        """Remove our finalizer: Kubernetes may delete the object now."""
        await p.adapter.released(p)
        finalizers = [f for f in (p.meta.get("finalizers") or []) if f != self.ctx.finalizer]
        await self.patch_metadata(p, {"finalizers": finalizers})
        self.ctx.forget(p.key)
        return PassResult(None)


def is_busy_refusal(error: errors.NKSError) -> bool:
    """NKS's 400 for "another operation is in progress": nothing happened, try later."""
    message = error.message.lower()
    return isinstance(error, errors.InvalidRequestError) and (
        "in progress" in message or "in_progress" in message
    )
