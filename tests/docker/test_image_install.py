"""The image's install, replayed without Docker: the Dockerfile's own Python steps, run here.

The build context (what .dockerignore lets through to the COPY lines) is copied to a
temporary folder; the builder stage's `pip wheel` turns it into wheels; the runtime stage's
`python -m venv` and offline `pip install` fill a fresh virtual environment. Then the
installed `nks-operator` must work from that environment alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name

from tests.docker.dockerfile_steps import LOCK, REPO_ROOT, copy_sources, python_steps, stage
from tests.docker.test_lock import parse_lock

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info", "build", "dist")


@dataclass(frozen=True)
class Image:
    """The replayed image: its virtual environment and the wheels it was installed from."""

    venv: Path
    wheels: Path
    home: Path

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """A command in the image's environment: its venv first on PATH, nothing else."""
        env = {
            "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.home),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "VIRTUAL_ENV": str(self.venv),
        }
        return subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            env=env,
            cwd=self.home,
            timeout=timeout,
            check=False,
        )


def _build_context(target: Path) -> Path:
    """What the builder stage's COPY instructions see (globs resolved, .dockerignore applied)."""
    target.mkdir()
    for source in copy_sources(stage("builder")):
        for path in sorted(REPO_ROOT.glob(source)):
            if path.is_dir():
                shutil.copytree(path, target / path.name, ignore=IGNORED)
            else:
                shutil.copy2(path, target / path.name)
    return target


def _replay(
    step: Sequence[str], replacements: dict[str, str], cwd: Path, env: dict[str, str]
) -> None:
    """Run one `python ...` step of the Dockerfile with this interpreter and these paths."""
    argv = [sys.executable]
    for word in step[1:]:
        for old, new in replacements.items():
            word = word.replace(old, new)
        argv.append(word)
    result = subprocess.run(
        argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=False
    )
    assert result.returncode == 0, f"{' '.join(step)} failed:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    root = tmp_path_factory.mktemp("image")
    context = _build_context(root / "src")
    wheels, venv, home = root / "wheels", root / "opt" / "nks-operator", root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    replacements = {
        "/wheels": str(wheels),
        "$VIRTUAL_ENV": str(venv),
        # Bind-mounted from the builder's /src in the runtime stage.
        "/requirements.lock": str(context / "requirements.lock"),
    }

    for step in python_steps(stage("builder")):
        _replay(step, replacements, context, env)
    # The runtime stage sees no pip configuration of this machine, only the wheels.
    offline = env | {"PIP_CONFIG_FILE": os.devnull}
    for step in python_steps(stage("runtime")):
        _replay(step, replacements, root, offline)
    yield Image(venv=venv, wheels=wheels, home=home)


def test_builder_made_only_wheels_of_runtime_dependencies(image: Image) -> None:
    files = sorted(p.name for p in image.wheels.iterdir())
    assert all(name.endswith(".whl") for name in files), files  # no sdist: nothing to compile
    assert any(name.startswith("nks_operator-") for name in files)
    for dev_tool in ("pytest", "ruff", "respx"):
        assert not any(name.startswith(f"{dev_tool}-") for name in files), dev_tool


def test_the_product_wheel_holds_no_development_tool(image: Image) -> None:
    # The simulator, localkube and the demo are devtools/'s distribution, never the image's.
    (wheel,) = image.wheels.glob("nks_operator-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = wheel.name.removesuffix("-py3-none-any.whl") + ".dist-info"
    assert {name.split("/")[0] for name in names} == {"nks_operator", dist_info}
    assert "nks_operator/run_command.py" in names
    tooling = [n for n in names if any(t in n for t in ("simulator", "localkube", "demo"))]
    assert tooling == [], tooling
    assert not any(p.name.startswith("nks_operator_devtools") for p in image.wheels.iterdir())


def test_tooling_commands_say_how_to_get_the_tools(image: Image) -> None:
    for command in ("demo", "simulator"):
        result = image.run("nks-operator", command, "--help")
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.startswith(f"nks-operator {command}: "), result.stderr
        assert "pip install ./devtools" in result.stderr and "Traceback" not in result.stderr


def test_venv_is_clean_and_consistent(image: Image) -> None:
    python = str(image.venv / "bin" / "python")
    found = image.run(python, "-c", "import nks_operator, sys; print(nks_operator.__file__)")
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).is_relative_to(image.venv)
    assert not (image.venv / "bin" / "pip").exists()  # created --without-pip
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_help(image: Image) -> None:
    result = image.run("nks-operator", "--help")
    assert result.returncode == 0, result.stderr
    for command in ("run", "crds", "simulator"):
        assert command in result.stdout
    result = image.run("nks-operator", "run", "--help")
    assert result.returncode == 0, result.stderr
    for flag in (
        "--namespace",
        "--liveness",
        "--leader-election",
        "--leader-election-namespace",
        "--log-format",
        "--kubeconfig",
        "--context",
    ):
        assert flag in result.stdout
    # One name for leader election: kopf has a --peering of its own, which this is not.
    assert "--peering" not in result.stdout


def test_crds_from_the_installed_package_match_the_repository(image: Image) -> None:
    result = image.run("nks-operator", "crds", "--stdout")
    assert result.returncode == 0, result.stderr
    printed = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    committed = [
        yaml.safe_load(path.read_text()) for path in sorted((REPO_ROOT / "crds").glob("*.yaml"))
    ]
    by_name = {doc["metadata"]["name"]: doc for doc in printed}
    assert sorted(by_name) == sorted(doc["metadata"]["name"] for doc in committed)
    for doc in committed:
        assert by_name[doc["metadata"]["name"]] == doc, doc["metadata"]["name"]


def test_crds_check_passes_against_the_repository(image: Image) -> None:
    # The packaged generator agrees byte for byte with the committed files.
    result = image.run("nks-operator", "crds", "--check", "--output-dir", str(REPO_ROOT / "crds"))
    assert result.returncode == 0, result.stderr


def test_image_holds_exactly_the_locked_packages(image: Image) -> None:
    # Two builds of one commit get the same packages: those of requirements.lock.
    script = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    result = image.run(str(image.venv / "bin" / "python"), "-c", script)
    assert result.returncode == 0, result.stderr
    installed = {canonicalize_name(k): v for k, v in json.loads(result.stdout).items()}
    locked = {name: pin.version for name, pin in parse_lock(LOCK.read_text()).items()}
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert installed == {**locked, "nks-operator": version}


def test_a_user_install_of_the_cli(image: Image, tmp_path: Path) -> None:
    """What README's "Install the CLI" does (`pipx install` from the repository at a tag):
    pip resolves the package's own declared dependencies into a fresh virtual environment
    with pip in it. Offline: the project's wheel and its dependencies come from the wheels
    the image was built from, not from an index."""
    venv = tmp_path / "pipx-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(image.home),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--no-index", f"--find-links={image.wheels}",
         "nks-operator"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    command = str(venv / "bin" / "nks-operator")
    result = subprocess.run(
        [command, "--version"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.stdout == f"nks-operator {version}\n", result.stderr
    result = subprocess.run(
        [command, "import", "--help"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for flag in ("--region", "--credentials-secret", "--apply", "--kubeconfig", "--context"):
        assert flag in result.stdout
    # Without credentials it says what is missing and exits 1, as a user would see it.
    result = subprocess.run(
        [command, "import", "--region", "kr1", "-n", "team"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("nks-operator import: "), result.stderr
    assert "Traceback" not in result.stderr
