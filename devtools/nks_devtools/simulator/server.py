"""Running the simulator: in the current event loop (`run_simulator`) or in a background
thread with its own loop (`SimulatorThread`) for sync code and for an operator running
in another process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from nks_devtools.simulator.app import create_app
from nks_devtools.simulator.calls import CallRecorder
from nks_devtools.simulator.config import SimulatorConfig
from nks_devtools.simulator.core import Simulator
from nks_devtools.simulator.faults import FaultInjector
from nks_devtools.simulator.state import Store

T = TypeVar("T")
SHUTDOWN_TIMEOUT = 1.0


@dataclass
class SimulatorHandle:
    """A running simulator. `url` is the base URL: identity is `url + "/v2.0/tokens"`, NKS
    is `url + "/v1/..."`, the admin endpoints are `url + "/_sim/..."`."""

    url: str
    simulator: Simulator

    @property
    def identity_url(self) -> str:
        return self.url + "/v2.0/tokens"

    @property
    def config(self) -> SimulatorConfig:
        return self.simulator.config

    @property
    def state(self) -> Store:
        return self.simulator.store

    @property
    def faults(self) -> FaultInjector:
        return self.simulator.faults

    @property
    def calls(self) -> CallRecorder:
        return self.simulator.calls


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@contextlib.asynccontextmanager
async def run_simulator(
    config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[SimulatorHandle]:
    """Serve a fresh simulator until the block exits; `port=0` picks a free port."""
    sim = Simulator(config or SimulatorConfig())
    runner = web.AppRunner(
        create_app(sim),
        access_log=None,  # the dispatcher logs each call itself, without headers
        handler_cancellation=True,  # a caller that hangs up cancels a hanging fault
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    await runner.setup()
    sock = _bind(host, port)
    site = web.SockSite(runner, sock)
    try:
        await site.start()
        yield SimulatorHandle(_url(host, sock.getsockname()[1]), sim)
    finally:
        await runner.cleanup()


class SimulatorThread:
    """The simulator in a daemon thread with its own event loop.

    `start()` returns once it serves; `url`, `simulator` and the handle's views are then
    available. The state belongs to that loop: read it over HTTP (`/_sim/...`) or run a
    function inside the loop with `call(fn)`.
    """

    def __init__(
        self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._config = config or SimulatorConfig()
        self._host, self._port = host, port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready: Future[SimulatorHandle] = Future()
        self.handle: SimulatorHandle | None = None

    @property
    def url(self) -> str:
        return self._require().url

    @property
    def identity_url(self) -> str:
        return self._require().identity_url

    @property
    def simulator(self) -> Simulator:
        return self._require().simulator

    def _require(self) -> SimulatorHandle:
        if self.handle is None:
            raise RuntimeError("the simulator thread is not running; call start() first")
        return self.handle

    def start(self, timeout: float = 10.0) -> SimulatorThread:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._ready = Future()
        self._thread = threading.Thread(target=self._run, name="nks-simulator", daemon=True)
        self._thread.start()
        self.handle = self._ready.result(timeout)
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surface start-up failures to start()
            if not self._ready.done():
                self._ready.set_exception(exc)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with run_simulator(self._config, self._host, self._port) as handle:
            self._ready.set_result(handle)
            await self._stop.wait()

    def call(self, fn: Callable[[Simulator], T], timeout: float = 10.0) -> T:
        """Run `fn(simulator)` inside the simulator's loop (thread-safe state access)."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("not running")
        result: Future[Any] = Future()

        def invoke() -> None:
            try:
                result.set_result(fn(self.simulator))
            except BaseException as exc:
                result.set_exception(exc)

        loop.call_soon_threadsafe(invoke)
        return result.result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout)
        self._thread = None
        self.handle = None

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
