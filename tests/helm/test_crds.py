"""The chart's crds/ folder: the operator's generated CRDs, byte for byte, plus kopf's peering."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nks_operator.api.crd import crd_files
from tests.helm.helpers import CHART, REPO_ROOT, Helm, find, parse_manifests

CHART_CRDS = CHART / "crds"
REPO_CRDS = REPO_ROOT / "crds"
KOPF_FILE = "kopf-peering.yaml"
SYNC = "run `cp crds/*.yaml helm/nks-operator/crds/` from the repository root"


def _repo_crd_files() -> list[str]:
    return sorted(p.name for p in REPO_CRDS.glob("*.yaml"))


@pytest.mark.parametrize("name", _repo_crd_files())
def test_chart_crd_is_a_copy_of_the_generated_one(name: str) -> None:
    chart_file = CHART_CRDS / name
    assert chart_file.is_file(), f"helm/nks-operator/crds/{name} is missing; {SYNC}"
    assert chart_file.read_bytes() == (REPO_CRDS / name).read_bytes(), (
        f"helm/nks-operator/crds/{name} differs from crds/{name}; {SYNC}"
    )


def test_chart_crds_are_what_the_models_generate() -> None:
    # Also against the generator itself, so a stale crds/ cannot hide behind a stale copy.
    for name, text in crd_files().items():
        assert (CHART_CRDS / name).read_text(encoding="utf-8") == text, f"{name}: {SYNC}"


def test_chart_crds_hold_nothing_else() -> None:
    extra = {p.name for p in CHART_CRDS.iterdir()} - set(_repo_crd_files()) - {KOPF_FILE}
    assert not extra, f"helm/nks-operator/crds/ holds unexpected files: {sorted(extra)}"


def test_kopf_peering_crds() -> None:
    docs = [d for d in yaml.safe_load_all((CHART_CRDS / KOPF_FILE).read_text()) if d]
    by_name = {d["metadata"]["name"]: d for d in docs}
    assert set(by_name) == {"clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"}
    scopes = {name: d["spec"]["scope"] for name, d in by_name.items()}
    assert scopes == {
        "clusterkopfpeerings.kopf.dev": "Cluster",
        "kopfpeerings.kopf.dev": "Namespaced",
    }
    for crd in docs:
        assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
        assert crd["spec"]["group"] == "kopf.dev"
        (version,) = crd["spec"]["versions"]
        assert version["name"] == "v1" and version["served"] and version["storage"]
        # kopf writes the keep-alives into `status` with a plain patch of the object: a
        # status subresource would silently drop them.
        assert "subresources" not in version
        schema = version["schema"]["openAPIV3Schema"]
        assert schema["x-kubernetes-preserve-unknown-fields"] is True


def test_helm_show_crds_prints_every_crd(helm: Helm) -> None:
    # The documented upgrade step pipes exactly this into `kubectl apply --server-side`.
    shown = parse_manifests(helm("show", "crds", str(CHART)))
    names = sorted(d["metadata"]["name"] for d in find(shown, "CustomResourceDefinition"))
    assert names == sorted(
        [
            "clusterkopfpeerings.kopf.dev",
            "kopfpeerings.kopf.dev",
            "nksclusters.nks.nhncloud.com",
            "nksnodegroups.nks.nhncloud.com",
        ]
    )


def test_templates_never_render_crds(helm: Helm) -> None:
    # CRDs come only from crds/: a templated copy would collide with it on install.
    for values in ({}, {"peering": {"enabled": True}}):
        assert not find(helm.render(values), "CustomResourceDefinition")


def test_readme_documents_the_crd_upgrade_step() -> None:
    readme = (CHART / "README.md").read_text()
    assert "helm show crds" in readme and "--server-side" in readme
    assert "never updates or deletes them" in readme
    assert Path(CHART / "templates" / "NOTES.txt").read_text().count("helm show crds") == 1
