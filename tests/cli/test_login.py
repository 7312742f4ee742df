"""Logging in to Kubernetes as kubectl does (kube/login.py), without an apiserver.

Kubeconfigs of every kind kubectl reads - exec plugins (real scripts printing an
`ExecCredential`), OIDC, tokens, client certificates, several files in KUBECONFIG - and the
in-cluster service account, turned into kopf's `ConnectionInfo`; `--context`; the errors
`nks-operator run` and `import` exit with, none of which may carry a token. The operator
logging in with an exec plugin against the real kube-apiserver is
tests/e2e/test_login.py.
"""

from __future__ import annotations

import base64
import datetime
import json
import pathlib
import subprocess
import sys
import time
from typing import Any

import httpx
import kopf
import pytest
import yaml

from nks_operator.kube import kubeconfig_loader
from nks_operator.kube.client import KubeClient
from nks_operator.kube.login import KubeLogin, LoginError
from tests.cli.test_cli import nks_operator

SECRET = "s3cr3t-plugin-token"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


def exec_plugin(
    folder: pathlib.Path,
    *,
    token: str = SECRET,
    exit_code: int = 0,
    stdout: str | None = None,
    stderr: str = "",
    expires_in: float | None = None,
    name: str = "plugin",
) -> pathlib.Path:
    """An executable that prints an ExecCredential (a new token each run: `token-<n>`,
    counting its runs in `<name>.runs`), or what it is told to."""
    script = folder / name
    runs = folder / f"{name}.runs"
    script.write_text(
        f"#!{sys.executable}\n"
        "import datetime, json, pathlib, sys\n"
        f"runs = pathlib.Path({str(runs)!r})\n"
        "count = int(runs.read_text()) + 1 if runs.exists() else 1\n"
        "runs.write_text(str(count))\n"
        f"sys.stderr.write({stderr!r})\n"
        f"if {stdout!r} is not None:\n"
        f"    sys.stdout.write({stdout!r})\n"
        "else:\n"
        "    status = {'token': " + repr(token) + " + '-' + str(count)}\n"
        f"    if {expires_in!r} is not None:\n"
        "        at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta("
        f"seconds={expires_in!r})\n"
        "        status['expirationTimestamp'] = at.strftime('%Y-%m-%dT%H:%M:%SZ')\n"
        "    print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
        "'kind': 'ExecCredential', 'status': status}))\n"
        f"sys.exit({exit_code})\n"
    )
    script.chmod(0o755)
    return script


def runs(plugin: pathlib.Path) -> int:
    counter = plugin.parent / f"{plugin.name}.runs"
    return int(counter.read_text()) if counter.exists() else 0


def kubeconfig(
    path: pathlib.Path,
    users: dict[str, dict[str, Any]],
    *,
    current: str | None = None,
    namespaces: dict[str, str] | None = None,
    clusters: dict[str, dict[str, Any]] | None = None,
) -> pathlib.Path:
    """A kubeconfig with one context per user (named after it), all on one cluster
    unless `clusters` gives a context its own."""
    clusters = clusters or {}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "main", "cluster": {"server": "https://main.example:6443"}}]
        + [{"name": name, "cluster": cluster} for name, cluster in clusters.items()],
        "users": [{"name": name, "user": user} for name, user in users.items()],
        "contexts": [
            {
                "name": name,
                "context": {
                    "cluster": name if name in clusters else "main",
                    "user": name,
                    **(
                        {"namespace": namespaces[name]} if namespaces and name in namespaces else {}
                    ),
                },
            }
            for name in users
        ],
    }
    if current is not None:
        config["current-context"] = current
    path.write_text(yaml.safe_dump(config))
    return path


def exec_user(plugin: pathlib.Path) -> dict[str, Any]:
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": str(plugin),
            "interactiveMode": "Never",
        }
    }


# -- what each kind of kubeconfig logs in with -------------------------------------------


def test_an_exec_plugin_gives_its_token_and_expiry(tmp_path: pathlib.Path) -> None:
    plugin = exec_plugin(tmp_path, expires_in=3600)
    path = kubeconfig(tmp_path / "config", {"eks": exec_user(plugin)}, current="eks")
    info = KubeLogin(str(path)).fresh()
    assert (info.server, info.token) == ("https://main.example:6443", f"{SECRET}-1")
    assert info.scheme == "Bearer"
    assert info.expiration is not None
    # Renewed a minute before the plugin's expiry, so no request goes out on a lapsing token.
    left = info.expiration - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(minutes=58) < left < datetime.timedelta(minutes=59, seconds=1)


