"""Smoke tests of the local control plane: the behaviours the operator relies on are real.

Each test checks something a mock would happily fake: storage round trips, OpenAPI schema
validation of a CRD, garbage collection by kube-controller-manager, and the status
subresource semantics kopf depends on (status patches do not bump metadata.generation).
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nks_devtools import localkube
from nks_devtools.localkube import (
    KubeBinariesMissingError,
    LocalKube,
    LocalKubeError,
    find_binaries,
)
from tests.fixtures.kube import ADMISSION_PLUGINS, Kubectl

pytestmark = pytest.mark.kube

GROUP = "localkube.test.nks.nhncloud.com"
VERSION = "v1"
PLURAL = "widgets"
CRD_NAME = f"{PLURAL}.{GROUP}"
MAX_REPLICAS = 5

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": CRD_NAME},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "replicas": {
                                        "type": "integer",
                                        "minimum": 1,
                                        "maximum": MAX_REPLICAS,
                                    }
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `condition` until true; return the seconds it took, fail after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.2)
    return time.monotonic() - started


def widget(name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"replicas": replicas},
    }


def secret_exists(core: client.CoreV1Api, namespace: str, name: str) -> bool:
    try:
        core.read_namespaced_secret(name, namespace)
    except ApiException as err:
        if err.status == 404:
            return False
        raise
    return True


@pytest.fixture(scope="module")
def widget_crd(kube: LocalKube, kubectl: Kubectl) -> Iterator[str]:
    """The Widget CRD, applied with kubectl like users do, served and watched by the GC."""
    kubectl("apply", "-f", "-", input=yaml.safe_dump(WIDGET_CRD))
    kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=30s")
    # Else the collector notices the new kind only at its next 30 s rediscovery.
    kube.restart_controller_manager(CRD_NAME)
    yield CRD_NAME
    kubectl("delete", "crd", CRD_NAME, "--wait=false")


def test_namespace_and_secret_round_trip(
    kube_api: client.ApiClient, namespace: str, kubectl: Kubectl
) -> None:
    core = client.CoreV1Api(kube_api)
    assert core.read_namespace(namespace).status.phase == "Active"
    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(name="creds", labels={"app": "nks"}),
        type="Opaque",
        string_data={"password": "s3cret", "username": "alice"},
    )
    core.create_namespaced_secret(namespace, secret)

    stored = core.read_namespaced_secret("creds", namespace)
    decoded = {key: base64.b64decode(value).decode() for key, value in stored.data.items()}
    assert decoded == {"password": "s3cret", "username": "alice"}
    assert stored.metadata.labels == {"app": "nks"}
    assert stored.metadata.uid and stored.metadata.resource_version

    # The same object through kubectl and the kubeconfig file the operator will use.
    listed = json.loads(
        kubectl("get", "secrets", "-n", namespace, "-l", "app=nks", "-o", "json").stdout
    )
    assert [item["metadata"]["name"] for item in listed["items"]] == ["creds"]

    with pytest.raises(ApiException) as conflict:
        core.create_namespaced_secret(namespace, secret)
    assert conflict.value.status == 409


def test_crd_schema_rejects_violating_object(
    widget_crd: str, kube_api: client.ApiClient, namespace: str
) -> None:
    custom = client.CustomObjectsApi(kube_api)
    with pytest.raises(ApiException) as rejected:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, widget("too-big", MAX_REPLICAS + 4)
        )
    assert rejected.value.status == 422
    message = json.loads(rejected.value.body)["message"]
    assert "spec.replicas" in message
    assert f"less than or equal to {MAX_REPLICAS}" in message

    created = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, widget("just-right", MAX_REPLICAS)
    )
    assert created["spec"]["replicas"] == MAX_REPLICAS


def assert_dependent_collected(
    core: client.CoreV1Api,
    namespace: str,
    owner: client.V1OwnerReference,
    delete: Callable[[], Any],
) -> None:
    """Create an owned and an unrelated Secret, delete the owner: only the owned one goes."""
    owned = client.V1ObjectMeta(name=f"{owner.name}-owned", owner_references=[owner])
    core.create_namespaced_secret(namespace, client.V1Secret(metadata=owned))
    unrelated = client.V1ObjectMeta(name=f"{owner.name}-unrelated")
    core.create_namespaced_secret(namespace, client.V1Secret(metadata=unrelated))

    delete()
    wait_until(lambda: not secret_exists(core, namespace, owned.name), 30, "dependent collected")
    assert secret_exists(core, namespace, unrelated.name)


def test_owner_reference_garbage_collection(
    kube: LocalKube, kube_api: client.ApiClient, namespace: str
) -> None:
    assert kube.controller_manager_running, "kube-controller-manager is needed for GC"
    core = client.CoreV1Api(kube_api)
    owner = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
    )
    reference = client.V1OwnerReference(
        api_version="v1",
        kind="ConfigMap",
        name=owner.metadata.name,
        uid=owner.metadata.uid,
        controller=True,
        block_owner_deletion=True,
    )
    assert_dependent_collected(
        core,
        namespace,
        reference,
        lambda: core.delete_namespaced_config_map(
            "owner", namespace, propagation_policy="Background"
        ),
    )


def test_custom_resource_owner_garbage_collection(
    widget_crd: str, kube: LocalKube, kube_api: client.ApiClient, namespace: str
) -> None:
    # The operator's case: the kubeconfig Secret owned by its NKSCluster custom resource.
    assert kube.controller_manager_running, "kube-controller-manager is needed for GC"
    custom = client.CustomObjectsApi(kube_api)
    created = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, widget("owner", 1)
    )
    reference = client.V1OwnerReference(
        api_version=f"{GROUP}/{VERSION}",
        kind="Widget",
        name="owner",
        uid=created["metadata"]["uid"],
        controller=True,
        block_owner_deletion=True,
    )
    assert_dependent_collected(
        client.CoreV1Api(kube_api),
        namespace,
        reference,
        lambda: custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "owner"),
    )


def test_status_subresource_patch_like_kopf(
    widget_crd: str, kube_api: client.ApiClient, namespace: str
) -> None:
    custom = client.CustomObjectsApi(kube_api)
    args = (GROUP, VERSION, namespace, PLURAL)
    created = custom.create_namespaced_custom_object(*args, widget("w", 2))
    generation = created["metadata"]["generation"]

    # kopf writes status with a JSON merge patch on the /status subresource.
    status = {"status": {"phase": "Ready", "observedGeneration": generation}}
    patched = custom.patch_namespaced_custom_object_status(
        *args, "w", status, _content_type="application/merge-patch+json"
    )
    assert patched["status"] == status["status"]
    assert patched["metadata"]["generation"] == generation, "status must not bump generation"

    # With the subresource on, the main endpoint ignores status and bumps generation on spec.
    patched = custom.patch_namespaced_custom_object(
        *args,
        "w",
        {"spec": {"replicas": 3}, "status": {"phase": "Hacked"}},
        _content_type="application/merge-patch+json",
    )
    assert patched["status"]["phase"] == "Ready"
    assert patched["metadata"]["generation"] == generation + 1

    # The subresource ignores spec in turn.
    patched = custom.patch_namespaced_custom_object_status(
        *args,
        "w",
        {"spec": {"replicas": 4}, "status": {"phase": "Updating"}},
        _content_type="application/merge-patch+json",
    )
    assert patched["spec"]["replicas"] == 3
    assert patched["status"]["phase"] == "Updating"


# -- start-up failures: fast, with a stand-in apiserver next to the real etcd --------------


def test_missing_binaries_error_names_install_script(tmp_path: Path) -> None:
    with pytest.raises(KubeBinariesMissingError, match=r"scripts/install-kube-binaries\.sh"):
        LocalKube(tmp_path).start()


def fake_assets(folder: Path, apiserver_body: str) -> Path:
    """An assets folder with the real etcd and a shell script posing as kube-apiserver."""
    folder.mkdir()
    (folder / "etcd").symlink_to(find_binaries().etcd)
    script = folder / "kube-apiserver"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --version ]; then echo "Kubernetes v1.20.2"; exit 0; fi\n'
        f"{apiserver_body}\n"
    )
    script.chmod(0o755)
    return folder


def test_crash_during_startup_reports_log_and_cleans_up(tmp_path: Path) -> None:
    assets = fake_assets(tmp_path / "assets", 'echo "boom: no such flag" >&2; exit 3')
    work = tmp_path / "work"
    local = LocalKube(assets, controller_manager=False, workdir=work)
    with pytest.raises(LocalKubeError) as failed:
        local.start()
    assert "kube-apiserver exited with code 3" in str(failed.value)
    assert "boom: no such flag" in str(failed.value)
    assert "etcd.log" in str(failed.value)
    assert not local.running
    assert list(work.iterdir()) == []


def test_startup_timeout_reports_log_and_stops_processes(tmp_path: Path) -> None:
    assets = fake_assets(tmp_path / "assets", 'echo "stuck forever"; exec sleep 600')
    local = LocalKube(assets, controller_manager=False, start_timeout=3, workdir=tmp_path / "w")
    started = time.monotonic()
    with pytest.raises(LocalKubeError, match="not ready in time") as failed:
        local.start()
    assert time.monotonic() - started < 20
    assert "stuck forever" in str(failed.value)
    assert list((tmp_path / "w").iterdir()) == []


def test_port_taken_meanwhile_is_retried_with_new_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first port handed out (etcd's) gets taken by someone else before etcd binds it.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = [taken.getsockname()[1]]
    real_free_port = localkube._free_port

    def next_port() -> int:
        ports.append(real_free_port())
        return ports.pop(0)

    monkeypatch.setattr(localkube, "_free_port", next_port)
    assets = fake_assets(tmp_path / "assets", 'echo "boom after etcd came up" >&2; exit 3')
    with taken, pytest.raises(LocalKubeError) as failed:
        LocalKube(assets, controller_manager=False, workdir=tmp_path / "w").start()
    # The second attempt got past etcd and failed on the stand-in apiserver instead.
    assert "boom after etcd came up" in str(failed.value)
    assert "address already in use" not in str(failed.value)


def test_apiserver_restart_keeps_data_and_port(tmp_path: Path) -> None:
    with LocalKube(controller_manager=False, workdir=tmp_path / "w") as local:
        server = local.server
        with local.api_client() as api:
            core = client.CoreV1Api(api)
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="kept")))
            # An open watch is what makes a SIGTERM alone wait for a minute.
            watch = core.list_namespace(watch=True, _preload_content=False, timeout_seconds=300)
            started = time.monotonic()
            local.restart_apiserver(downtime=0.5)
            assert time.monotonic() - started < 30
            watch.release_conn()
        assert local.server == server
        assert local.pids()["kube-apiserver"] > 0
        with local.api_client() as api:
            assert client.CoreV1Api(api).read_namespace("kept").metadata.name == "kept"


def test_owner_reference_enforcement_and_audit_log(tmp_path: Path) -> None:
    # What tests/rbac relies on: the admission plugin really refuses an owner reference that
    # blocks its owner's deletion to a user without `update` on the owner's finalizers, and
    # the audit log records who asked what and the answer.
    with LocalKube(
        controller_manager=False,
        workdir=tmp_path / "w",
        admission_plugins=ADMISSION_PLUGINS,
        audit=True,
    ) as local:
        with local.api_client() as api:
            core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
            ns = "owners"
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
            core.create_namespaced_service_account(
                ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="writer"))
            )
            owner = core.create_namespaced_config_map(
                ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
            )
            rules = [client.V1PolicyRule(api_groups=[""], resources=["secrets"], verbs=["create"])]
            role = client.V1Role(metadata=client.V1ObjectMeta(name="writer"), rules=rules)
            rbac.create_namespaced_role(ns, role)
            subject = client.RbacV1Subject(kind="ServiceAccount", name="writer", namespace=ns)
            rbac.create_namespaced_role_binding(
                ns,
                client.V1RoleBinding(
                    metadata=client.V1ObjectMeta(name="writer"),
                    role_ref=client.V1RoleRef(
                        api_group="rbac.authorization.k8s.io", kind="Role", name="writer"
                    ),
                    subjects=[subject],
                ),
            )
            request = client.AuthenticationV1TokenRequest(
                spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
            )
            token = core.create_namespaced_service_account_token("writer", ns, request)
        config = client.Configuration()
        config.host = local.server
        config.api_key = {"authorization": token.status.token}
        config.api_key_prefix = {"authorization": "Bearer"}
        config.ssl_ca_cert = str(local.ca_file)

        def owned(name: str, block: bool) -> client.V1Secret:
            reference = client.V1OwnerReference(
                api_version="v1",
                kind="ConfigMap",
                name="owner",
                uid=owner.metadata.uid,
                block_owner_deletion=block,
            )
            meta = client.V1ObjectMeta(name=name, owner_references=[reference])
            return client.V1Secret(metadata=meta)

        with client.ApiClient(config) as writer_api:
            writer = client.CoreV1Api(writer_api)
            writer.create_namespaced_secret(ns, owned("plain", block=False))
            with pytest.raises(ApiException) as refused:
                writer.create_namespaced_secret(ns, owned("blocking", block=True))
            assert refused.value.status == 403
            assert "cannot set blockOwnerDeletion" in str(refused.value.body)

        user = f"system:serviceaccount:{ns}:writer"

        def answers() -> list[tuple[str, int]]:
            return [
                (e["verb"], e["responseStatus"]["code"])
                for e in local.audit_events()
                if e["user"]["username"] == user and e["objectRef"].get("resource") == "secrets"
            ]

        wait_until(lambda: len(answers()) == 2, 10, "both requests in the audit log")
        assert answers() == [("create", 201), ("create", 403)]


def test_audit_events_need_audit_enabled(kube: LocalKube) -> None:
    with pytest.raises(LocalKubeError, match="audit=True"):
        next(kube.audit_events())
