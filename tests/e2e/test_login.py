"""The operator logged in with an exec plugin, against the real kube-apiserver.

The kubeconfig's current context is a user the apiserver refuses; `--context` picks the
other one, whose user is an `exec` plugin: a small script printing an `ExecCredential` with
a ServiceAccount token (TokenRequest, as `kubectl create token` gets it) read from a file.
The operator reconciles a resource with it. Then the token stops working - the
ServiceAccount is deleted and made again, which the apiserver checks on every request -
and the file gets a token of the new account: the operator's next write is refused (401),
it logs in again, the plugin runs again and a second resource is reconciled, with no
restart.
"""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client

from nks_devtools.localkube import LocalKube
from tests.e2e.helpers import apply, cluster_manifest, wait_condition
from tests.fixtures.kube import Kubectl
from tests.fixtures.operator import OperatorProcess, namespace_fixture, wait_for

pytestmark = pytest.mark.kube

ACCOUNT = "exec-login"
login_namespace = pytest.fixture(namespace_fixture("login"))


def plugin(folder: pathlib.Path, token_file: pathlib.Path) -> pathlib.Path:
    """Prints the token in `token_file` as an ExecCredential; counts its runs."""
    script = folder / "token-plugin"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, pathlib\n"
        f"runs = pathlib.Path({str(folder / 'runs')!r})\n"
        "runs.write_text(str(int(runs.read_text()) + 1 if runs.exists() else 1))\n"
        f"token = pathlib.Path({str(token_file)!r}).read_text().strip()\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1',\n"
        "                  'kind': 'ExecCredential', 'status': {'token': token}}))\n"
    )
    script.chmod(0o755)
    return script


def make_account(kubectl: Kubectl, namespace: str) -> str:
    """The ServiceAccount (bound to cluster-admin by name) and a token of it."""
    kubectl("create", "serviceaccount", ACCOUNT, "-n", namespace)
    return kubectl("create", "token", ACCOUNT, "-n", namespace, "--duration=1h").stdout.strip()


def refused(kube: LocalKube, kubectl: Kubectl, token: str) -> bool:
    result = kubectl(
        "get", "namespaces", f"--server={kube.server}", f"--token={token}",
        "--insecure-skip-tls-verify", "--kubeconfig=/dev/null", check=False,
    )  # fmt: skip
    return result.returncode != 0 and "Unauthorized" in result.stderr


@pytest.fixture
def binding(kubectl: Kubectl, login_namespace: str) -> Iterator[str]:
    name = f"{login_namespace}-admin"
    kubectl(
        "create", "clusterrolebinding", name, "--clusterrole=cluster-admin",
        f"--serviceaccount={login_namespace}:{ACCOUNT}",
    )  # fmt: skip
    yield name
    kubectl("delete", "clusterrolebinding", name, "--ignore-not-found")


def test_the_operator_logs_in_with_an_exec_plugin_and_renews_on_401(
    kube: LocalKube,
    kubectl: Kubectl,
    kube_api: client.ApiClient,
    crds_installed: None,
    login_namespace: str,
    binding: str,
    tmp_path: pathlib.Path,
) -> None:
    ns = login_namespace
    token_file = tmp_path / "token"
    first = make_account(kubectl, ns)
    token_file.write_text(first)
    script = plugin(tmp_path, token_file)
    config: dict[str, Any] = yaml.safe_load(kube.kubeconfig.read_text())
    cluster = config["clusters"][0]["name"]
    config["users"] = [
        {"name": "refused", "user": {"token": "not-a-token-the-apiserver-knows"}},
        {
            "name": "sso",
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": str(script),
                    "interactiveMode": "Never",
                }
            },
        },
    ]
    config["contexts"] = [
        {"name": "default", "context": {"cluster": cluster, "user": "refused"}},
        {"name": "platform", "context": {"cluster": cluster, "user": "sso", "namespace": ns}},
    ]
    config["current-context"] = "default"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))

    operator = OperatorProcess(
        kube,
        "login-*",
        tmp_path / "operator.log",
        ["--kubeconfig", str(kubeconfig), "--context", "platform"],
        # Nothing to fall back on: only the kubeconfig of the flag.
        {"KUBECONFIG": str(tmp_path / "absent")},
    )
    operator.start()
    try:
        apply(kubectl, ns, cluster_manifest("first"))
        wait_condition(
            kube_api, "nksclusters", ns, "first", "Ready", "False", "CredentialsSecretNotFound"
        )
        assert (tmp_path / "runs").read_text() == "1"  # kopf and the client share one login

        # The token stops working; the file holds one that works.
        kubectl("delete", "serviceaccount", ACCOUNT, "-n", ns)
        token_file.write_text(make_account(kubectl, ns))
        wait_for(lambda: refused(kube, kubectl, first), 30, what="the old token refused")

        apply(kubectl, ns, cluster_manifest("second"))
        wait_condition(
            kube_api, "nksclusters", ns, "second", "Ready", "False", "CredentialsSecretNotFound"
        )
        operator.assert_alive()
    finally:
        operator.stop()
    logs = operator.logs()
    assert "Kubernetes API answered 401; logging in again" in logs
    assert int((tmp_path / "runs").read_text()) >= 2
    for token in (first, token_file.read_text()):
        assert token not in logs
