"""Fault injection: rules that make chosen operations slow, failing, throttled or lossy.

A rule matches an operation name (or "*"), fires with a probability drawn from a seeded
RNG (so a run is repeatable) and optionally only for its first `count` hits. Latency
rules add up; the first other rule that fires decides what happens to the call.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nks_operator.nks.operations import Operation

FaultAction = Literal[
    "error", "throttle", "busy", "latency", "drop_response", "silent_drop", "fail_async"
]


class FaultRule(BaseModel):
    """One fault: what it does, to which operation, how often and how many times.

    - `error`: answer `status` (500/502/503/504, ...) without touching the state; `body`
      picks a JSON error, an HTML gateway page or nothing.
    - `throttle`: answer 429 with `Retry-After: retry_after` without touching the state.
    - `busy`: refuse a write as NKS does while another operation runs on the cluster (400,
      "Operation in progress ..."), without touching the state: the cluster turned busy
      between the caller's read and its call.
    - `latency`: wait `latency` seconds before handling the call (combines with others).
    - `drop_response`: handle the call (the change is applied), then lose the answer:
      `drop_mode` "error" answers 500, "close" closes the connection, "timeout" hangs
      `hang` seconds and closes.
    - `silent_drop`: validate and answer as usual (202), but change nothing - the NKS quirk.
    - `fail_async`: accept the call; its asynchronous operation ends `*_FAILED`.
    """

    model_config = ConfigDict(extra="forbid")

    operation: str = "*"
    action: FaultAction
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    status: int = Field(default=503, ge=400, le=599)
    body: Literal["json", "html", "empty"] = "json"
    retry_after: float = Field(default=1.0, ge=0)
    latency: float = Field(default=0.0, ge=0)
    drop_mode: Literal["error", "close", "timeout"] = "error"
    hang: float = Field(default=30.0, ge=0)
    count: int | None = Field(default=None, ge=0, description="fire at most this many times")
    reason: str = "Injected failure"

    @field_validator("operation")
    @classmethod
    def _known_operation(cls, value: str) -> str:
        if value != "*" and value not in {op.value for op in Operation}:
            raise ValueError(f"unknown operation {value!r}")
        return value

    @model_validator(mode="after")
    def _throttle_status(self) -> FaultRule:
        if self.action == "throttle":
            self.status = 429
        elif self.action == "busy":
            self.status = 400
        return self

    def matches(self, operation: Operation) -> bool:
        if self.operation not in ("*", operation.value):
            return False
        if self.action in ("silent_drop", "fail_async", "busy"):
            return operation.is_write  # nothing to drop or fail on a read
        return True


class FaultSettings(BaseModel):
    """The rule list and RNG seed, as given at start-up or through `PUT /_sim/faults`."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    rules: list[FaultRule] = Field(default_factory=list)

    @classmethod
    def load(cls, source: str) -> FaultSettings:
        """Read rules from inline JSON or a JSON/YAML file (a list or `{seed, rules}`)."""
        text = source.strip()
        if text.startswith(("{", "[")):
            data: Any = json.loads(text)
        else:
            # YAML is a superset of JSON, so one parser reads both kinds of file.
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        if isinstance(data, list):
            data = {"rules": data}
        return cls.model_validate(data)


@dataclass
class FaultDecision:
    """What the faults say about one call."""

    latency: float = 0.0
    rule: FaultRule | None = None

    @property
    def action(self) -> str | None:
        return self.rule.action if self.rule else None


@dataclass
class _ArmedRule:
    rule: FaultRule
    hits: int = 0

    def exhausted(self) -> bool:
        return self.rule.count is not None and self.hits >= self.rule.count


@dataclass
class FaultInjector:
    """The live rule set. Decisions draw from one seeded RNG so runs are repeatable."""

    settings: FaultSettings = field(default_factory=FaultSettings)
    _armed: list[_ArmedRule] = field(init=False, default_factory=list)
    _rng: random.Random = field(init=False, default_factory=random.Random)

    def __post_init__(self) -> None:
        self.replace(self.settings)

    def replace(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._armed = [_ArmedRule(rule) for rule in settings.rules]
        self._rng = random.Random(settings.seed)

    def add(self, rule: FaultRule) -> None:
        self.settings = FaultSettings(seed=self.settings.seed, rules=[*self.settings.rules, rule])
        self._armed.append(_ArmedRule(rule))

    def clear(self) -> None:
        self.replace(FaultSettings(seed=self.settings.seed))

    def decide(self, operation: Operation) -> FaultDecision:
        decision = FaultDecision()
        for armed in self._armed:
            if armed.exhausted() or not armed.rule.matches(operation):
                continue
            if armed.rule.probability < 1.0 and self._rng.random() >= armed.rule.probability:
                continue
            armed.hits += 1
            if armed.rule.action == "latency":
                decision.latency += armed.rule.latency
                continue
            decision.rule = armed.rule
            break
        return decision

    def describe(self) -> dict[str, Any]:
        return {
            "seed": self.settings.seed,
            "rules": [
                {
                    **armed.rule.model_dump(),
                    "hits": armed.hits,
                    "remaining": None
                    if armed.rule.count is None
                    else max(armed.rule.count - armed.hits, 0),
                }
                for armed in self._armed
            ],
        }
