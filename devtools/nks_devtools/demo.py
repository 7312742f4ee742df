"""`nks-operator demo`: the whole product on this machine, no NHN account needed.

Starts the NKS simulator, uses the current kubeconfig's cluster (or starts the project's
own local kube-apiserver when there is none), installs the CRDs, runs the operator and
applies the examples, then shows progress until everything is Ready. Ctrl-C deletes the
examples (the operator deletes them in the simulator) and stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import kopf
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from nks_operator.api.crd import custom_resource_definition
from nks_operator.api.resources import CLUSTER, CRD_RESOURCES, GROUP, NODEGROUP, RESOURCES, VERSION
from nks_operator.settings import OperatorSettings

# The repository's examples/: the demo runs from a clone (devtools/ installed editable).
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEMO_TENANT = "demo-tenant"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nks-operator demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--namespace", default="nks-demo", help="namespace of the examples")
    parser.add_argument(
        "--delay",
        type=float,
        default=8.0,
        help="seconds each simulated NKS operation takes (default %(default)s; NKS: minutes)",
    )
    parser.add_argument(
        "--local-kube",
        action="store_true",
        help="always start the local kube-apiserver, even if a kubeconfig exists",
    )
    parser.add_argument(
        "--exit-when-ready",
        action="store_true",
        help="clean up and exit once everything is Ready (for scripts and CI)",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    """`nks-operator demo ARGV...` (the product's CLI hands its arguments over)."""
    return run(build_parser().parse_args(argv))


def _say(text: str) -> None:
    print(text, flush=True)


def _reachable_kubeconfig() -> bool:
    try:
        config.load_kube_config()
        client.VersionApi().get_code(_request_timeout=3)
    except Exception:
        return False
    return True


def _install_crds(api: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api)
    for resource in CRD_RESOURCES:
        body = custom_resource_definition(resource)
        try:
            current = ext.read_custom_resource_definition(resource.crd_name)
            body["metadata"]["resourceVersion"] = current.metadata.resource_version
            ext.replace_custom_resource_definition(resource.crd_name, body)
        except ApiException as error:
            if error.status != 404:
                raise
            ext.create_custom_resource_definition(body)
    deadline = time.monotonic() + 60
    for resource in CRD_RESOURCES:
        while time.monotonic() < deadline:
            crd = ext.read_custom_resource_definition(resource.crd_name)
            if any(
                c.type == "Established" and c.status == "True" for c in crd.status.conditions or []
            ):
                break
            time.sleep(0.5)


def _examples(namespace: str) -> list[dict[str, Any]]:
    documents = []
    for name in ("nkscluster-minimal.yaml", "nksnodegroup.yaml"):
        documents += [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]
    for document in documents:
        document["metadata"]["namespace"] = namespace
    return documents


def _apply_examples(api: client.ApiClient, namespace: str, sim_url: str) -> list[dict[str, Any]]:
    core = client.CoreV1Api(api)
    with contextlib.suppress(ApiException):
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(name="nks-credentials", namespace=namespace),
        string_data={
            "tenantId": DEMO_TENANT,
            "username": "demo@example.com",
            "password": "demo-password",
            "identityUrl": sim_url,
            "nksUrl": sim_url,
        },
    )
    with contextlib.suppress(ApiException):
        core.delete_namespaced_secret("nks-credentials", namespace)
    core.create_namespaced_secret(namespace, secret)
    custom = client.CustomObjectsApi(api)
    documents = _examples(namespace)
    for document in documents:
        plural = CLUSTER.plural if document["kind"] == CLUSTER.kind else NODEGROUP.plural
        with contextlib.suppress(ApiException):
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, document)
    return documents


def _row(obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), {})
    return (
        f"  {obj['kind']:<13} {obj['metadata']['name']:<12} {status.get('phase') or '-':<13} "
        f"{status.get('nksStatus') or '-':<20} Ready={ready.get('status', '-'):<5} "
        f"{ready.get('message', '')[:60]}"
    )


async def _progress(api: client.ApiClient, namespace: str, stop: asyncio.Event) -> bool:
    """Print a line per change until every example is Ready; True when they all are."""
    custom = client.CustomObjectsApi(api)
    last = ""
    while not stop.is_set():
        objects = []
        for resource in (CLUSTER, NODEGROUP):
            listed = await asyncio.to_thread(
                custom.list_namespaced_custom_object, GROUP, VERSION, namespace, resource.plural
            )
            objects += listed["items"]
        snapshot = "\n".join(_row(obj) for obj in objects)
        if snapshot != last:
            _say(time.strftime("%H:%M:%S") + "\n" + snapshot)
            last = snapshot
        ready = objects and all(
            any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (o.get("status") or {}).get("conditions", [])
            )
            for o in objects
        )
        if ready:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    return False


