"""`nks-operator` as a user runs it: `python -m nks_operator ...` in a subprocess.

Every run here must end by itself; the timeout only bounds a regression (the operator used
to wait for Kubernetes credentials forever, retrying every minute).
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import subprocess
import sys

import pytest

from nks_operator.cli import build_parser

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVICE_ACCOUNT_TOKEN = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def nks_operator(
    *args: str, home: pathlib.Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with no Kubernetes credentials unless `env` brings some."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NKS_") and key != "KUBECONFIG"
    }
    return subprocess.run(
        [sys.executable, "-m", "nks_operator", *args],
        env={**clean, "HOME": str(home), **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version_is_the_package_version(tmp_path: pathlib.Path) -> None:
    result = nks_operator("--version", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"nks-operator {importlib.metadata.version('nks-operator')}\n"


@pytest.mark.skipif(SERVICE_ACCOUNT_TOKEN.exists(), reason="runs inside a pod")
def test_run_without_kubernetes_credentials_exits_at_once(tmp_path: pathlib.Path) -> None:
    result = nks_operator("run", "--liveness", "", home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "nks-operator run: no Kubernetes credentials: not running in a pod (no service "
        "account token) and no kubeconfig (--kubeconfig, KUBECONFIG or ~/.kube/config)"
    )


def test_run_with_a_missing_kubeconfig_names_it(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nowhere" / "config"
    result = nks_operator("run", "--kubeconfig", str(missing), "--liveness", "", home=tmp_path)
    assert result.returncode == 1
    assert f"cannot read the kubeconfig {missing}: No such file or directory" in result.stderr


def test_a_broken_kubeconfig_is_reported_without_its_content(tmp_path: pathlib.Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text('apiVersion: v1\nusers:\n- name: x\n  user: {token: "s3cr3t-token\n')
    result = nks_operator(
        "run", "--liveness", "", home=tmp_path, env={"KUBECONFIG": str(kubeconfig)}
    )
    assert result.returncode == 1
    assert "the kubeconfig is not valid YAML (line 5)" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout


# One of each source here; tests/unit/test_settings.py has every rule.
@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--fast-poll", "0"], {}, "--fast-poll: should be greater than 0 (got 0.0)"),
        (
            [],
            {"NKS_FAST_POLL_SECONDS": "soon"},
            "NKS_FAST_POLL_SECONDS: should be a valid number, unable to parse string as a "
            "number (got 'soon')",
        ),
        ([], {"NKS_LOG_LEVEL": "loud"}, "NKS_LOG_LEVEL: 'LOUD' is not one of DEBUG, INFO"),
    ],
)
def test_invalid_settings_are_refused_before_anything_starts(
    tmp_path: pathlib.Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = nks_operator("run", "--liveness", "", *args, home=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(f"nks-operator run: {message}"), result.stderr
    assert "Traceback" not in result.stderr


def test_a_flag_that_is_not_a_number_is_an_argparse_error(tmp_path: pathlib.Path) -> None:
    result = nks_operator("run", "--fast-poll", "soon", home=tmp_path)
    assert result.returncode == 2
    assert "argument --fast-poll: invalid float value: 'soon'" in result.stderr


@pytest.mark.parametrize("spelling", ["debug", "Debug", "DEBUG", "warning", "Error", "info"])
def test_log_level_in_any_case(spelling: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NKS_LOG_LEVEL", raising=False)
    assert build_parser().parse_args(["run", "--log-level", spelling]).log_level == (
        spelling.upper()
    )
    monkeypatch.setenv("NKS_LOG_LEVEL", spelling)
    assert build_parser().parse_args(["run"]).log_level == spelling.upper()


def test_an_unknown_log_level_flag_is_refused(tmp_path: pathlib.Path) -> None:
    result = nks_operator("run", "--log-level", "loud", home=tmp_path)
    assert result.returncode == 2
    assert "argument --log-level: invalid choice: 'LOUD'" in result.stderr


def test_all_namespaces_is_accepted_and_excludes_namespace() -> None:
    """The chart passes --all-namespaces (the default scope), so it stays accepted."""
    chart = (ROOT / "helm" / "nks-operator" / "templates" / "deployment.yaml").read_text()
    assert "- --all-namespaces" in chart
    args = build_parser().parse_args(["run", "--all-namespaces"])
    assert args.namespace == []
    assert build_parser().parse_args(["run", "-A"]).all_namespaces is True
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "-A", "-n", "team-a"])
