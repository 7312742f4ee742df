"""The endpoint allow-list: which URLs credentials may be sent to, and its settings."""

from __future__ import annotations

import pytest

from nks_operator.nks.allowlist import PUBLIC_ONLY, EndpointPolicy, EndpointRefused, describe
from nks_operator.settings import DefaultCredentials, OperatorSettings, SettingsError

NHN_ALLOWED = [
    "https://api-identity-infrastructure.nhncloudservice.com/v2.0/tokens",
    "https://kr1-api-kubernetes-infrastructure.nhncloudservice.com/v1/clusters",
    "https://kr1-api-instance-infrastructure.nhncloudservice.com/v2/tenant/servers/detail",
    "https://api-identity-infrastructure.gov-nhncloudservice.com/v2.0/tokens",
    "https://KR1-API-Kubernetes-Infrastructure.NHNCloudService.com/v1",  # hosts: any case
    "https://kr2-api-kubernetes-infrastructure.nhncloudservice.com./v1",  # trailing dot
    "https://kr1-api-kubernetes-infrastructure.nhncloudservice.com:443/v1",  # explicit port
]

REFUSED_BY_DEFAULT = [
    # look-alikes: the NHN domain must be the host's own suffix
    "https://nhncloudservice.com.evil.com/v1",
    "https://kr1.nhncloudservice.com.evil.com/v1",
    "https://evilnhncloudservice.com/v1",
    "https://kr1-nhncloudservice.com/v1",
    "https://kr1.nhncloudservice.com\u3002evil.com/v1",  # ideographic full stop
    "https://kr1.nhncloudservice.co/v1",
    # NHN's hosts, but not over https on 443
    "http://kr1-api-kubernetes-infrastructure.nhncloudservice.com/v1",
    "https://kr1-api-kubernetes-infrastructure.nhncloudservice.com:8443/v1",
    "http://kr1-api-kubernetes-infrastructure.nhncloudservice.com:443/v1",
    # user info: `host@` tricks and credentials in the URL
    "https://kr1.nhncloudservice.com@evil.com/v1",
    "https://kr1.nhncloudservice.com%2f@evil.com/v1",
    "https://user:pw@kr1.nhncloudservice.com/v1",
    "https://evil.com#@kr1.nhncloudservice.com/v1",
    # internal addresses: loopback, link-local metadata, private networks
    "http://127.0.0.1:9511/v1",
    "https://127.0.0.1/v1",
    "http://localhost/v1",
    "http://[::1]:9511/v1",
    "https://[::ffff:127.0.0.1]/v1",
    "http://169.254.169.254/latest/meta-data",
    "https://[fe80::1]/v1",
    "http://10.0.0.1/v1",
    # not http(s), or not a URL
    "ftp://kr1.nhncloudservice.com/v1",
    "file:///etc/passwd",
    "kr1.nhncloudservice.com/v1",
    "http://[::1",
    "",
]


@pytest.mark.parametrize("url", NHN_ALLOWED)
def test_nhn_public_https_hosts_are_allowed_without_configuration(url: str) -> None:
    PUBLIC_ONLY.check(url)
    assert PUBLIC_ONLY.allows(url)


@pytest.mark.parametrize("url", REFUSED_BY_DEFAULT)
def test_everything_else_is_refused_by_default(url: str) -> None:
    assert not PUBLIC_ONLY.allows(url)
    with pytest.raises(EndpointRefused):
        PUBLIC_ONLY.check(url)


ADMIN = EndpointPolicy.from_entries(
    [
        "http://127.0.0.1:9511",
        "http://[::1]:*",
        "https://nks.private.example/nks",
        "https://trailing.example./",
    ]
)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        # an exact port, and only that port
        ("http://127.0.0.1:9511/v1/clusters", True),
        ("http://127.0.0.1:9512/v1/clusters", False),
        ("http://127.0.0.1/v1/clusters", False),
        ("https://127.0.0.1:9511/v1/clusters", False),  # scheme is part of the prefix
        ("http://127.0.0.2:9511/v1/clusters", False),
        ("http://localhost:9511/v1/clusters", False),  # no name resolution: as written
        # `:*`: any port of that host and scheme
        ("http://[::1]:1/v1", True),
        ("http://[::1]:65535/v1", True),
        ("http://[::1]/v1", True),
        ("https://[::1]:9511/v1", False),
        # a path prefix ends at a segment boundary
        ("https://nks.private.example/nks", True),
        ("https://nks.private.example/nks/", True),
        ("https://nks.private.example/nks/v1/clusters?limit=5", True),
        ("https://nks.private.example/nksx/v1", False),
        ("https://nks.private.example/v1", False),
        ("https://nks.private.example/", False),
        # ... and cannot be left through dot segments, encoded or not
        ("https://nks.private.example/nks/../admin", False),
        ("https://nks.private.example/nks/%2e%2e/admin", False),
        ("https://nks.private.example/nks/..%2Fadmin", False),
        ("https://nks.private.example/nks%2F..%2Fadmin", False),
        ("https://nks.private.example/nks\\..\\admin", False),
        # user info is refused even on an allowed host
        ("http://user:pw@127.0.0.1:9511/v1", False),
        # a trailing dot is the same host, either way round
        ("https://trailing.example/v1", True),
        ("https://trailing.example./v1", True),
        # the admin's list does not take NHN's hosts away
        ("https://kr1-api-kubernetes-infrastructure.nhncloudservice.com/v1", True),
        ("http://169.254.169.254/latest/meta-data", False),
    ],
)
def test_admin_prefixes(url: str, allowed: bool) -> None:
    assert ADMIN.allows(url) is allowed


