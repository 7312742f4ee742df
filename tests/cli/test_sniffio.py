"""`nks-operator run` makes httpcore's per-request `import sniffio` cheap when sniffio is not
installed (run_command.cache_missing_sniffio): the import fails at once, and httpcore still
runs on asyncio."""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import sys

import httpcore._synchronization as synchronization
import pytest

from nks_operator import run_command


def test_a_missing_sniffio_fails_at_once_and_httpcore_takes_asyncio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "sniffio", raising=False)  # restored after
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    run_command.cache_missing_sniffio()
    assert "sniffio" in sys.modules and sys.modules["sniffio"] is None
    with pytest.raises(ModuleNotFoundError):
        import sniffio  # noqa: F401
    assert asyncio.run(_library()) == "asyncio"


def test_an_installed_sniffio_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "sniffio", raising=False)
    spec = importlib.machinery.ModuleSpec("sniffio", None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    run_command.cache_missing_sniffio()
    assert "sniffio" not in sys.modules


async def _library() -> str:
    return synchronization.current_async_library()
