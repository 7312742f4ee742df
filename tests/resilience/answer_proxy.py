"""A proxy in front of the simulator that rewrites chosen fields of the answers about ONE
resource: a cluster's list entry or GET, one node group's list entry or GET, a cluster's
task history, its IP ACL, or the compute servers of some nodes. Everything else passes
through untouched, so a test can tell the affected resource from the others.

Point a credentials Secret's `identityUrl` *and* `nksUrl` at `AnswerProxy.url`: the Host
header is passed on, so the simulator writes the proxy's address into its links and into
the token's service catalog, and the compute API is read through the proxy too.

A steady cluster is read in detail only when its entry in the cluster list changes (the
poller's fingerprint), as a real change at NKS shows there. `rewrite(..., poke=uuid)`
therefore also moves that cluster's list entry `updated_at` (NKS moves it with every change
of the cluster; answers keep only the fields the operator models, so an unknown field
would not do), so the poller reads the rewritten answers (and, after `clear`, the
faithful ones) again.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from nks_operator.nks.operations import ROUTES, Operation
from tests.resilience.mangler import MangleProxy


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""A rewrite `value` that removes the field."""


def _revision_time(revision: int) -> str:
    """A list entry's `updated_at` that differs for every revision of the rules."""
    return f"2030-01-01T00:00:00.{revision:06d}+00:00"


LIST_KEYS = {
    Operation.LIST_CLUSTERS: "clusters",
    Operation.LIST_NODEGROUPS: "nodegroups",
    Operation.LIST_EVENTS: "events",
    Operation.LIST_SERVERS: "servers",
}
# Hop-by-hop headers and what aiohttp recomputes; `Host` is passed on.
_NOT_FORWARDED = frozenset(
    {"content-length", "transfer-encoding", "connection", "content-encoding"}
)
_GET_ROUTES = [
    (op, re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path) + "$"))
    for op, route in ROUTES.items()
    if route.method == "GET"
]

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Rewrite:
    """Set `path` (inside each matching object; `()` is the object itself) to `value`.

    Which objects match: answers about `cluster` (the URL's cluster, or a cluster list
    entry's `uuid`); of list answers, the entries whose `uuid` (servers: `id`) is in
    `ids` (every entry when `ids` is empty); of a node group GET, the one in `ids`.
    """

    read: Operation
    path: Path
    value: Any
    cluster: str | None = None
    ids: frozenset[str] = frozenset()


def route_of(path: str) -> tuple[Operation, dict[str, str]] | None:
    for operation, pattern in _GET_ROUTES:
        match = pattern.match(path)
        if match is not None:
            return operation, match.groupdict()
    return None


def _put(container: Any, key: str | int, path: Path, value: Any) -> None:
    for part in path:
        nested = container[key]
        if isinstance(nested, dict) and isinstance(part, str) and part not in nested:
            nested[part] = {}  # a field below a missing one is made (then set)
        container, key = nested, part
    if value is MISSING:
        if isinstance(container, dict):
            container.pop(key, None)
        return
    container[key] = json.loads(json.dumps(value))  # a copy per answer


def _targets(
    rewrite: Rewrite, operation: Operation, params: dict[str, str], holder: list[Any]
) -> list[tuple[Any, str | int]]:
    """(container, key) of every object `rewrite` applies to in the answer `holder[0]`."""
    data = holder[0]
    if rewrite.cluster is not None and params.get("cluster") not in (None, rewrite.cluster):
        return []
    if operation in LIST_KEYS:
        entries = data.get(LIST_KEYS[operation]) if isinstance(data, dict) else None
        if not isinstance(entries, list):
            return []
        id_key = "id" if operation is Operation.LIST_SERVERS else "uuid"
        wanted = set(rewrite.ids)
        if operation is Operation.LIST_CLUSTERS and rewrite.cluster is not None:
            wanted.add(rewrite.cluster)
        return [
            (entries, index)
            for index, entry in enumerate(entries)
            if not wanted or (isinstance(entry, dict) and entry.get(id_key) in wanted)
        ]
    if operation is Operation.GET_NODEGROUP and params.get("nodegroup") not in rewrite.ids:
        return []
    return [(holder, 0)]


class AnswerProxy(MangleProxy):
    """The proxy, in a daemon thread (`start()` / `stop()`, `url`)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream, extra_fields=False)
        # (revision, cluster to poke, rewrites), replaced as a whole by the test thread.
        self._rules: tuple[int, str | None, tuple[Rewrite, ...]] = (0, None, ())
        self.served: Counter[int] = Counter()  # rewrite index -> answers it changed

    def rewrite(self, *rewrites: Rewrite, poke: str | None) -> None:
        """Rewrite answers from now on (replacing earlier rewrites); `poke`: the cluster
        whose list entry changes so that the poller reads it again."""
        self.served = Counter()
        self._rules = (self._rules[0] + 1, poke, tuple(rewrites))

    def clear(self, poke: str | None) -> None:
        """Faithful answers again (the poked cluster's list entry changes once more)."""
        self.rewrite(poke=poke)

    async def _handle(self, request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            data=await request.read(),
            headers=headers,  # Host included: links and catalog name the proxy
        ) as upstream:
            raw = await upstream.read()
            status = upstream.status
            answer_headers = {
                k: v for k, v in upstream.headers.items() if k.lower() not in _NOT_FORWARDED
            }
        if request.method == "GET" and status == 200:
            raw = self._rewritten(request.path, raw)
        return web.Response(status=status, body=raw, headers=answer_headers)

    def _rewritten(self, path: str, raw: bytes) -> bytes:
        found = route_of(path)
        revision, poke, rewrites = self._rules
        if found is None or not (rewrites or poke):
            return raw
        operation, params = found
        try:
            data = json.loads(raw)
        except ValueError:
            return raw
        served, holder = self.served, [data]
        planned = [
            (index, rewrite, _targets(rewrite, operation, params, holder))
            for index, rewrite in enumerate(rewrites)
            if rewrite.read is operation
        ]
        if operation is Operation.LIST_CLUSTERS and poke is not None:
            for entry in data.get("clusters") or []:
                if isinstance(entry, dict) and entry.get("uuid") == poke:
                    entry["updated_at"] = _revision_time(revision)
        for index, rewrite, targets in planned:
            for container, key in targets:
                _put(container, key, rewrite.path, rewrite.value)
            if targets:
                served[index] += 1
        return json.dumps(holder[0]).encode()
