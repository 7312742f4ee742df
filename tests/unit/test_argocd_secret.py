"""The Argo CD cluster Secret: naming, labels, the `config` JSON and change detection."""

from __future__ import annotations

import base64
import copy
import json
import re
from typing import Any

import pytest
import yaml

from nks_devtools.simulator.kubeconfig import render
from nks_devtools.simulator.state import Cluster
from nks_operator.api.cluster import ArgoCDRegistration
from nks_operator.kube import argocd_secret

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
CLUSTER_ID = "6a9ee5a1-3b2c-4f0e-9c37-0d5a8e2f7b41"
SERVER = "https://6a9ee5a1-kr2-k8s.container.nhncloud.com:6443"


def nks_kubeconfig(generation: int = 0) -> str:
    """A kubeconfig as NKS's `/config` returns it (via the simulator's generator)."""
    cluster = Cluster(
        id=1,
        uuid=CLUSTER_ID,
        name="demo",
        project_id="p",
        user_id="u",
        keypair="my-keypair",
        fixed_network="eb212079-b6ec-430c-ba57-14280a457bcb",
        fixed_subnet="4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
        subnet_cidr="192.168.0.0/24",
        cluster_template_id="iaas_console",
        create_timeout=60,
        labels={},
        stack_id="s",
        status="CREATE_COMPLETE",
        created_at=0.0,
        api_address=SERVER,
        certificate_generation=generation,
    )
    return render(cluster)


def edit(kubeconfig: str, *, cluster: dict[str, Any] | None = None, user: dict[str, Any]) -> str:
    """The kubeconfig with its cluster/user sections replaced by `cluster`/`user`."""
    config = yaml.safe_load(kubeconfig)
    if cluster is not None:
        config["clusters"][0]["cluster"] = cluster
    config["users"][0]["user"] = user
    return yaml.safe_dump(config)


def build(
    owner: dict[str, Any],
    registration: ArgoCDRegistration,
    kubeconfig: str,
    cluster_id: str,
    argocd_namespace: str = "argocd",
) -> dict[str, Any]:
    """The Secret the operator writes; its server is what NKS reports, as the operator
    passes it."""
    return argocd_secret.build(
        owner,
        registration,
        kubeconfig,
        cluster_id,
        argocd_namespace=argocd_namespace,
        server=SERVER,
    )


def owner(namespace: str = "team-a", name: str = "demo") -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name, "uid": "0f1e2d3c"}}


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_secret_name_is_readable_and_unique_across_namespaces() -> None:
    assert argocd_secret.secret_name("team-a", "demo") == "nks-team-a.demo"
    assert argocd_secret.secret_name("a-b", "c") != argocd_secret.secret_name("a", "b-c")
    # Namespaces hold no dots, so the pair can be read back: the name is injective.
    name = argocd_secret.secret_name("a-b", "c.d")
    assert name.removeprefix("nks-").split(".", 1) == ["a-b", "c.d"]


def test_long_secret_names_are_shortened_validly_and_stay_distinct() -> None:
    namespace = "n" * 63
    first = argocd_secret.secret_name(namespace, "x" * 250 + "-1")
    second = argocd_secret.secret_name(namespace, "x" * 250 + "-2")
    assert first != second
    assert first == argocd_secret.secret_name(namespace, "x" * 250 + "-1")
    for name in (first, second, argocd_secret.secret_name(namespace, "a" * 186 + "-" * 5 + "b")):
        assert len(name) <= 253
        assert DNS1123_SUBDOMAIN.match(name), name


def test_build_writes_argocd_cluster_secret_from_nks_kubeconfig() -> None:
    kubeconfig = nks_kubeconfig()
    source = yaml.safe_load(kubeconfig)
    secret = build(owner(), ArgoCDRegistration(enabled=True), kubeconfig, CLUSTER_ID)

    assert secret["metadata"]["namespace"] == "argocd"
    assert secret["metadata"]["name"] == "nks-team-a.demo"
    assert secret["metadata"].get("ownerReferences") is None  # cannot cross namespaces
    assert secret["metadata"]["labels"] == {
        "argocd.argoproj.io/secret-type": "cluster",
        "app.kubernetes.io/managed-by": "nks-operator",
        "nks.nhncloud.com/cluster-namespace": "team-a",
        "nks.nhncloud.com/cluster-name": "demo",
    }
    assert secret["metadata"]["annotations"]["nks.nhncloud.com/cluster-id"] == CLUSTER_ID
    data = decoded(secret)
    assert set(data) == {"name", "server", "config"}
    assert data["name"] == "team-a/demo"
    assert data["server"] == SERVER
    assert json.loads(data["config"]) == {
        "tlsClientConfig": {
            "caData": source["clusters"][0]["cluster"]["certificate-authority-data"],
            "certData": source["users"][0]["user"]["client-certificate-data"],
            "keyData": source["users"][0]["user"]["client-key-data"],
            "insecure": False,
        }
    }


def test_build_honours_name_project_and_the_admins_namespace() -> None:
    registration = ArgoCDRegistration(enabled=True, name="prod-kr2", project="platform")
    secret = build(owner(), registration, nks_kubeconfig(), CLUSTER_ID, "gitops")
    assert secret["metadata"]["namespace"] == "gitops"
    data = decoded(secret)
    assert data["name"] == "prod-kr2"
    assert data["project"] == "platform"


