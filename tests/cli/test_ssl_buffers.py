"""`nks-operator run` reads each TLS connection through a small buffer
(run_command.small_ssl_read_buffers): asyncio's own is 256 KiB per connection, held for as
long as the connection is open."""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import ssl
import tracemalloc

import pytest

from nks_operator import run_command


def _bytes_held_by_one_tls_connection() -> int:
    loop = asyncio.new_event_loop()
    try:
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            protocol = asyncio.sslproto.SSLProtocol(
                loop,
                asyncio.Protocol(),
                ssl.create_default_context(),
                loop.create_future(),
                server_hostname="kube.example",
            )
            held = tracemalloc.get_traced_memory()[0] - before
            del protocol
            return held
        finally:
            tracemalloc.stop()
    finally:
        loop.close()


def test_a_tls_connection_holds_a_64_kib_read_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    # Restored after the test: the setting is for the operator's process.
    monkeypatch.setattr(
        asyncio.sslproto.SSLProtocol, "max_size", asyncio.sslproto.SSLProtocol.max_size
    )
    assert _bytes_held_by_one_tls_connection() > 256 * 1024  # asyncio's own
    run_command.small_ssl_read_buffers()
    held = _bytes_held_by_one_tls_connection()
    assert 64 * 1024 <= held < 96 * 1024
