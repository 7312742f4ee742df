"""The chart's CRDs: the operator's generated NKS CRDs rendered as templates (so `helm
upgrade` updates them and values annotate them), and no crds/ folder."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from nks_operator.api.crd import crd_files
from tests.helm.helpers import CHART, REPO_ROOT, Helm, find, parse_manifests

CHART_CRDS = CHART / "files" / "crds"
HELM_CRDS = CHART / "crds"
REPO_CRDS = REPO_ROOT / "crds"
SYNC = "run `cp crds/*.yaml helm/nks-operator/files/crds/` from the repository root"
KEEP = "helm.sh/resource-policy"
ARGOCD = "argocd.argoproj.io/sync-options"


def _repo_crd_files() -> list[str]:
    return sorted(p.name for p in REPO_CRDS.glob("*.yaml"))


def _generated() -> dict[str, dict[str, Any]]:
    docs = [yaml.safe_load((REPO_CRDS / name).read_text()) for name in _repo_crd_files()]
    return {doc["metadata"]["name"]: doc for doc in docs}


def rendered_crds(helm: Helm, values: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    crds = find(helm.render(values), "CustomResourceDefinition")
    return {crd["metadata"]["name"]: crd for crd in crds}


@pytest.mark.parametrize("name", _repo_crd_files())
def test_chart_crd_is_a_copy_of_the_generated_one(name: str) -> None:
    chart_file = CHART_CRDS / name
    assert chart_file.is_file(), f"helm/nks-operator/files/crds/{name} is missing; {SYNC}"
    assert chart_file.read_bytes() == (REPO_CRDS / name).read_bytes(), (
        f"helm/nks-operator/files/crds/{name} differs from crds/{name}; {SYNC}"
    )


def test_chart_crds_are_what_the_models_generate() -> None:
    # Also against the generator itself, so a stale crds/ cannot hide behind a stale copy.
    for name, text in crd_files().items():
        assert (CHART_CRDS / name).read_text(encoding="utf-8") == text, f"{name}: {SYNC}"


def test_chart_crd_folders_hold_nothing_else() -> None:
    extra = {p.name for p in CHART_CRDS.iterdir()} - set(_repo_crd_files())
    assert not extra, f"helm/nks-operator/files/crds/ holds unexpected files: {sorted(extra)}"
    # Helm applies crds/ itself, and never templated: the NKS CRDs there would collide
    # with their templates on install. kopf's peering CRDs went with kopf peering.
    assert not HELM_CRDS.exists(), sorted(p.name for p in HELM_CRDS.iterdir())


def test_templates_render_the_generated_crds_with_labels_and_keep(helm: Helm) -> None:
    rendered = rendered_crds(helm)
    generated = _generated()
    assert sorted(rendered) == sorted(generated)
    for name, crd in rendered.items():
        meta = crd["metadata"]
        assert meta["annotations"] == {KEEP: "keep"}, name
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert meta["labels"]["helm.sh/chart"].startswith("nks-operator-")
        # Apart from the chart's metadata, exactly what the operator generates.
        bare = {**crd, "metadata": {"name": meta["name"]}}
        assert bare == generated[name], name


def test_keep_can_be_turned_off(helm: Helm) -> None:
    for crd in rendered_crds(helm, {"crds": {"keep": False}}).values():
        assert KEEP not in crd["metadata"].get("annotations", {})


def test_argocd_sync_options_annotate_the_crds(helm: Helm) -> None:
    values = {"crds": {"argocdSyncOptions": ["Delete=false", "Prune=false"]}}
    for crd in rendered_crds(helm, values).values():
        assert crd["metadata"]["annotations"] == {
            KEEP: "keep",
            ARGOCD: "Delete=false,Prune=false",
        }
    none = rendered_crds(helm, {"crds": {"keep": False, "argocdSyncOptions": ["Prune=false"]}})
    for crd in none.values():
        assert crd["metadata"]["annotations"] == {ARGOCD: "Prune=false"}


def test_crds_can_be_left_to_another_release(helm: Helm) -> None:
    assert not rendered_crds(helm, {"crds": {"enabled": False}})


def test_include_crds_renders_every_crd_once(helm: Helm) -> None:
    # What Argo CD applies: crds/ (none) plus the templates (the NKS CRDs).
    docs = parse_manifests(helm.template({"leaderElection": {"enabled": True}}, "--include-crds"))
    names = [d["metadata"]["name"] for d in find(docs, "CustomResourceDefinition")]
    assert sorted(names) == [
        "nksclusters.nks.nhncloud.com",
        "nksnodegroups.nks.nhncloud.com",
        "nksownerships.nks.nhncloud.com",
    ]


def test_readme_documents_crds_upgrades_and_uninstall() -> None:
    readme = (CHART / "README.md").read_text()
    assert "helm.sh/resource-policy: keep" in readme
    assert "crds.enabled: false" in readme and "crds.argocdSyncOptions" in readme
    # The one-time step for a release whose CRDs came from the old crds/ folder.
    assert "meta.helm.sh/release-name" in readme
    notes = (CHART / "templates" / "NOTES.txt").read_text()
    assert "helm show crds" not in notes


def test_argocd_docs_example_protects_the_crds(helm: Helm) -> None:
    # The operator's Application in docs/argocd.md, rendered as Argo CD would.
    text = (REPO_ROOT / "docs" / "argocd.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    apps = [
        doc
        for block in blocks
        for doc in yaml.safe_load_all(block)
        if doc and doc.get("kind") == "Application"
    ]
    (operator_app,) = [a for a in apps if a["spec"]["source"].get("path") == "helm/nks-operator"]
    values = yaml.safe_load(operator_app["spec"]["source"]["helm"]["values"])
    for crd in rendered_crds(helm, values).values():
        options = crd["metadata"]["annotations"][ARGOCD].split(",")
        assert {"Delete=false", "Prune=false"} <= set(options)
