"""Passwords, tokens, appkeys and kubeconfigs never reach a repr, str, log or exception."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx
from pydantic import SecretStr

from nks_operator.nks import (
    Cluster,
    ClusterCreateLabels,
    Credentials,
    ExtraVolume,
    InvalidRequestError,
    InvalidResponseError,
    NKSClient,
    NKSError,
    NodeGroupCreateLabels,
    Token,
    TokenCache,
)
from nks_operator.nks.masking import scrub
from nks_operator.nks.models import ControlPlaneLog, ControlPlaneLogUpdate

from .conftest import IDENTITY_URL, NKS_URL, PASSWORD, TOKEN, token_body

CL = "c0ffee00-0000-4000-8000-000000000004"
KUBECONFIG = "apiVersion: v1\nusers:\n- name: admin\n  user:\n    client-key-data: S3CR3TKEYDATA\n"
APPKEY = "appkey-very-secret-123"


def assert_clean(text: str) -> None:
    for secret in (PASSWORD, TOKEN, "S3CR3TKEYDATA", APPKEY):
        assert secret not in text


def test_credentials_repr_and_str(credentials: Credentials) -> None:
    assert_clean(repr(credentials))
    assert_clean(str(credentials))
    assert_clean(repr(credentials.cache_key(IDENTITY_URL)))
    assert credentials.password.get_secret_value() == PASSWORD


def test_token_repr() -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    for value in (SecretStr(TOKEN), TOKEN):
        token = Token(value=value, expires_at=now, obtained_at=now)  # type: ignore[arg-type]
        assert_clean(repr(token))
        assert_clean(str(token))
        assert token.value.get_secret_value() == TOKEN


async def test_client_and_cache_repr(
    client: NKSClient, token_cache: TokenCache, mock_api: respx.MockRouter
) -> None:
    await client.authenticate()
    assert_clean(repr(client))
    assert_clean(repr(token_cache))
    assert_clean(repr(token_cache._tokens))


def test_appkeys_masked_in_repr_but_sent_on_the_wire() -> None:
    labels = NodeGroupCreateLabels(
        availability_zone="kr2-pub-a",
        boot_volume_type="General SSD",
        boot_volume_size=50,
        boot_volume_appkey=APPKEY,
        extra_volumes=[
            ExtraVolume(volume_type="General SSD", volume_size=10, volume_appkey=APPKEY)
        ],
    )
    assert_clean(repr(labels))
    assert_clean(str(labels))
    wire = labels.to_wire()
    assert wire["boot_volume_appkey"] == APPKEY
    assert wire["extra_volumes"][0]["volume_appkey"] == APPKEY


async def test_kubeconfig_is_a_secret(client: NKSClient, mock_api: respx.MockRouter) -> None:
    mock_api.get(f"{NKS_URL}/v1/clusters/{CL}/config").mock(
        return_value=httpx.Response(200, json={"config": KUBECONFIG})
    )
    kubeconfig = await client.get_kubeconfig(CL)
    assert_clean(repr(kubeconfig))
    assert_clean(str(kubeconfig))
    assert kubeconfig.get_secret_value() == KUBECONFIG


async def test_echoed_secrets_are_scrubbed_from_errors(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    body = {
        "errors": [
            {"status": 400, "detail": f"bad token {TOKEN} for password {PASSWORD}", "title": "x"}
        ]
    }
    mock_api.get(f"{NKS_URL}/v1/clusters/{CL}").mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(InvalidRequestError) as caught:
        await client.get_cluster(CL)
    assert_clean(str(caught.value))
    assert_clean(repr(caught.value))
    assert "bad token *** for password ***" in str(caught.value)


async def test_identity_errors_do_not_echo_the_password(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api["token"].mock(
        return_value=httpx.Response(400, text=f'{{"auth": {{"password": "{PASSWORD}"}}}} invalid')
    )
    with pytest.raises(NKSError) as caught:
        await client.authenticate()
    assert_clean(str(caught.value))


async def test_malformed_success_bodies_are_not_quoted(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(f"{NKS_URL}/v1/clusters/{CL}/config").mock(
        return_value=httpx.Response(200, text=KUBECONFIG)  # YAML, not the JSON envelope
    )
    with pytest.raises(InvalidResponseError) as caught:
        await client.get_kubeconfig(CL)
    assert_clean(str(caught.value))

    body = token_body()
    body["access"]["token"]["expires"] = {"not": "a date"}
    body["access"]["token"]["id"] = ["list", TOKEN]
    mock_api["token"].mock(return_value=httpx.Response(200, json=body))
    client.token_cache.clear()
    with pytest.raises(InvalidResponseError) as caught_token:
        await client.authenticate()
    assert_clean(str(caught_token.value))
    assert "access.token.id" in str(caught_token.value)


async def test_logs_hold_no_secrets(
    client: NKSClient, mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mock_api["token"].mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json=token_body(TOKEN)),
            httpx.Response(200, json=token_body(TOKEN + "-2")),
        ]
    )
    mock_api.get(f"{NKS_URL}/v1/clusters/{CL}").mock(
        side_effect=[
            httpx.Response(401),
            httpx.Response(500),
            httpx.ReadTimeout("slow"),
            httpx.Response(200, json={"uuid": CL}),
        ]
    )
    mock_api.get(f"{NKS_URL}/v1/clusters/{CL}/config").mock(
        return_value=httpx.Response(200, json={"config": KUBECONFIG})
    )
    mock_api.post(f"{NKS_URL}/v1/clusters/{CL}/nodegroups").mock(
        return_value=httpx.Response(400, json={"error_message": f"bad appkey {APPKEY}"})
    )

    await client.get_cluster(CL)
    await client.get_kubeconfig(CL)
    from nks_operator.nks import NodeGroupCreateRequest

    with pytest.raises(InvalidRequestError) as caught:
        await client.create_nodegroup(
            CL,
            NodeGroupCreateRequest(
                name="ng",
                flavor_id="f",
                image_id="i",
                labels=NodeGroupCreateLabels(
                    availability_zone="a",
                    boot_volume_type="t",
                    boot_volume_size=20,
                    boot_volume_appkey=APPKEY,
                ),
            ),
        )

    assert_clean(str(caught.value))  # the echoed appkey is scrubbed too
    assert "bad appkey ***" in str(caught.value)
    assert any(r.name.startswith("nks_operator.nks") for r in caplog.records)
    assert any("re-authenticating" in r.getMessage() for r in caplog.records)
    assert any("retry" in r.getMessage() for r in caplog.records)
    assert_clean(caplog.text)
    for record in caplog.records:
        assert_clean(record.getMessage())


def test_scrub_ignores_trivial_secrets() -> None:
    assert scrub("a token abc", ["abc", None, ""]) == "a token abc"
    assert scrub(f"x{TOKEN}y", [TOKEN]) == "x***y"


# -- the control-plane log app key (the current edition) ---------------------------------

SGW = "48f4ff38-d14b-4f34-a40c-705524e6a755"


def _lncs() -> ControlPlaneLog:
    return ControlPlaneLog(enable=True, type="lncs", sgw=SGW, lncs_appkey=SecretStr(APPKEY))


def test_control_plane_log_app_key_masked_but_sent() -> None:
    settings = _lncs()
    assert_clean(repr(settings))
    assert_clean(str(ControlPlaneLogUpdate(control_plane_log=settings)))
    assert (
        ControlPlaneLogUpdate(control_plane_log=settings).to_wire()["control_plane_log"][
            "lncs_appkey"
        ]
        == APPKEY
    )
    # At create it is a label of JSON text: the key is inside the text, and only there.
    labels = ClusterCreateLabels(
        availability_zone="kr1-pub-a",
        node_image="img",
        boot_volume_type="General SSD",
        boot_volume_size=20,
        kube_tag="v1.28.3",
        master_lb_floating_ip_enabled=False,
        control_plane_log=settings,
    )
    assert_clean(repr(labels))
    assert APPKEY in labels.to_wire()["control_plane_log"]
    # An answer that shows the label keeps the key a secret too.
    answer = Cluster.model_validate(
        {"uuid": CL, "labels": {"control_plane_log": labels.to_wire()["control_plane_log"]}}
    )
    assert_clean(repr(answer))
    shown = answer.labels.control_plane_log
    assert shown is not None and shown.lncs_appkey is not None
    assert shown.lncs_appkey.get_secret_value() == APPKEY


async def test_an_echoed_app_key_is_scrubbed_from_errors(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.patch(f"{NKS_URL}/v1/clusters/{CL}").mock(
        return_value=httpx.Response(
            400, json={"errors": [{"status": 400, "detail": f"appkey {APPKEY} is not valid"}]}
        )
    )
    with pytest.raises(InvalidRequestError) as caught:
        await client.set_control_plane_log(CL, _lncs())
    assert_clean(str(caught.value))
    assert_clean(repr(caught.value))
    assert "***" in str(caught.value)
