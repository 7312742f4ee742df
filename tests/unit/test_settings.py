"""Operator settings are validated wherever they come from, and errors say where."""

from __future__ import annotations

import pydantic
import pytest

from nks_operator.run_command import SETTING_FLAGS
from nks_operator.settings import OperatorSettings, SettingsError


def test_environment_values_are_read_and_flags_win() -> None:
    env = {
        "NKS_FAST_POLL_SECONDS": "2.5",
        "NKS_SLOW_POLL_SECONDS": "30",
        "NKS_ERROR_BACKOFF_SECONDS": "7",
        "NKS_METRICS_PORT": "9090",
    }
    settings = OperatorSettings.from_env(env, slow_poll_seconds=45.0, metrics_port=None)
    assert (settings.fast_poll_seconds, settings.slow_poll_seconds) == (2.5, 45.0)
    assert settings.error_backoff_seconds == 7.0
    assert settings.metrics_port == 9090
    assert OperatorSettings.from_env({}) == OperatorSettings()


@pytest.mark.parametrize(
    ("env", "overrides", "message"),
    [
        ({"NKS_FAST_POLL_SECONDS": "0"}, {}, "NKS_FAST_POLL_SECONDS: should be greater than 0"),
        ({"NKS_FAST_POLL_SECONDS": "-1"}, {}, "NKS_FAST_POLL_SECONDS: should be greater than 0"),
        ({"NKS_FAST_POLL_SECONDS": "ten"}, {}, "NKS_FAST_POLL_SECONDS: should be a valid number"),
        ({"NKS_SLOW_POLL_SECONDS": "nan"}, {}, "NKS_SLOW_POLL_SECONDS: should be a finite number"),
        ({"NKS_ERROR_BACKOFF_SECONDS": "0"}, {}, "NKS_ERROR_BACKOFF_SECONDS: should be greater"),
        ({"NKS_METRICS_PORT": "-1"}, {}, "NKS_METRICS_PORT: should be greater than or equal to 0"),
        ({"NKS_METRICS_PORT": "1.5"}, {}, "NKS_METRICS_PORT: should be a valid integer"),
        ({}, {"fast_poll_seconds": 0.0}, "--fast-poll: should be greater than 0 (got 0.0)"),
        ({}, {"slow_poll_seconds": float("inf")}, "--slow-poll: should be a finite number"),
        ({}, {"error_backoff_seconds": -3.0}, "--error-backoff: should be greater than 0"),
        ({}, {"metrics_port": 65536}, "--metrics-port: should be less than or equal to 65535"),
        # A flag wins over the variable, also when the flag is the wrong one.
        ({"NKS_FAST_POLL_SECONDS": "5"}, {"fast_poll_seconds": -1.0}, "--fast-poll: should be"),
    ],
)
def test_refused_settings_name_their_source(
    env: dict[str, str], overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        OperatorSettings.from_env(env, flags=SETTING_FLAGS, **overrides)
    assert str(refused.value).startswith(message), str(refused.value)


def test_every_refused_setting_is_listed() -> None:
    env = {"NKS_FAST_POLL_SECONDS": "0", "NKS_SLOW_POLL_SECONDS": "0"}
    with pytest.raises(SettingsError) as refused:
        OperatorSettings.from_env(env)
    assert "NKS_FAST_POLL_SECONDS" in str(refused.value)
    assert "NKS_SLOW_POLL_SECONDS" in str(refused.value)


@pytest.mark.parametrize(
    "field",
    [
        {"jitter_fraction": -0.1},
        {"jitter_fraction": 1.0},
        {"supports_ttl_seconds": 0},
        {"adoption_grace_seconds": -1},
    ],
)
def test_settings_built_in_code_are_validated_too(field: dict[str, float]) -> None:
    with pytest.raises(pydantic.ValidationError):
        OperatorSettings(**field)  # type: ignore[arg-type]


def test_default_credentials_come_from_the_environment_and_stay_secret() -> None:
    settings = OperatorSettings.from_env(
        {"NKS_TENANT_ID": "t", "NKS_USERNAME": "u", "NKS_PASSWORD": "hunter2"}
    )
    assert settings.default_credentials is not None
    assert settings.default_credentials.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)
