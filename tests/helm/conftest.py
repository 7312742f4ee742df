"""Fixtures of the chart tests: the real helm binary, installed once per session."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helm.helpers import INSTALL_SCRIPT, Helm


@pytest.fixture(scope="session")
def helm_binary() -> Path:
    """Path of helm, from scripts/install-helm.sh (cached; a missing helm fails, never skips)."""
    result = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{INSTALL_SCRIPT} failed:\n{result.stderr}", pytrace=False)
    binary = Path(result.stdout.strip().splitlines()[-1]) / "helm"
    if not binary.is_file():
        pytest.fail(f"{INSTALL_SCRIPT} printed no folder holding helm", pytrace=False)
    return binary


@pytest.fixture(scope="session")
def helm(helm_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """`helm(*args, kubeconfig=None, input=None)`, `.template(values)`, `.render(values)`."""
    return Helm(helm_binary, tmp_path_factory.mktemp("helm-home"))