@pytest.mark.parametrize(
    ("url", "described"),
    [
        ("https://h.example/secret/path?token=abc#frag", "https://h.example:443"),
        ("http://127.0.0.1:9511/v1", "http://127.0.0.1:9511"),
        ("http://[::1]:80/", "http://[::1]:80"),
        ("https://Bücher.Example./x", "https://xn--bcher-kva.example:443"),
        ("https://user:password@h.example/", "an unparsable URL"),
        ("ftp://h.example/", "an unparsable URL"),
    ],
)
def test_describe_names_scheme_host_and_port_only(url: str, described: str) -> None:
    assert describe(url) == described


def test_refusal_message_names_only_the_endpoint() -> None:
    with pytest.raises(EndpointRefused) as caught:
        PUBLIC_ONLY.check("http://169.254.169.254/latest/meta-data?x=token")
    message = str(caught.value)
    assert message.startswith("http://169.254.169.254:80 is not an allowed endpoint")
    assert "NKS_ALLOWED_ENDPOINTS" in message
    assert "meta-data" not in message and "token" not in message


# -- settings --------------------------------------------------------------------------


def test_nks_allowed_endpoints_is_a_comma_list() -> None:
    settings = OperatorSettings.from_env(
        {"NKS_ALLOWED_ENDPOINTS": " http://127.0.0.1:* , https://nks.private.example/nks,"}
    )
    assert settings.allowed_endpoints == ("http://127.0.0.1:*", "https://nks.private.example/nks")
    policy = settings.endpoint_policy()
    assert policy.allows("http://127.0.0.1:40000/v1")
    assert policy.allows("https://nks.private.example/nks/v1")
    assert not policy.allows("http://169.254.169.254/")


def test_default_is_nhn_public_hosts_only() -> None:
    policy = OperatorSettings.from_env({}).endpoint_policy()
    assert policy == PUBLIC_ONLY
    assert not policy.allows("http://127.0.0.1:9511/v1")


@pytest.mark.parametrize(
    "entry",
    [
        "127.0.0.1:9511",
        "ftp://files.example",
        "http://",
        "http://user:pw@host.example",
        "http://host.example/?q=1",
        "http://host.example:notaport",
        "https://host.example:99999",
    ],
)
def test_a_malformed_entry_is_refused_naming_it(entry: str) -> None:
    with pytest.raises(SettingsError) as caught:
        OperatorSettings.from_env({"NKS_ALLOWED_ENDPOINTS": f"http://127.0.0.1:*,{entry}"})
    message = str(caught.value)
    assert message.startswith("NKS_ALLOWED_ENDPOINTS: ")
    assert repr(entry) in message


def test_the_flag_is_named_when_it_brought_the_entry() -> None:
    with pytest.raises(SettingsError, match=r"^--allowed-endpoints: .*'ftp://x'"):
        OperatorSettings.from_env(
            {}, flags={"allowed_endpoints": "--allowed-endpoints"}, allowed_endpoints="ftp://x"
        )


def test_the_default_credentials_endpoints_are_the_admins_and_allowed() -> None:
    defaults = DefaultCredentials(
        tenant_id="t",
        username="u",
        password="p",  # type: ignore[arg-type]
        identity_url="http://10.1.2.3:5000/identity",
        nks_url="http://10.1.2.3:9511",
    )
    policy = OperatorSettings(default_credentials=defaults).endpoint_policy()
    assert policy.allows("http://10.1.2.3:5000/identity/v2.0/tokens")
    assert policy.allows("http://10.1.2.3:9511/v1/clusters")
    assert not policy.allows("http://10.1.2.3:5000/other")
    assert not policy.allows("http://10.1.2.3:22/")


def test_a_default_credentials_url_that_is_no_prefix_adds_nothing() -> None:
    """The operator still starts; the client refuses the URL where it is used."""
    defaults = DefaultCredentials("t", "u", "p", nks_url="http://10.1.2.3:9511/?x=1")  # type: ignore[arg-type]
    assert OperatorSettings(default_credentials=defaults).endpoint_policy() == PUBLIC_ONLY


@pytest.mark.parametrize(
    ("workers", "concurrency", "slots"), [(16, None, 8), (1, None, 1), (16, 3, 3)]
)
def test_pass_slots_per_account(workers: int, concurrency: int | None, slots: int) -> None:
    settings = OperatorSettings(workers=workers, account_concurrency=concurrency)
    assert settings.pass_slots_per_account == slots
