"""The admin's tenancy settings: who may use the default credentials and register in Argo CD."""

from __future__ import annotations

import pytest

from nks_operator.api.cluster import ArgoCDRegistration
from nks_operator.reconcile.policy import argocd_refusals
from nks_operator.settings import OperatorSettings, SettingsError


def settings(**env: str) -> OperatorSettings:
    return OperatorSettings.from_env({"POD_NAMESPACE": "nks-system", **env})


def test_default_credentials_serve_the_operators_namespace_unless_the_admin_says_more() -> None:
    plain = settings()
    assert plain.default_credentials_allowed("nks-system")
    assert not plain.default_credentials_allowed("team-a")
    listed = settings(NKS_DEFAULT_CREDENTIALS_NAMESPACES="team-*, ops")
    assert listed.default_credentials_allowed("team-a")
    assert listed.default_credentials_allowed("ops")
    assert not listed.default_credentials_allowed("nks-system")  # the list replaces the default
    assert not listed.default_credentials_allowed("operations")
    assert settings(NKS_DEFAULT_CREDENTIALS_NAMESPACES="*").default_credentials_allowed("any")


def registration(**fields: object) -> ArgoCDRegistration:
    return ArgoCDRegistration(enabled=True, **fields)  # type: ignore[arg-type]


def test_argocd_registration_is_refused_outside_the_allowed_namespaces() -> None:
    (refusal,) = argocd_refusals(settings(), "team-a", registration(project="team-a"))
    assert "namespace team-a may not register" in refusal
    assert argocd_refusals(settings(), "team-a", ArgoCDRegistration(enabled=False)) == []
    assert argocd_refusals(settings(), "team-a", None) == []


def test_projects_default_to_the_namespaces_own_and_none_only_with_a_star() -> None:
    team = settings(NKS_ARGOCD_ALLOWED_NAMESPACES="team-*")
    assert argocd_refusals(team, "team-a", registration(project="team-a")) == []
    (refusal,) = argocd_refusals(team, "team-a", registration(project="team-b"))
    assert "project 'team-b' is not allowed" in refusal
    (refusal,) = argocd_refusals(team, "team-a", registration())
    assert "project is required" in refusal
    anything = settings(NKS_ARGOCD_ALLOWED_NAMESPACES="*", NKS_ARGOCD_ALLOWED_PROJECTS="*")
    assert argocd_refusals(anything, "x", registration()) == []
    shared = settings(
        NKS_ARGOCD_ALLOWED_NAMESPACES="*", NKS_ARGOCD_ALLOWED_PROJECTS="{namespace}-*,shared"
    )
    assert argocd_refusals(shared, "ops", registration(project="ops-prod")) == []
    assert argocd_refusals(shared, "ops", registration(project="shared")) == []
    assert argocd_refusals(shared, "ops", registration(project="dev-prod"))


def test_label_keys_only_those_the_admin_lists() -> None:
    team = settings(NKS_ARGOCD_ALLOWED_NAMESPACES="*")
    labeled = registration(project="a", labels={"env": "prod", "team.example.com/tier": "1"})
    (refusal,) = argocd_refusals(team, "a", labeled)
    assert "env, team.example.com/tier" in refusal
    keyed = settings(
        NKS_ARGOCD_ALLOWED_NAMESPACES="*", NKS_ARGOCD_ALLOWED_LABEL_KEYS="env,team.example.com/*"
    )
    assert argocd_refusals(keyed, "a", labeled) == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [("NKS_ARGOCD_NAMESPACE", "Not_A_Namespace"), ("POD_NAMESPACE", "x" * 64)],
)
def test_bad_namespace_settings_are_refused(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        OperatorSettings.from_env({variable: value})
