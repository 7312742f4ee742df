"""The parts of a reconcile pass both kinds share: inputs, error reporting, retries."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from nks_operator.api.resources import Resource
from nks_operator.api.status import ResourceStatus
from nks_operator.api.worker import WorkerSpec
from nks_operator.control.common import OperatorContext, StatusWriter, clear_warning, post_event
from nks_operator.control.registry import ResourceSlot
from nks_operator.kube import credentials as kube_credentials
from nks_operator.nks import errors
from nks_operator.polling.accounts import Account
from nks_operator.reconcile import conditions, payloads

StatusT = TypeVar("StatusT", bound=ResourceStatus)


class Retry(Exception):
    """Stop this pass; the next one starts after `delay` seconds (or when woken)."""

    def __init__(self, delay: float) -> None:
        super().__init__(delay)
        self.delay = delay


def parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def age_seconds(value: str | None) -> float:
    parsed = parse_time(value)
    if parsed is None:
        return 1e9
    return (datetime.datetime.now(datetime.UTC) - parsed).total_seconds()


class ResourcePass(Generic[StatusT]):
    """One pass over one resource; subclasses implement `_run()`."""

    resource: Resource
    status_model: type[StatusT]

    def __init__(self, ctx: OperatorContext, body: dict[str, Any], slot: ResourceSlot) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.body = body
        self.slot = slot
        self.meta = body["metadata"]
        self.namespace: str = self.meta["namespace"]
        self.name: str = self.meta["name"]
        self.status: StatusT = self.status_model.model_validate(body.get("status") or {})
        self.writer = StatusWriter(ctx, self.resource, body, self.status)

    async def run(self) -> float:
        """Returns the seconds until the next pass (earlier when woken)."""
        try:
            delay = await self._run()
        except Retry as retry:
            delay = retry.delay
        await self.writer.flush()
        return delay

    async def _run(self) -> float:
        raise NotImplementedError

    def _has_nks_id(self) -> bool:
        raise NotImplementedError

    # -- inputs ------------------------------------------------------------------------

    async def _account(self, region: str, secret_name: str | None) -> Account:
        self.slot.secrets = {secret_name} if secret_name else set()
        try:
            creds = await kube_credentials.resolve(
                self.ctx.kube, self.namespace, secret_name, self.settings.default_credentials
            )
        except kube_credentials.CredentialsProblem as problem:
            self._credentials_problem(problem.reason, problem.message)
            raise Retry(self.settings.error_backoff_seconds) from None
        try:
            account = self.ctx.accounts.get(creds, region)
        except errors.ConfigurationError as error:  # e.g. unusable endpoint overrides
            self._credentials_problem("CredentialsInvalid", f"{creds.source}: {error}")
            raise Retry(self.settings.error_backoff_seconds) from None
        clear_warning(self.slot, "CredentialsError")
        ready = conditions.find(self.status.conditions, conditions.READY)
        if ready is not None and ready.reason.startswith("Credentials"):
            # The problem is fixed; say so until this pass (or a later one) knows more.
            self.writer.ready("Unknown", "CredentialsResolved", f"using {creds.source}")
        return account

    async def _supported(self, account: Account) -> Mapping[str, bool]:
        try:
            return await account.supported_versions()
        except errors.UnauthorizedError as error:
            self._credentials_problem(
                "CredentialsRejected", f"NKS rejected the credentials: {error}"
            )
            raise Retry(self.settings.error_backoff_seconds) from None
        except errors.NKSError as error:
            self._nks_unavailable(error)
            raise Retry(self._backoff_for(error)) from None

    async def _secret_values(self, worker: WorkerSpec) -> payloads.SecretValues:
        refs = [(ref.name, ref.key) for ref in payloads.secret_refs(worker)]
        self.slot.secrets |= {name for name, _ in refs}
        try:
            return await kube_credentials.resolve_secret_keys(self.ctx.kube, self.namespace, refs)
        except kube_credentials.CredentialsProblem as problem:
            self._problem(problem.reason, problem.message)
            raise Retry(self.settings.error_backoff_seconds) from None

    # -- reporting ---------------------------------------------------------------------

    def _problem(self, reason: str, message: str, *, event_reason: str | None = None) -> None:
        """Ready=False and Synced=False for a problem a user must fix, with one Warning."""
        self.writer.ready("False", reason, message)
        self.writer.synced("False", reason, message)
        post_event(self.body, self.slot, "Warning", event_reason or reason, message, once=True)

    def _credentials_problem(self, reason: str, message: str) -> None:
        if not self._has_nks_id():
            self.status.phase = "Pending"
        self._problem(reason, message, event_reason="CredentialsError")

    def _invalid(self, problems: list[str]) -> None:
        if not self._has_nks_id():
            self.status.phase = "Failed"
        self._problem("InvalidSpec", "; ".join(problems))

    def _nks_unavailable(self, error: errors.NKSError) -> None:
        if isinstance(error, errors.UnauthorizedError):
            self._credentials_problem(
                "CredentialsRejected", f"NKS rejected the credentials: {error}"
            )
            return
        self.writer.synced("False", "NKSUnavailable", f"NKS call failed: {error}")

    def _backoff_for(self, error: errors.NKSError) -> float:
        if isinstance(error, errors.RateLimitedError) and error.retry_after:
            return max(error.retry_after, self.settings.fast_poll_seconds)
        return min(self.settings.error_backoff_seconds, self.settings.fast_poll_seconds * 3)
