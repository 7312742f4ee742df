"""Fixtures of the chart tests: the real helm binaries, installed once per session."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helm.helpers import INSTALL_SCRIPT, Helm


@pytest.fixture(scope="session")
def helm_tools() -> Path:
    """The folder with `helm` (v4) and `helm3`, from scripts/install-helm.sh (cached).

    A missing binary fails the tests, never skips them: CI installs them through the script.
    """
    result = subprocess.run(
        ["bash", str(INSTALL_SCRIPT), "--with-helm3"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"{INSTALL_SCRIPT} failed:\n{result.stderr}", pytrace=False)
    folder = Path(result.stdout.strip().splitlines()[-1])
    for name in ("helm", "helm3"):
        if not (folder / name).is_file():
            pytest.fail(f"{INSTALL_SCRIPT} printed {folder}, which holds no {name}", pytrace=False)
    return folder


@pytest.fixture(scope="session")
def helm(helm_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """Helm 4: `helm(*args, kubeconfig=None, input=None)`, `.template(values)`, `.render()`."""
    return Helm(helm_tools / "helm", tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="session")
def helm3(helm_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """Helm 3 (3.17), for the chart's compatibility with what most users still run."""
    return Helm(helm_tools / "helm3", tmp_path_factory.mktemp("helm3-home"))