def test_context_picks_a_context_other_than_the_current_one(tmp_path: pathlib.Path) -> None:
    plugin = exec_plugin(tmp_path)
    path = kubeconfig(
        tmp_path / "config",
        {"admin": {"token": "admin-token"}, "oidc": exec_user(plugin)},
        current="admin",
        namespaces={"oidc": "platform"},
        clusters={"oidc": {"server": "https://other.example"}},
    )
    current = KubeLogin(str(path))
    assert current.fresh().token == "admin-token"
    assert runs(plugin) == 0  # another context's plugin is never run
    chosen = KubeLogin(str(path), "oidc")
    info = chosen.fresh()
    assert (info.server, info.token, chosen.namespace()) == (
        "https://other.example",
        f"{SECRET}-1",
        "platform",
    )


def test_kubeconfig_merges_the_files_of_kubeconfig(tmp_path: pathlib.Path) -> None:
    first = kubeconfig(tmp_path / "a", {"a": {"token": "token-a"}}, current="a")
    second = kubeconfig(tmp_path / "b", {"b": {"token": "token-b"}}, current="b")
    environ = {"KUBECONFIG": f"{tmp_path / 'missing'}:{first}:{second}"}
    assert KubeLogin(environ=environ).fresh().token == "token-a"  # the first current-context
    assert KubeLogin(context="b", environ=environ).fresh().token == "token-b"


def test_client_certificates_and_ca_from_data(tmp_path: pathlib.Path) -> None:
    cert = "-----BEGIN CERTIFICATE-----\nMIIBclient\n-----END CERTIFICATE-----\n"
    key = "-----BEGIN PRIVATE KEY-----\nMIIBkey\n-----END PRIVATE KEY-----\n"

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    path = kubeconfig(
        tmp_path / "config",
        {"certs": {"client-certificate-data": b64(cert), "client-key-data": b64(key)}},
        current="certs",
        clusters={
            "certs": {"server": "https://certs.example", "certificate-authority-data": b64(CA_PEM)}
        },
    )
    info = KubeLogin(str(path)).fresh()
    assert info.token is None
    assert (info.certificate_data, info.private_key_data, info.ca_data) == (cert, key, CA_PEM)
    assert info.insecure is False


def test_an_exec_plugin_may_print_a_client_certificate(tmp_path: pathlib.Path) -> None:
    cert = "-----BEGIN CERTIFICATE-----\nMIIBexec\n-----END CERTIFICATE-----\n"
    key = "-----BEGIN PRIVATE KEY-----\nMIIBexeckey\n-----END PRIVATE KEY-----\n"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"clientCertificateData": cert, "clientKeyData": key},
    }
    plugin = exec_plugin(tmp_path, stdout=json.dumps(credential))
    path = kubeconfig(tmp_path / "config", {"x": exec_user(plugin)}, current="x")
    info = KubeLogin(str(path)).fresh()
    assert info.token is None
    assert (info.certificate_data, info.private_key_data) == (cert, key)


def test_oidc_auth_provider_token(tmp_path: pathlib.Path) -> None:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    id_token = ".".join(
        [part({"alg": "RS256"}), part({"exp": int(time.time()) + 3600, "sub": "me"}), "sig"]
    )
    provider = {
        "auth-provider": {
            "name": "oidc",
            "config": {
                "client-id": "kubernetes",
                "id-token": id_token,
                "idp-issuer-url": "https://issuer.example",
                "refresh-token": "refresh",
            },
        }
    }
    path = kubeconfig(tmp_path / "config", {"oidc": provider}, current="oidc")
    info = KubeLogin(str(path)).fresh()
    assert info.token == id_token


