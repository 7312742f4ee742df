"""One pass's status: accumulated in the model, written once, only if it changed."""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from nks_operator.api.resources import Resource
from nks_operator.api.status import ResourceStatus
from nks_operator.kube.api import KubeAPI
from nks_operator.reconcile import conditions
from nks_operator.runtime.cache import ObjectCache, ObjectKey


def now_iso() -> str:
    """The time now as status writes it (whole seconds, UTC)."""
    return _iso(int(time.time()))


@functools.lru_cache(maxsize=1)
def _iso(second: int) -> str:
    # Formatted once per second: every pass writes it, and strftime is not cheap.
    return datetime.datetime.fromtimestamp(second, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _drop_empty_strings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_empty_strings(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [_drop_empty_strings(item) for item in value]
    return value


def status_dict(status: BaseModel) -> dict[str, Any]:
    # Empty strings are left out: they carry nothing, and the Go JSON decoder of some
    # apiserver builds (our 1.20 test build among them) reads "" in a CR as null.
    dumped = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {k: _drop_empty_strings(v) for k, v in dumped.items() if v != ""}


def merge_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) that writes all of `new` over `old`: a field that
    disappeared, at any depth, is nulled explicitly, or the apiserver would keep it."""
    patch: dict[str, Any] = dict.fromkeys(old.keys() - new.keys())
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            value = merge_patch(before, value)
        patch[key] = value
    return patch


class StatusWriter:
    def __init__(
        self,
        kube: KubeAPI,
        cache: ObjectCache,
        resource: Resource,
        key: ObjectKey,
        generation: int | None,
        status: ResourceStatus,
        wake_children: Callable[[ObjectKey], None],
    ) -> None:
        self.kube = kube
        self.cache = cache
        self.wake_children = wake_children
        self.resource = resource
        self.key = key
        self.generation = generation
        self.status = status
        self.original = status_dict(status)
        self.baseline = list(status.conditions)
        self.writes = 0

    def conditions(self, *updates: conditions.ConditionUpdate) -> None:
        self.status.conditions = conditions.apply(
            self.status.conditions,
            updates,
            generation=self.generation,
            now=now_iso(),
            baseline=self.baseline,
        )

    @property
    def changed(self) -> bool:
        return status_dict(self.status) != self.original

    async def flush(self) -> None:
        """Write status now if it changed (e.g. an operation is recorded before it is sent)."""
        new = status_dict(self.status)
        if new == self.original:
            return
        patch = merge_patch(self.original, new)
        result = await self.kube.patch_status(
            self.resource, self.key.namespace, self.key.name, patch
        )
        self.writes += 1
        self.original = new
        self.baseline = list(self.status.conditions)
        if self.cache.wrote_status(self.key, new, result):
            self.wake_children(self.key)
