"""The product (the image, `nks-operator run`) apart from the development tools of devtools/
(the NKS simulator, localkube, the demo): `run` loads none of them (nor the `kubernetes`
package, whose kubeconfig loader runs in a child process), the tooling commands say how to
get the tools when they are missing, and the two distributions stay in step."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLING = ("nks_devtools", "nks_operator.simulator", "nks_operator.localkube", "nks_operator.demo")

# Everything `nks-operator run` imports: the CLI with every subcommand registered, the run
# path's own imports, then every module of the product package.
_LOAD_THE_PRODUCT = """
import contextlib, json, pkgutil, sys, importlib
import nks_operator
from nks_operator import cli
with contextlib.suppress(SystemExit):
    cli.main(["run", "--help"])
import kopf, nks_operator.handlers
from nks_operator.handlers import admission, namespaces, shard
for module in pkgutil.walk_packages(nks_operator.__path__, "nks_operator."):
    if not module.name.endswith("__main__"):  # `python -m nks_operator`: it would run
        importlib.import_module(module.name)
print(json.dumps(sorted(name for name, module in sys.modules.items() if module is not None)))
"""


def _python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def _without_tooling(argv: list[str]) -> str:
    """Code that runs `nks-operator ARGV` as if devtools were not installed."""
    return (
        "import sys; sys.modules['nks_devtools'] = None\n"
        "from nks_operator.cli import main\n"
        f"sys.exit(main({argv!r}))\n"
    )


def test_the_run_path_loads_no_tooling() -> None:
    result = _python(_LOAD_THE_PRODUCT)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    assert "nks_operator.run_command" in loaded and "nks_operator.handlers" in loaded
    tooling = [name for name in loaded if name.startswith(TOOLING)]
    assert tooling == [], tooling
    # kopf imports it whenever it can; `run` keeps it out (about 12 MiB resident).
    kubernetes = [name for name in loaded if name.split(".")[0] == "kubernetes"]
    assert kubernetes == [], kubernetes[:5]


@pytest.mark.parametrize("command", ["demo", "simulator"])
def test_a_tooling_command_without_the_tools_says_how_to_install_them(command: str) -> None:
    result = _python(_without_tooling([command, "--help"]))
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"nks-operator {command}: ") and "pip install ./devtools" in line


def test_help_lists_the_tooling_commands_without_loading_them() -> None:
    code = (
        "import contextlib, sys\n"
        "from nks_operator.cli import main\n"
        "with contextlib.suppress(SystemExit): main(['--help'])\n"
        "assert not [m for m in sys.modules if m.startswith('nks_devtools')]\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    for command in ("run", "crds", "import", "simulator", "demo"):
        assert re.search(rf"^    {command}\s", result.stdout, re.MULTILINE), command


def test_a_tooling_command_gets_its_arguments_untouched() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nks_operator", "simulator", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: nks-operator simulator ")
    for option in ("--host", "--port", "--delay", "--credentials", "--faults", "--seed"):
        assert option in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "nks_operator", "demo", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: nks-operator demo ")
    assert "--exit-when-ready" in result.stdout


def test_the_tools_are_released_with_the_product() -> None:
    product = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    tools = tomllib.loads((ROOT / "devtools" / "pyproject.toml").read_text())["project"]
    assert tools["version"] == product["version"]
    assert f"{product['name']}=={product['version']}" in tools["dependencies"]
    # The extra names what the tools need beyond the product.
    needed = {d.split(">")[0].split("=")[0] for d in tools["dependencies"]}
    shipped = {d.split(">")[0].split("=")[0] for d in product["dependencies"]}
    extra = {d.split(">")[0].split("=")[0] for d in product["optional-dependencies"]["demo"]}
    assert extra == needed - shipped - {product["name"]}


def test_the_tools_wheel_holds_the_tools_only(tmp_path: Path) -> None:
    # Built as the Dockerfile builds the product's (an isolated build environment).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    # From a copy: setuptools leaves build/ and *.egg-info next to the sources it builds.
    source = tmp_path / "devtools"
    shutil.copytree(ROOT / "devtools", source, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels),
         str(source)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("nks_operator_devtools-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"nks_devtools", wheel.name.removesuffix("-py3-none-any.whl") + ".dist-info"}
    for module in ("simulator/server.py", "localkube.py", "demo.py", "py.typed"):
        assert f"nks_devtools/{module}" in names, module


def test_the_demo_outside_a_clone_says_where_it_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nks_devtools import demo

    # As installed from a wheel: no examples/ next to the package.
    monkeypatch.setattr(demo, "EXAMPLES", tmp_path / "examples")
    assert demo.main(["--exit-when-ready"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("nks-operator demo: no examples at ") and "clone" in line