def test_basic_auth_and_token_file(tmp_path: pathlib.Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file")
    path = kubeconfig(
        tmp_path / "config",
        {"basic": {"username": "u", "password": "p"}, "file": {"tokenFile": str(token_file)}},
        current="basic",
    )
    basic = KubeLogin(str(path)).fresh()
    assert (basic.scheme, basic.token) == ("Basic", base64.b64encode(b"u:p").decode())
    assert KubeLogin(str(path), "file").fresh().token == "from-a-file"


def test_in_cluster_service_account(tmp_path: pathlib.Path) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("sa-token")
    (account / "ca.crt").write_text(CA_PEM)
    (account / "namespace").write_text("nks-system")
    environ = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    login = KubeLogin(environ=environ, service_account_dir=account)
    info = login.fresh()
    assert (info.server, info.token, info.ca_path) == (
        "https://10.96.0.1:443",
        "sa-token",
        str(account / "ca.crt"),
    )
    assert login.namespace() == "nks-system"
    # An explicit kubeconfig wins over the pod's account, as for controller-runtime.
    path = kubeconfig(tmp_path / "config", {"x": {"token": "kubeconfig-token"}}, current="x")
    assert KubeLogin(str(path), environ=environ, service_account_dir=account).fresh().token == (
        "kubeconfig-token"
    )


def test_in_cluster_on_ipv6_and_without_a_ca(tmp_path: pathlib.Path) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("sa-token\n")
    environ = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    login = KubeLogin(environ=environ, service_account_dir=account)
    with pytest.raises(LoginError, match=r"^in-cluster login failed: cannot read .*ca\.crt"):
        login.fresh()
    (account / "ca.crt").write_text("")
    with pytest.raises(LoginError, match=r"^in-cluster login failed: .*ca\.crt is empty$"):
        login.fresh()
    (account / "ca.crt").write_text(CA_PEM)
    info = login.fresh()
    assert (info.server, info.token, info.default_namespace) == (
        "https://[fd00::1]:443",
        "sa-token",
        None,
    )


# -- renewals: one plugin run per renewal, shared by every client ------------------------


def test_consumers_share_one_renewal(tmp_path: pathlib.Path) -> None:
    plugin = exec_plugin(tmp_path)
    login = KubeLogin(str(kubeconfig(tmp_path / "config", {"x": exec_user(plugin)}, current="x")))
    kopf_login, client_login = login.for_kopf, login.consumer()
    assert kopf_login().token == client_login().token == f"{SECRET}-1"
    assert runs(plugin) == 1
    # The client was refused (401): it logs in again and the plugin runs once more...
    assert client_login().token == f"{SECRET}-2"
    # ...and kopf, refused with the old token too, gets the new one without another run.
    assert kopf_login().token == f"{SECRET}-2"
    assert runs(plugin) == 2


def test_expired_credentials_are_renewed_before_use(tmp_path: pathlib.Path) -> None:
    plugin = exec_plugin(tmp_path, expires_in=0)
    login = KubeLogin(str(kubeconfig(tmp_path / "config", {"x": exec_user(plugin)}, current="x")))
    consumer = login.consumer()
    assert consumer().token == f"{SECRET}-1"
    assert login.fresh().token == f"{SECRET}-2"  # expired: nobody may use it any more


async def test_the_client_logs_in_again_when_its_credentials_expire() -> None:
    tokens: list[str] = []
    issued = iter(range(1, 10))
    now = [datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)]

    def login() -> kopf.ConnectionInfo:
        n = next(issued)
        lapse = datetime.timedelta(seconds=0.3 if n == 1 else 3600)
        return kopf.ConnectionInfo(
            server="http://kube.test", token=f"t{n}", expiration=now[0] + lapse
        )

    def answer(request: httpx.Request) -> httpx.Response:
        tokens.append(request.headers["authorization"])
        return httpx.Response(200, json={})

    client = KubeClient(login, transport=httpx.MockTransport(answer), clock=lambda: now[0])
    await client.request("GET", "/api")
    now[0] += datetime.timedelta(seconds=0.29)
    await client.request("GET", "/api")
    now[0] += datetime.timedelta(seconds=0.01)  # the first token's expiry
    await client.request("GET", "/api")
    await client.aclose()
    assert tokens == ["Bearer t1", "Bearer t1", "Bearer t2"]


# -- errors: exit 1, a message, never a token --------------------------------------------


def test_a_missing_context_lists_the_contexts(tmp_path: pathlib.Path) -> None:
    path = kubeconfig(tmp_path / "config", {"a": {"token": SECRET}, "b": {"token": SECRET}})
    with pytest.raises(LoginError, match=r"has no current context: pass --context"):
        KubeLogin(str(path)).fresh()
    for command in (
        ["run", "--liveness", ""],
        ["import", "--region", "kr1", "-n", "team", "--credentials-secret", "creds"],
    ):
        result = nks_operator(*command, "--kubeconfig", str(path), "--context", "c", home=tmp_path)
        assert result.returncode == 1, result.stderr
        assert f"the kubeconfig {path} has no context 'c' (contexts: a, b)" in result.stderr
        assert SECRET not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr


def test_a_failing_plugin_is_named_and_its_output_never_shown(tmp_path: pathlib.Path) -> None:
    plugin = exec_plugin(tmp_path, exit_code=1, stderr="error: you must log in again\n")
    path = kubeconfig(tmp_path / "config", {"sso": exec_user(plugin)}, current="sso")
    result = nks_operator("run", "--liveness", "", "--kubeconfig", str(path), home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"nks-operator run: the exec plugin '{plugin}' of user 'sso' (context 'sso') failed: "
        "exec: process returned 1. error: you must log in again"
    )
    assert SECRET not in result.stdout + result.stderr  # it printed a token, then failed


