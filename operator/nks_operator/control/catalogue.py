"""NKS's add-on catalogue per account, read only when a spec manages add-ons and kept like
the supported versions (`settings.supports_ttl_seconds`): it is the same for every
cluster of an account and changes rarely, so checking a spec against it adds no call per
pass."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable

from nks_operator.polling.accounts import Account
from nks_operator.reconcile.addons import Catalogue


class Catalogues:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cached: dict[Hashable, tuple[float, Catalogue]] = {}
        self._locks: dict[Hashable, asyncio.Lock] = {}

    async def get(self, account: Account, ttl: float) -> Catalogue:
        """The account's catalogue (entries and types), read at most once per `ttl`
        seconds, one read shared by every pass that asks meanwhile."""
        key = account.key
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cached.get(key)
            if cached is None or self._clock() - cached[0] > ttl:
                entries = await account.client.list_addon_catalogue()
                types = await account.client.list_addon_types()
                unreadable = [entry.describe() for entry in entries.unreadable]
                cached = (self._clock(), Catalogue.of(entries, types, unreadable))
                self._cached[key] = cached
            return cached[1]
