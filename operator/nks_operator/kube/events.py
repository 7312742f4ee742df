"""Kubernetes Events of the operator's resources, posted in the background.

A pass never waits for an Event: `post()` queues it and a few background tasks create it
(one `POST .../events` each). Events are best effort - a full queue or a failed call
drops one with a log line, never a pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import socket
from typing import Any, Literal

from nks_operator.kube.client import KubeAPIError, KubeClient

logger = logging.getLogger(__name__)

COMPONENT = "nks-operator"
EventType = Literal["Normal", "Warning"]
MAX_MESSAGE = 1024


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_manifest(
    body: dict[str, Any], type_: EventType, reason: str, message: str
) -> dict[str, Any]:
    meta = body["metadata"]
    now = _now()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": body.get("apiVersion"),
            "kind": body.get("kind"),
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid"),
        },
        "type": type_,
        "reason": str(reason),
        "message": message[:MAX_MESSAGE],
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": socket.gethostname(),
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class EventPoster:
    def __init__(self, client: KubeClient, *, senders: int = 4, capacity: int = 10000) -> None:
        self.client = client
        self.senders = senders
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(capacity)
        self._tasks: list[asyncio.Task[None]] = []
        self.posted = 0

    def post(self, body: dict[str, Any], type_: EventType, reason: str, message: str) -> None:
        meta = body["metadata"]
        level = logging.WARNING if type_ == "Warning" else logging.INFO
        logger.log(
            level,
            "%s %s/%s: %s %s",
            body.get("kind"),
            meta["namespace"],
            meta["name"],
            reason,
            message,
        )
        try:
            self._queue.put_nowait(event_manifest(body, type_, reason, message))
        except asyncio.QueueFull:
            logger.warning("Event queue full; dropped %s %s", type_, reason)

    def start(self) -> None:
        for number in range(self.senders):
            self._tasks.append(asyncio.create_task(self._send(), name=f"event-poster-{number}"))

    async def _send(self) -> None:
        while True:
            event = await self._queue.get()
            namespace = event["metadata"]["namespace"]
            try:
                await self.client.request(
                    "POST", f"/api/v1/namespaces/{namespace}/events", body=event
                )
                self.posted += 1
            except KubeAPIError as error:
                logger.warning("Could not post Event %s: %s", event["reason"], error)
            except Exception:  # Events are best effort: the poster never dies
                logger.exception("Could not post Event %s", event["reason"])
            finally:
                self._queue.task_done()

    async def flush(self, seconds: float = 5.0) -> None:
        """Give queued Events a chance to go out (at shutdown)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), seconds)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
