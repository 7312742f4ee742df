"""Leader election on a coordination.k8s.io Lease: one replica of a set reconciles.

The way client-go and controller-runtime do it: a replica becomes the leader by writing
its identity into the Lease when the Lease is free or its holder let it expire, keeps it by
renewing it every `retry_seconds`, and - when it cannot renew within `renew_deadline` -
gives up at once (its caller stops working and exits, so no two replicas ever act on NKS
together). Every write is conditional on the Lease's resourceVersion.

Expiry is timed on this replica's own clock, from when it last saw the Lease change (as
client-go does): the holder's `renewTime` comes from another node's clock, which may be
off. Each attempt is bounded by `renew_deadline`, so an apiserver that stops answering
cannot keep a leader working past the point where a standby may take over.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nks_operator.kube.client import KubeAPIError, KubeClient, KubeConflict, KubeNotFound

logger = logging.getLogger(__name__)

MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"


def default_identity() -> str:
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}_{secrets.token_hex(4)}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class LeaseSettings:
    name: str
    namespace: str
    lease_seconds: float = 15.0
    renew_deadline: float = 10.0
    retry_seconds: float = 2.0


class LeaderElection:
    def __init__(
        self,
        client: KubeClient,
        settings: LeaseSettings,
        *,
        identity: str | None = None,
        clock: Callable[[], datetime.datetime] = _now,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.settings = settings
        self.identity = identity or default_identity()
        self._clock = clock
        # Expiry and renewal are timed on `monotonic` and waited for with `sleep` (tests pass
        # a fake clock's); an attempt's deadline stays on the event loop's clock.
        self._monotonic = monotonic
        self._sleep = sleep
        self._path = (
            f"/apis/coordination.k8s.io/v1/namespaces/{settings.namespace}/leases/{settings.name}"
        )
        self.leading = False
        # The Lease record last seen and when (this replica's monotonic clock).
        self._seen: tuple[Any, ...] | None = None
        self._seen_at = 0.0

    async def _attempt(self) -> bool:
        """`_try` bounded by the renew deadline (a timeout counts as a failed attempt)."""
        try:
            return await asyncio.wait_for(self._try(), self.settings.renew_deadline)
        except TimeoutError:
            raise KubeAPIError(0, "Timeout", "the apiserver did not answer in time") from None

    async def acquire(self) -> None:
        """Return once this replica holds the Lease (waits while another one does)."""
        announced = False
        while True:
            try:
                if await self._attempt():
                    self.leading = True
                    logger.info("Leading as %s (lease %s)", self.identity, self._path)
                    return
                if not announced:
                    logger.info("Standing by: another replica holds lease %s", self._path)
                    announced = True
            except KubeAPIError as error:
                logger.warning("Lease %s: %s; trying again", self._path, error)
            await self._sleep(self.settings.retry_seconds)

    async def keep(self) -> None:
        """Renew the Lease until that fails for `renew_deadline`; then return (lost)."""
        last_renewed = self._monotonic()
        while True:
            await self._sleep(self.settings.retry_seconds)
            try:
                if await self._attempt():
                    last_renewed = self._monotonic()
                    continue
                logger.error("Lease %s was taken by another replica", self._path)
            except KubeAPIError as error:
                logger.warning("Renewing lease %s failed: %s", self._path, error)
                if self._monotonic() - last_renewed < self.settings.renew_deadline:
                    continue
            self.leading = False
            return

    async def release(self) -> None:
        """Hand the Lease over at a clean shutdown, so a standby takes it at once."""
        if not self.leading:
            return
        self.leading = False
        try:
            lease = await self.client.request("GET", self._path)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            spec = {**spec, "holderIdentity": None, "leaseDurationSeconds": 1}
            await self.client.request("PUT", self._path, body={**lease, "spec": spec})
        except KubeAPIError as error:
            logger.info("Could not release lease %s: %s", self._path, error)

    async def _try(self) -> bool:
        """One attempt to take or renew the Lease; True when this replica holds it."""
        now = self._clock()
        stamp = now.strftime(MICRO)
        try:
            lease = await self.client.request("GET", self._path)
        except KubeNotFound:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.settings.name, "namespace": self.settings.namespace},
                "spec": {
                    "holderIdentity": self.identity,
                    "leaseDurationSeconds": int(self.settings.lease_seconds),
                    "acquireTime": stamp,
                    "renewTime": stamp,
                    "leaseTransitions": 0,
                },
            }
            try:
                await self.client.request("POST", self._path.rsplit("/", 1)[0], body=body)
            except KubeConflict:
                return False  # another replica created it first
            return True
        spec = dict(lease.get("spec") or {})
        holder = spec.get("holderIdentity")
        record = (holder, spec.get("renewTime"), spec.get("leaseTransitions"))
        clock = self._monotonic()
        if record != self._seen:
            self._seen, self._seen_at = record, clock
        if holder and holder != self.identity:
            duration = float(spec.get("leaseDurationSeconds") or self.settings.lease_seconds)
            if clock - self._seen_at < duration:
                return False  # held, and renewed within its duration as far as we can see
        if holder != self.identity:
            spec["acquireTime"] = stamp
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        spec["holderIdentity"] = self.identity
        spec["leaseDurationSeconds"] = int(self.settings.lease_seconds)
        spec["renewTime"] = stamp
        try:
            await self.client.request("PUT", self._path, body={**lease, "spec": spec})
        except KubeConflict:
            return False  # someone else wrote it meanwhile: read again next time
        return True