def test_registration_labels_cannot_override_ours() -> None:
    registration = ArgoCDRegistration(
        enabled=True,
        labels={
            "env": "prod",
            "argocd.argoproj.io/secret-type": "repository",
            "nks.nhncloud.com/cluster-name": "someone-else",
            "app.kubernetes.io/managed-by": "me",
        },
    )
    secret = build(owner(), registration, nks_kubeconfig(), CLUSTER_ID)
    labels = secret["metadata"]["labels"]
    assert labels["env"] == "prod"
    assert labels["argocd.argoproj.io/secret-type"] == "cluster"
    assert argocd_secret.owner_labels("team-a", "demo").items() <= labels.items()
    assert argocd_secret.is_owned(secret, "team-a", "demo", "0f1e2d3c")


def test_only_this_resources_secret_is_its_own() -> None:
    secret = build(owner(), ArgoCDRegistration(enabled=True), nks_kubeconfig(), CLUSTER_ID)
    assert argocd_secret.is_owned(secret, "team-a", "demo", "0f1e2d3c")
    # Another NKSCluster, or one re-created under the same name, is not the owner.
    assert not argocd_secret.is_owned(secret, "team-b", "demo", "0f1e2d3c")
    assert not argocd_secret.is_owned(secret, "team-a", "demo", "another-uid")
    # A Secret someone else made, even one naming the owner, without the operator's label.
    foreign = copy.deepcopy(secret)
    foreign["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "helm"
    assert not argocd_secret.is_owned(foreign, "team-a", "demo", "0f1e2d3c")
    # Written by a release before the UID annotation: known by its owner annotation.
    legacy = copy.deepcopy(secret)
    del legacy["metadata"]["annotations"]["nks.nhncloud.com/cluster-uid"]
    assert argocd_secret.is_owned(legacy, "team-a", "demo", "any-uid")


@pytest.mark.parametrize("name", ["demo", "c" * 253])
def test_owner_labels_identify_the_secret(name: str) -> None:
    secret = build(owner(name=name), ArgoCDRegistration(enabled=True), nks_kubeconfig(), CLUSTER_ID)
    labels = secret["metadata"]["labels"]
    assert argocd_secret.owner_labels("team-a", name).items() <= labels.items()
    assert all(len(v) <= 63 and LABEL_VALUE.match(v) for v in labels.values())
    assert not argocd_secret.owner_labels("team-b", name).items() <= labels.items()


def test_token_kubeconfig_gives_bearer_token_config() -> None:
    kubeconfig = nks_kubeconfig()
    ca = yaml.safe_load(kubeconfig)["clusters"][0]["cluster"]["certificate-authority-data"]
    with_token = edit(kubeconfig, user={"token": "sa-token-123"})
    secret = build(owner(), ArgoCDRegistration(enabled=True), with_token, "id")
    assert json.loads(decoded(secret)["config"]) == {
        "bearerToken": "sa-token-123",
        "tlsClientConfig": {"caData": ca, "insecure": False},
    }


def test_missing_fields_are_named_without_leaking_key_material() -> None:
    kubeconfig = nks_kubeconfig()
    source = yaml.safe_load(kubeconfig)
    user = source["users"][0]["user"]
    key = user["client-key-data"]
    no_key = edit(kubeconfig, cluster={"server": SERVER}, user={"client-certificate-data": key})
    with pytest.raises(ValueError) as raised:
        argocd_secret.parse_kubeconfig(no_key)
    message = str(raised.value)
    assert "client-key-data" in message
    assert "certificate-authority-data" in message
    assert "client-certificate-data" not in message
    assert key[:16] not in message


def test_bad_values_are_reported_without_quoting_them() -> None:
    secret_text = "not base64 -----BEGIN RSA PRIVATE KEY----- s3cr3t"
    bad_key = edit(
        nks_kubeconfig(),
        user={"client-certificate-data": "QUJD", "client-key-data": secret_text},
    )
    with pytest.raises(ValueError, match="client-key-data") as raised:
        argocd_secret.parse_kubeconfig(bad_key)
    assert "s3cr3t" not in str(raised.value)
    with pytest.raises(ValueError, match="YAML") as raised:
        argocd_secret.parse_kubeconfig("users: [s3cr3t: {")
    assert "s3cr3t" not in str(raised.value)


def test_cluster_access_repr_hides_credentials() -> None:
    access = argocd_secret.parse_kubeconfig(nks_kubeconfig())
    assert access.key_data is not None
    assert access.key_data not in repr(access)
    assert SERVER in repr(access)


def test_is_current_only_when_data_labels_and_our_annotations_match() -> None:
    registration = ArgoCDRegistration(enabled=True, labels={"env": "prod"})
    desired = build(owner(), registration, nks_kubeconfig(), CLUSTER_ID)
    assert not argocd_secret.is_current(None, desired)

    existing = copy.deepcopy(desired)
    existing["metadata"]["resourceVersion"] = "42"
    existing["metadata"]["annotations"]["example.com/note"] = "added by someone else"
    assert argocd_secret.is_current(existing, desired)

    renewed = build(owner(), registration, nks_kubeconfig(1), CLUSTER_ID)
    assert not argocd_secret.is_current(existing, renewed)

    unlabelled = build(owner(), ArgoCDRegistration(enabled=True), nks_kubeconfig(), CLUSTER_ID)
    assert not argocd_secret.is_current(existing, unlabelled)

    other_id = build(owner(), registration, nks_kubeconfig(), "other-id")
    assert not argocd_secret.is_current(existing, other_id)
