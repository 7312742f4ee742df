"""What every step of a pass needs: the NKS account, error reporting, the finalizer."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from nks_operator.api.operations import operation_type
from nks_operator.api.status import CreationIntent
from nks_operator.control import events
from nks_operator.control.adapter import Location
from nks_operator.control.context import OperatorContext
from nks_operator.control.passes import (
    CREATE_REQUESTED_ANNOTATION,
    AnyPass,
    Released,
    Stop,
    intent_parts,
    parse_intent,
)
from nks_operator.kube import credentials as kube_credentials
from nks_operator.kube.ownership import Owner
from nks_operator.nks import errors
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile.outcome import Problem, Stage, Timing
from nks_operator.reconcile.reasons import Reason
from nks_operator.runtime.cache import ObjectKey

logger = logging.getLogger(__name__)

# How long a pass waits for one of its account's slots before it is retried with backoff.
SLOT_WAIT_SECONDS = 1.0


class AccountBusy(Exception):
    """Every pass slot of the account is taken: nothing was done, retry with backoff."""


class SharedSteps:
    """The steps the reconciler and its creation, operations and deletion phases share:
    one object, built once and handed to each."""

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
        kind = operation_type(operation)
        if kind is not None and kind.is_create:
            return settings.create_timeout_seconds
        if kind is not None and kind.is_delete:
            return settings.delete_timeout_seconds
        return settings.update_timeout_seconds

    # -- inputs ---------------------------------------------------------------------------

    async def account(self, p: AnyPass, location: Location) -> Account:
        settings = self.ctx.settings
        try:
            creds = await kube_credentials.resolve(
                self.ctx.kube,
                p.namespace,
                location.credentials_secret,
                settings.default_credentials,
                defaults_allowed=settings.default_credentials_allowed(p.namespace),
            )
        except kube_credentials.CredentialsProblem as problem:
            raise p.stop(Reason(problem.reason), problem.message) from None
        await self.hold_credentials(p, creds)
        try:
            account = self.ctx.accounts.get(creds, location.region)
        except errors.EndpointNotAllowedError as error:
            if creds.secret is not None:
                self.ctx.kube.forget_secret(*creds.secret)
            raise p.stop(Reason.ENDPOINT_NOT_ALLOWED, f"{creds.source}: {error}") from None
        except errors.ConfigurationError as error:  # e.g. unusable endpoint overrides
            raise p.stop(Reason.CREDENTIALS_INVALID, f"{creds.source}: {error}") from None
        # One slow or hostile account holds at most its share of the workers.
        if not await account.acquire_pass_slot(SLOT_WAIT_SECONDS):
            raise AccountBusy(account.key.label)
        p.slot = account
        p.credentials = creds
        events.clear_warnings(p.memory, Reason.CREDENTIALS_ERROR)
        return account

    # -- the credentials Secret's finalizer -------------------------------------------------

    async def hold_credentials(
        self, p: AnyPass, creds: kube_credentials.ResolvedCredentials
    ) -> None:
        """Keep the credentials Secret while a resource refers to it: a namespace deleted
        with its resources must not take the credentials their NKS deletion needs."""
        previous = p.memory.credentials_secret
        current = creds.secret[1] if creds.secret is not None else None
        secret = creds.secret_object
        if secret is not None and current is not None:
            meta = secret.get("metadata") or {}
            finalizers = list(meta.get("finalizers") or [])
            # A Secret being deleted accepts no new finalizer; it keeps those it has.
            if self.ctx.credentials_finalizer not in finalizers and not meta.get(
                "deletionTimestamp"
            ):
                await self.ctx.kube.patch_secret_finalizers(
                    p.namespace, secret, [*finalizers, self.ctx.credentials_finalizer]
                )
        p.memory.credentials_secret = current
        if previous is not None and previous != current:
            await self.free_credentials(p.namespace, previous, None)

    async def free_credentials(
        self, namespace: str, name: str, releasing: ObjectKey | None
    ) -> None:
        """Drop the Secret's finalizer once no NKSCluster of this operator refers to it
        (node groups use their cluster's; one without its cluster needs none)."""
        for key in self.ctx.cache.keys():  # noqa: SIM118 (keys() of all kinds, not a dict)
            body = self.ctx.cache.get(key) or {}
            if key != releasing and key.namespace == namespace and credentials_ref(body) == name:
                return
        secret = await self.ctx.kube.read_secret(namespace, name)
        if secret is None:
            return
        finalizers = list((secret.get("metadata") or {}).get("finalizers") or [])
        if self.ctx.credentials_finalizer in finalizers:
            finalizers.remove(self.ctx.credentials_finalizer)
            await self.ctx.kube.patch_secret_finalizers(namespace, secret, finalizers)

    # -- ownership of the NKS resource ------------------------------------------------------

    def owner(self, p: AnyPass) -> Owner:
        return Owner.of(p.key.kind, p.meta)

    async def managed_id(self, p: AnyPass, candidate: str) -> str | None:
        """The NKS id this resource manages: `candidate` (from its status or spec) when it
        holds, or now takes, its ownership record; else the id its own record names (its
        status was written by someone else); else None (another resource manages it)."""
        resource = p.adapter.facts.nks_resource
        if await self.ctx.ownerships.claim(resource, candidate, self.owner(p)):
            return candidate
        held = await self.ctx.ownerships.held_by(resource, self.owner(p))
        return held[0] if held else None

    async def own(self, p: AnyPass, nks_id: str) -> None:
        """Hold the NKS resource's ownership record, or stop: another resource manages it.
        Nothing of that resource (its id, name or namespace) goes into the message."""
        managed = await self.managed_id(p, nks_id)
        facts = p.adapter.facts
        if managed is None:
            raise p.stop(
                Reason.MANAGED_ELSEWHERE,
                f"the NKS {facts.noun} this resource names is managed by another "
                f"{facts.resource.kind}; this one reads, changes and deletes nothing of it",
            )
        if managed != nks_id:
            p.adapter.identity.restore_id(p.status, managed)
            p.warn_once(
                Reason.MANAGED_ELSEWHERE,
                f"the status named an NKS {facts.noun} managed by another resource; "
                f"restored the one this resource manages ({managed}) from the operator's record",
            )

    # -- the create intent ------------------------------------------------------------------

    async def intent(self, p: AnyPass) -> CreationIntent | None:
        """The create intent, if the operator wrote it: a hand-written or copied
        annotation does not verify and is ignored (it must not make a pass adopt a
        cluster by name)."""
        intent = parse_intent(p.body)
        if intent is None:
            return None
        parts = intent_parts(p.key.kind, p.meta["uid"], intent)
        if await self.ctx.signing.verify(intent.signature, *parts):
            return intent
        p.warn_once(
            Reason.NOT_PERMITTED,
            f"the {CREATE_REQUESTED_ANNOTATION} annotation was not written by the operator "
            "for this resource; it is ignored",
        )
        return None

    async def supported(self, p: AnyPass, account: Account) -> Mapping[str, bool]:
        try:
            return await account.supported_versions()
        except errors.NKSError as error:
            raise self.nks_error(p, error) from None

    def nks_error(self, p: AnyPass, error: errors.NKSError, **fields: Any) -> Stop:
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

    async def secret_values(self, p: AnyPass) -> dict[tuple[str, str], str]:
        refs = [(ref.name, ref.key) for ref in p.adapter.creating.secret_refs(p.spec)]
        try:
            return await kube_credentials.resolve_secret_keys(self.ctx.kube, p.namespace, refs)
        except kube_credentials.CredentialsProblem as problem:
            raise p.stop(Reason(problem.reason), problem.message) from None

    def watch(self, p: AnyPass, account: Account, cluster_id: str) -> ClusterSnapshot:
        poller = account.poller
        watching = p.memory.watching
        if watching != (poller, cluster_id):
            if watching is not None:
                watching[0].unwatch(watching[1], p.key)
            p.memory.watching = (poller, cluster_id)
        return poller.watch(cluster_id, p.key)

    # -- metadata: finalizer and create intent --------------------------------------------

    async def patch_metadata(self, p: AnyPass, metadata: dict[str, Any]) -> None:
        result = await self.ctx.kube.patch_metadata(
            p.adapter.facts.resource,
            p.namespace,
            p.name,
            metadata,
            resource_version=p.meta.get("resourceVersion"),
        )
        if result is not None:
            self.ctx.cache.wrote_metadata(p.key, result)
            p.meta = (self.ctx.cache.get(p.key) or {"metadata": p.meta})["metadata"]
            p.body["metadata"] = p.meta

    def _finalizers_with_ours(self, p: AnyPass) -> list[str] | None:
        current = list(p.meta.get("finalizers") or [])
        if self.ctx.finalizer in current:
            return None
        return [*current, self.ctx.finalizer]

    async def ensure_finalizer(self, p: AnyPass) -> None:
        finalizers = self._finalizers_with_ours(p)
        if finalizers is not None:
            await self.patch_metadata(p, {"finalizers": finalizers})

    async def record_intent(self, p: AnyPass, intent: CreationIntent) -> None:
        """Finalizer and intent in one write: both must be durable before the call."""
        parts = intent_parts(p.key.kind, p.meta["uid"], intent)
        intent = intent.model_copy(update={"signature": await self.ctx.signing.sign(*parts)})
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

    async def clear_intent(self, p: AnyPass) -> None:
        if CREATE_REQUESTED_ANNOTATION in p.annotations:
            await self.patch_metadata(p, {"annotations": {CREATE_REQUESTED_ANNOTATION: None}})

    async def release(self, p: AnyPass, nks_id: str | None = None) -> Released:
        """Remove our finalizer: Kubernetes may delete the object now. The ownership
        record of `nks_id` (if this resource holds it) and the credentials Secret's
        finalizer (if nothing else refers to it) go first."""
        await p.adapter.deleting.released(p)
        if nks_id is not None:
            await self.ctx.ownerships.release(p.adapter.facts.nks_resource, nks_id, self.owner(p))
        ref = credentials_ref(p.body)
        if ref:
            await self.free_credentials(p.namespace, ref, p.key)
        finalizers = [f for f in (p.meta.get("finalizers") or []) if f != self.ctx.finalizer]
        await self.patch_metadata(p, {"finalizers": finalizers})
        self.ctx.forget(p.key)
        return Released()


def credentials_ref(body: Mapping[str, Any]) -> str | None:
    """The credentials Secret a resource's spec names (a node group's is its cluster's)."""
    ref = ((body.get("spec") or {}).get("credentialsRef") or {}).get("name")
    return str(ref) if ref else None


def is_busy_refusal(error: errors.NKSError) -> bool:
    """NKS's 400 for "another operation is in progress": nothing happened, try later."""
    message = error.message.lower()
    return isinstance(error, errors.InvalidRequestError) and (
        "in progress" in message or "in_progress" in message
    )