async def _cleanup(api: client.ApiClient, namespace: str) -> None:
    _say("deleting the examples (the operator deletes them in NKS first)...")
    custom = client.CustomObjectsApi(api)
    for resource in (NODEGROUP, CLUSTER):
        listed = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, resource.plural)
        for obj in listed["items"]:
            with contextlib.suppress(ApiException):
                custom.delete_namespaced_custom_object(
                    GROUP, VERSION, namespace, resource.plural, obj["metadata"]["name"]
                )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        remaining = sum(
            len(custom.list_namespaced_custom_object(GROUP, VERSION, namespace, r.plural)["items"])
            for r in (CLUSTER, NODEGROUP)
        )
        if remaining == 0:
            _say("all examples deleted")
            return
        await asyncio.sleep(0.5)
    _say("some examples were not deleted in time; see `kubectl get nksc,nksng -A`")


async def _main(
    args: argparse.Namespace, kubeconfig: str, after_crds: Callable[[], None] | None = None
) -> int:
    import nks_operator.handlers  # noqa: F401  (registers the handlers)
    from nks_devtools.simulator import SimulatorConfig, SimulatorThread

    simulator = SimulatorThread(SimulatorConfig(delay=args.delay)).start()
    _say(f"NKS simulator: {simulator.url} (every operation takes {args.delay:g}s)")
    os.environ["KUBECONFIG"] = kubeconfig
    api = client.ApiClient(_load(kubeconfig))
    await asyncio.to_thread(_install_crds, api)
    _say("CRDs installed: nksclusters.nks.nhncloud.com, nksnodegroups.nks.nhncloud.com")
    if after_crds is not None:
        await asyncio.to_thread(after_crds)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    settings = OperatorSettings(
        fast_poll_seconds=0.5,
        slow_poll_seconds=10,
        error_backoff_seconds=5,
        # The examples' Secret points at the simulator: allowed, and nothing else added.
        allowed_endpoints=(simulator.url,),
    )
    operator_stop = asyncio.Event()
    operator = asyncio.create_task(
        kopf.operator(
            namespaces=[args.namespace],
            standalone=True,
            stop_flag=operator_stop,
            memo=kopf.Memo(settings=settings, kubeconfig=kubeconfig),
        )
    )
    await asyncio.to_thread(_apply_examples, api, args.namespace, simulator.url)
    _say(f"applied the minimal NKSCluster and the NKSNodeGroup examples in {args.namespace}")
    ready = await _progress(api, args.namespace, stop)
    if ready:
        _say(
            "\neverything is Ready. Try:\n"
            f"  export KUBECONFIG={kubeconfig}\n"
            f"  kubectl get nksc,nksng -n {args.namespace} -o wide\n"
            f"  kubectl get secret demo-kubeconfig -n {args.namespace} "
            "-o jsonpath='{.data.value}' | base64 -d\n"
            f"  kubectl get events -n {args.namespace}\n"
        )
        if not args.exit_when_ready:
            _say("Ctrl-C cleans up and exits.")
            await stop.wait()
    try:
        await _cleanup(api, args.namespace)
    finally:
        operator_stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(operator, 30)
        simulator.stop()
    return 0 if ready else 1


def _load(kubeconfig: str) -> client.Configuration:
    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    return configuration


def run(args: argparse.Namespace) -> int:
    import logging
    import warnings

    import urllib3

    if not EXAMPLES.is_dir():
        print(
            f"nks-operator demo: no examples at {EXAMPLES}: run it from a clone of the "
            "repository, with the tools installed from it (pip install -e ./devtools)",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The local apiserver's kubeconfig skips TLS verification (loopback, throwaway certs).
    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    kubeconfig = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    if not args.local_kube and _reachable_kubeconfig():
        _say(f"using the cluster of the current kubeconfig ({kubeconfig})")
        return asyncio.run(_main(args, kubeconfig))
    from nks_devtools.localkube import LocalKube, LocalKubeError

    _say("no reachable cluster in the kubeconfig: starting a local kube-apiserver (about 10 s)")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="nks-demo-") as workdir,
            LocalKube(workdir=workdir) as kube,
        ):
            _say(f"local kube-apiserver: {kube.server}")
            names = [resource.crd_name for resource in RESOURCES]
            # The garbage collector must know the new kinds to collect owned Secrets.
            return asyncio.run(
                _main(args, str(kube.kubeconfig), lambda: kube.restart_controller_manager(*names))
            )
    except LocalKubeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