@pytest.mark.parametrize(
    "stdout",
    [
        f'{{"apiVersion": "client.authentication.k8s.io/v1", "status": {{"token": "{SECRET}"',
        json.dumps({"apiVersion": "v1beta1", "kind": "ExecCredential", "status": {"x": SECRET}}),
        json.dumps(
            {
                "apiVersion": "client.authentication.k8s.io/v1",
                "kind": "ExecCredential",
                "status": {"expirationTimestamp": SECRET},
            }
        ),
    ],
    ids=["not-json", "wrong-api-version", "no-token"],
)
def test_a_plugin_printing_nonsense_is_refused_without_echoing_it(
    tmp_path: pathlib.Path, stdout: str
) -> None:
    plugin = exec_plugin(tmp_path, stdout=stdout)
    path = kubeconfig(tmp_path / "config", {"sso": exec_user(plugin)}, current="sso")
    result = nks_operator(
        "import", "--region", "kr1", "-n", "team", "--credentials-secret", "c",
        "--kubeconfig", str(path), home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"nks-operator import: cannot log in to Kubernetes: the exec plugin '{plugin}'"
    ), result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_a_plugin_that_cannot_run(tmp_path: pathlib.Path) -> None:
    path = kubeconfig(
        tmp_path / "config", {"x": exec_user(tmp_path / "not-installed")}, current="x"
    )
    with pytest.raises(LoginError, match=r"exec plugin '.*not-installed' .* cannot run"):
        KubeLogin(str(path)).fresh()


# -- the loader's own process (kube/kubeconfig_loader.py) --------------------------------


def test_no_key_is_left_on_disk_after_a_login(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The `kubernetes` loader writes certificate and key data to temporary files that live
    # as long as its process: the child's, which removes them as it exits.
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    key = "-----BEGIN PRIVATE KEY-----\nMIIBkey\n-----END PRIVATE KEY-----\n"
    data = {
        "client-certificate-data": base64.b64encode(CA_PEM.encode()).decode(),
        "client-key-data": base64.b64encode(key.encode()).decode(),
    }
    path = kubeconfig(tmp_path / "config", {"certs": data}, current="certs")
    assert KubeLogin(str(path)).fresh().private_key_data == key
    assert list(temporary.iterdir()) == []


def test_a_loader_that_does_not_finish_in_time_is_stopped(tmp_path: pathlib.Path) -> None:
    plugin = tmp_path / "slow-plugin"
    plugin.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    plugin.chmod(0o755)
    path = kubeconfig(tmp_path / "config", {"x": exec_user(plugin)}, current="x")
    started = time.monotonic()
    with pytest.raises(kubeconfig_loader.LoadError, match=r"did not finish within 3 s"):
        kubeconfig_loader.load([str(path)], None, timeout=3)
    assert time.monotonic() - started < 30


def test_an_answer_over_the_bound_is_refused(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = kubeconfig(tmp_path / "config", {"x": {"token": "t" * 400}}, current="x")
    assert KubeLogin(str(path)).fresh().token == "t" * 400
    monkeypatch.setattr(kubeconfig_loader, "ANSWER_LIMIT_BYTES", 300)
    with pytest.raises(LoginError, match=r"answer is too large"):
        KubeLogin(str(path)).fresh()


def test_an_unexpected_loader_error_is_named_by_its_kind_only(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "config"
    path.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "main", "cluster": {"server": "https://main.example"}}],
                "users": [{"name": "x", "user": SECRET}],
                "contexts": [{"name": "x", "context": {"cluster": "main", "user": "x"}}],
                "current-context": "x",
            }
        )
    )
    with pytest.raises(LoginError, match=r"^the kubeconfig loader failed \(\w+\)$") as raised:
        KubeLogin(str(path)).fresh()
    assert SECRET not in str(raised.value)


def test_the_loader_never_imports_from_the_working_directory(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = kubeconfig(tmp_path / "config", {"x": {"token": "t"}}, current="x")
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "json.py").write_text("raise SystemExit('a json.py of the working directory')\n")
    monkeypatch.chdir(folder)
    assert KubeLogin(str(path)).fresh().token == "t"


def test_a_loader_whose_caller_is_gone_exits_quietly(tmp_path: pathlib.Path) -> None:
    # The operator killed while it logs in: its child answers into a closed pipe. Its
    # stderr is the operator's log, where a traceback reads as a crash.
    plugin = tmp_path / "slow-plugin"
    plugin.write_text(
        f"#!{sys.executable}\nimport time\ntime.sleep(1)\n"
        'print(\'{"apiVersion": "client.authentication.k8s.io/v1", '
        '"kind": "ExecCredential", "status": {"token": "t"}}\')\n'
    )
    plugin.chmod(0o755)
    path = kubeconfig(tmp_path / "config", {"x": exec_user(plugin)}, current="x")
    caller = (
        "import os, sys, threading\n"
        "from nks_operator.kube import kubeconfig_loader\n"
        "threading.Timer(0.2, os._exit, (0,)).start()\n"
        "kubeconfig_loader.load([sys.argv[1]], None)\n"
    )
    # Its stderr reaches EOF only when the child, which shares it, has exited too.
    result = subprocess.run(
        [sys.executable, "-c", caller, str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stderr == ""
