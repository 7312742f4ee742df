"""`nks-operator run --webhook-*`: options, certificates, kopf registration, handler answers."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import kopf
import pytest

from nks_operator import webhook
from nks_operator.cli import build_parser
from nks_operator.handlers import admission as admission_handlers
from nks_operator.kube.client import KubeClient
from nks_operator.settings import OperatorSettings
from tests.unit.specs import CLUSTER_SPEC


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["run", *argv])


def test_no_port_means_no_webhook() -> None:
    assert webhook.options_from_args(parse()) is None


def test_other_webhook_flags_need_a_port() -> None:
    with pytest.raises(SystemExit, match="--webhook-host needs --webhook-port"):
        webhook.options_from_args(parse("--webhook-host", "127.0.0.1"))


def test_options(tmp_path: Path) -> None:
    (tmp_path / "tls.crt").write_text("x")
    (tmp_path / "tls.key").write_text("x")
    options = webhook.options_from_args(
        parse(
            "--webhook-port=9443",
            f"--webhook-cert-dir={tmp_path}",
            "--webhook-service=nks-system/nks-operator-webhook",
            "--webhook-manage-config=nks-operator.nks.nhncloud.com",
            "--webhook-failure-policy=Ignore",
        )
    )
    assert options == webhook.WebhookOptions(
        port=9443,
        cert_dir=tmp_path,
        managed_config="nks-operator.nks.nhncloud.com",
        service=webhook.ServiceRef("nks-system", "nks-operator-webhook", 443),
        ignore_failures=True,
    )


def test_inject_ca_is_for_the_self_signed_certificate_only(tmp_path: Path) -> None:
    options = webhook.options_from_args(
        parse("--webhook-port=9443", "--webhook-inject-ca=nks-operator-nks-system")
    )
    assert options == webhook.WebhookOptions(port=9443, inject_ca_config="nks-operator-nks-system")
    (tmp_path / "tls.crt").write_text("x")
    (tmp_path / "tls.key").write_text("x")
    for other in (f"--webhook-cert-dir={tmp_path}", "--webhook-manage-config=a.example.com"):
        with pytest.raises(SystemExit, match=f"cannot go with {other.split('=')[0]}"):
            webhook.options_from_args(
                parse("--webhook-port=9443", "--webhook-inject-ca=x.example.com", other)
            )
    with pytest.raises(SystemExit, match="--webhook-inject-ca needs --webhook-port"):
        webhook.options_from_args(parse("--webhook-inject-ca=x.example.com"))


def test_missing_certificate_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"tls\.crt is missing"):
        webhook.options_from_args(parse("--webhook-port=9443", f"--webhook-cert-dir={tmp_path}"))


@pytest.mark.parametrize(
    "argv",
    [
        ["--webhook-manage-config=nks-operator-test"],  # kopf's webhook names need a dot
        ["--webhook-manage-config=Bad.Name"],
        ["--webhook-service=just-a-name"],
        ["--webhook-service=ns/name:70000"],
        ["--webhook-port=0"],
        ["--webhook-inject-ca=Bad_Name"],
    ],
)
def test_bad_flag_values_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--webhook-port=9443", *argv)
    assert "error: argument --webhook-" in capsys.readouterr().err


def test_self_signed_certificate_names_every_host(tmp_path: Path) -> None:
    cert, key = webhook.self_signed_certificate(
        ["operator.example", "nks-webhook.nks-system.svc", "127.0.0.1"], tmp_path
    )
    assert key.stat().st_mode & 0o077 == 0
    text = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-text"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "DNS:operator.example, DNS:nks-webhook.nks-system.svc, IP Address:127.0.0.1" in text
    assert "CA:TRUE" in text
    assert "Subject: CN = operator.example" in text
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)


def test_server_from_a_cert_dir_uses_its_ca(tmp_path: Path) -> None:
    for name in ("tls.crt", "tls.key", "ca.crt"):
        (tmp_path / name).write_text("x")
    server = webhook.build_server(webhook.WebhookOptions(port=9443, cert_dir=tmp_path))
    assert type(server) is kopf.WebhookServer
    assert (server.addr, server.port) == ("0.0.0.0", 9443)
    assert server.certfile == tmp_path / "tls.crt"
    assert server.pkeyfile == tmp_path / "tls.key"
    assert server.cafile == tmp_path / "ca.crt"


async def test_service_server_advertises_the_service() -> None:
    options = webhook.WebhookOptions(
        port=free_port(),
        host="127.0.0.1",
        service=webhook.ServiceRef("nks-system", "nks-webhook", 443),
    )
    server = webhook.build_server(options)
    assert isinstance(server, webhook.ServiceWebhookServer)

    async def never_called(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no request expected")

    configs = server(never_called)
    config = await anext(configs)
    await configs.aclose()
    assert config["service"] == {"namespace": "nks-system", "name": "nks-webhook", "port": 443}
    assert "url" not in config
    assert config["caBundle"]


# -- kopf registration and handler answers --------------------------------------------------


def test_importing_the_operators_handlers_registers_no_webhook() -> None:
    import nks_operator.handlers  # noqa: F401

    assert kopf.get_default_registry()._webhooks.get_all_handlers() == []


def test_register_adds_both_handlers_and_the_server(tmp_path: Path) -> None:
    registry = kopf.OperatorRegistry()
    for name in ("tls.crt", "tls.key"):
        (tmp_path / name).write_text("x")
    options = webhook.WebhookOptions(
        port=9443, cert_dir=tmp_path, managed_config="x.example.com", ignore_failures=True
    )
    admission_handlers.register(options, registry=registry)
    handlers = {h.id: h for h in registry._webhooks.get_all_handlers()}
    assert set(handlers) == {"validate-nkscluster", "validate-nksnodegroup"}
    for handler in handlers.values():
        assert handler.operations == ["CREATE", "UPDATE"]
        assert handler.ignore_failures is True
    assert [h.id for h in registry._activities.get_all_handlers()] == ["webhook-server"]


def test_register_with_inject_ca_adds_the_injection_at_start_and_its_cleanup() -> None:
    registry = kopf.OperatorRegistry()
    options = webhook.WebhookOptions(port=9443, host="127.0.0.1", inject_ca_config="x.example")
    admission_handlers.register(options, registry=registry)
    assert [h.id for h in registry._activities.get_all_handlers()] == [
        "webhook-server",
        "webhook-ca-bundle",
        "webhook-ca-bundle",
    ]


# -- the CA bundle injection, against a fake apiserver ---------------------------------------

CONFIG_PATH = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/cfg.example"


class FakeConfigurations:
    """One ValidatingWebhookConfiguration behind GET and PATCH (None: it does not exist)."""

    def __init__(self, config: dict[str, Any] | None, *, forbid: str = "") -> None:
        self.config = config
        self.forbid = forbid
        self.patches: list[tuple[str, dict[str, Any]]] = []
        self.reads = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == CONFIG_PATH, request.url
        if request.method == self.forbid:
            return httpx.Response(403, json={"reason": "Forbidden", "message": "no"})
        if self.config is None:
            return httpx.Response(404, json={"reason": "NotFound", "message": "gone"})
        if request.method == "GET":
            self.reads += 1
            return httpx.Response(200, json=self.config)
        assert request.method == "PATCH"
        patch = json.loads(request.content)
        self.patches.append((request.headers["content-type"], patch))
        if patch["metadata"]["resourceVersion"] != self.config["metadata"]["resourceVersion"]:
            return httpx.Response(409, json={"reason": "Conflict", "message": "changed"})
        by_name = {hook["name"]: hook for hook in self.config["webhooks"]}
        for change in patch["webhooks"]:
            by_name[change["name"]]["clientConfig"].update(change["clientConfig"])
        self.config["metadata"]["resourceVersion"] += "1"
        return httpx.Response(200, json=self.config)

    def injector(self, ca: bytes = b"CA") -> webhook.CABundleInjector:
        client = KubeClient(
            lambda: kopf.ConnectionInfo(server="http://apiserver", token="t"),
            transport=httpx.MockTransport(self.handle),
        )
        return webhook.CABundleInjector(client, "cfg.example", ca)


def configuration(*bundles: str | None) -> dict[str, Any]:
    hooks = []
    for i, bundle in enumerate(bundles):
        client_config: dict[str, Any] = {"service": {"name": "svc", "namespace": "ns"}}
        if bundle is not None:
            client_config["caBundle"] = bundle
        hooks.append({"name": f"hook-{i}.cfg.example", "clientConfig": client_config})
    return {"metadata": {"name": "cfg.example", "resourceVersion": "7"}, "webhooks": hooks}


async def test_injection_writes_only_the_stale_ca_bundles() -> None:
    ca = base64.b64encode(b"CA").decode()
    fake = FakeConfigurations(configuration(None, ca, "old"))
    assert await fake.injector().inject() is True
    ((content_type, patch),) = fake.patches
    assert content_type == "application/strategic-merge-patch+json"
    # Conditional on the version read; only the CA bundle of the webhooks that lack it.
    assert patch == {
        "metadata": {"resourceVersion": "7"},
        "webhooks": [
            {"name": "hook-0.cfg.example", "clientConfig": {"caBundle": ca}},
            {"name": "hook-2.cfg.example", "clientConfig": {"caBundle": ca}},
        ],
    }
    assert fake.config is not None
    assert {h["clientConfig"]["caBundle"] for h in fake.config["webhooks"]} == {ca}
    assert fake.config["webhooks"][0]["clientConfig"]["service"] == {
        "name": "svc",
        "namespace": "ns",
    }
    # Nothing to do the second time.
    assert await fake.injector().inject() is False
    assert len(fake.patches) == 1


@pytest.mark.parametrize(
    ("fake", "message"),
    [
        (FakeConfigurations(None), "does not exist: the operator only writes its CA bundle"),
        (FakeConfigurations(configuration()), "has no webhooks"),
        (FakeConfigurations(configuration(None), forbid="GET"), "cannot read .* get and patch"),
        (FakeConfigurations(configuration(None), forbid="PATCH"), "cannot patch .* get and patch"),
    ],
    ids=["missing", "empty", "no-get", "no-patch"],
)
async def test_injection_refusals_name_the_fix(fake: FakeConfigurations, message: str) -> None:
    with pytest.raises(webhook.InjectionRefused, match=message):
        await fake.injector().inject()


async def test_kept_ca_bundle_comes_back_after_a_replace(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeConfigurations(configuration(None))
    injector = fake.injector()
    assert await injector.inject() is True
    keeper = asyncio.create_task(injector.keep(interval=0.01))
    try:
        reads = fake.reads
        for _ in range(100):
            await asyncio.sleep(0.01)
            if fake.reads >= reads + 2:
                break
        assert fake.reads >= reads + 2  # the keeper checked twice
        assert len(fake.patches) == 1  # unchanged: only read
        fake.config = configuration(None)  # replaced whole, as `helm upgrade --force` does
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len(fake.patches) == 2:
                break
        assert len(fake.patches) == 2
        assert "had gone from ValidatingWebhookConfiguration cfg.example" in caplog.text
    finally:
        keeper.cancel()


def body(spec: dict[str, Any], **metadata: Any) -> kopf.Body:
    return kopf.Body({"metadata": {"name": "demo", **metadata}, "spec": spec})


async def call(kind: str, new: kopf.Body, old: kopf.Body | None = None) -> None:
    registry = kopf.OperatorRegistry()
    admission_handlers.register(
        webhook.WebhookOptions(port=9443, cert_dir=Path("/nonexistent")), registry=registry
    )
    handler = next(h for h in registry._webhooks.get_all_handlers() if h.id == f"validate-{kind}")
    await handler.fn(body=new, old=old, memo=kopf.Memo(settings=OperatorSettings()))


async def test_problems_become_one_422_answer() -> None:
    bad = {**CLUSTER_SPEC, "network": {**CLUSTER_SPEC["network"], "podsNetworkSubnet": 20}}
    bad["network"]["podsNetworkCIDR"] = "10.100.0.0/19"
    with pytest.raises(kopf.AdmissionError) as error:
        await call("nkscluster", body(bad, name="name-longer-than-twenty"))
    assert error.value.code == 422
    assert str(error.value) == (
        "metadata.name (as clusterName) 'name-longer-than-twenty' is longer than 20 characters "
        "(NKS limit); set it explicitly; spec.network.podsNetworkSubnet 20 must be at least the "
        "pod network prefix + 2 (10.100.0.0/19 -> at least 21)"
    )
    await call("nkscluster", body(CLUSTER_SPEC))  # valid: no exception


async def test_deletion_and_internal_errors_are_admitted(monkeypatch: pytest.MonkeyPatch) -> None:
    invalid = {**CLUSTER_SPEC, "keypair": "other"}
    old = kopf.Body(
        {"metadata": {"name": "demo"}, "spec": CLUSTER_SPEC, "status": {"clusterID": "x"}}
    )
    with pytest.raises(kopf.AdmissionError):
        await call("nkscluster", body(invalid), old)
    deleting = body(invalid, deletionTimestamp="2026-01-01T00:00:00Z")
    await call("nkscluster", deleting, old)

    def broken(*args: Any, **kwargs: Any) -> list[str]:
        raise RuntimeError("bug")

    monkeypatch.setattr(admission_handlers.admission, "review_cluster", broken)
    await call("nkscluster", body(invalid), old)
