"""The simulator's admin endpoints (`/_sim/...`), and a collector that keeps the call-log
entries of chosen operations before the simulator's bounded log drops them."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx


class SimAdmin:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60)

    def close(self) -> None:
        self.http.close()

    def _json(self, response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()

    def calls(
        self, *, log: bool = True, operation: str | None = None, since: int = 0
    ) -> dict[str, Any]:
        params: dict[str, str] = {"log": "1" if log else "0", "since": str(since)}
        if operation:
            params["operation"] = operation
        return self._json(self.http.get("/_sim/calls", params=params))  # type: ignore[no-any-return]

    def counts(self) -> Counter[str]:
        """Calls per operation and per "operation status" (e.g. "create_nodegroup 400")."""
        described = self.calls(log=False)
        result: Counter[str] = Counter(described["counts"])
        for op, statuses in described["by_status"].items():
            for status, n in statuses.items():
                result[f"{op} {status}"] += n
        return result

    def reset_calls(self) -> None:
        self._json(self.http.post("/_sim/reset-calls"))

    def patch_config(self, **changes: Any) -> None:
        self._json(self.http.patch("/_sim/config", json=changes))

    def clusters(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's clusters in creation order (the simulator keeps insertion order)."""
        state = self._json(self.http.get("/_sim/state", params={"tenant": tenant}))
        return list((state["tenants"].get(tenant) or {}).get("clusters", []))


class CallCollector:
    """Polls `/_sim/calls?operation=OP&since=SEQ` for each operation from a thread, so long
    runs keep every entry even when the simulator's ring buffer wraps."""

    def __init__(self, admin: SimAdmin, operations: tuple[str, ...], interval: float = 1.0):
        self.admin = admin
        self.operations = operations
        self.interval = interval
        self.entries: dict[str, list[dict[str, Any]]] = {op: [] for op in operations}
        self._since: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-calls", daemon=True)
        self.error: str | None = None

    def start(self) -> CallCollector:
        last = int(self.admin.calls(log=False)["last_seq"])
        self._since = dict.fromkeys(self.operations, last)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self.collect()  # whatever arrived after the last poll

    def collect(self) -> None:
        for op in self.operations:
            log = self.admin.calls(operation=op, since=self._since[op])["log"]
            if log:
                self.entries[op].extend(log)
                self._since[op] = int(log[-1]["seq"])

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.collect()
            except (httpx.HTTPError, RuntimeError) as error:  # RuntimeError: client closed
                self.error = str(error)
