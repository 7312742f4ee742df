"""The simulator's engine without HTTP: state, tokens, faults, call log and lifecycles, plus
the request context and reply types the operation handlers use."""

from __future__ import annotations

import copy
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nks_devtools.simulator.calls import CallRecorder
from nks_devtools.simulator.config import SimulatorConfig
from nks_devtools.simulator.faults import FaultInjector
from nks_devtools.simulator.identity import Token, TokenStore
from nks_devtools.simulator.lifecycle import Lifecycle
from nks_devtools.simulator.state import Store, Tenant

Clock = Callable[[], float]


@dataclass
class Reply:
    """What an operation handler answers: status and a JSON document (or none)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RequestContext:
    """Who calls, when, and how the answer should look (links use the caller's base URL)."""

    tenant: Tenant
    token: Token
    now: float
    base_url: str
    request_id: str
    fail_reason: str | None = None  # set by a `fail_async` fault


class Simulator:
    """One NKS region's worth of state and behaviour, shared by every request."""

    def __init__(self, config: SimulatorConfig | None = None, clock: Clock = time.time) -> None:
        self.config = config or SimulatorConfig()
        self.clock = clock
        self.rng = random.Random(self.config.seed)
        self.store = Store()
        self.tokens = TokenStore()
        self.faults = FaultInjector(self.config.faults)
        self.calls = CallRecorder(self.config.call_log_size)
        self.lifecycle = Lifecycle(self.store, self.config, self.new_uuid)

    def now(self) -> float:
        return self.clock()

    def new_uuid(self) -> str:
        """UUIDs from the seeded RNG, so a seeded run creates the same ids every time."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def advance(self) -> float:
        """Finish every asynchronous operation that is due; returns the current time."""
        now = self.now()
        self.lifecycle.advance(now)
        return now

    def snapshot_tenant(self, tenant_id: str) -> Tenant:
        return copy.deepcopy(self.store.tenant(tenant_id))

    def restore_tenant(self, snapshot: Tenant) -> None:
        self.store.tenants[snapshot.id] = snapshot

    def reset(
        self, state: bool = True, calls: bool = True, faults: bool = True, tokens: bool = False
    ) -> None:
        if state:
            self.store.clear()
            self.lifecycle.clear()
        if calls:
            self.calls.reset()
        if faults:
            self.faults.clear()
        if tokens:
            self.tokens.expire_all()
