"""The Kubernetes side of the benchmark: the local apiserver, CRDs, the resources applied,
a watch that timestamps Ready=True as it arrives, and the apiserver's request counters."""

from __future__ import annotations

import copy
import re
import ssl
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import urllib3
import yaml
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from bench.procs import ROOT, BenchError
from nks_devtools.localkube import LocalKube

GROUP, VERSION = "nks.nhncloud.com", "v1alpha1"
CLUSTERS, NODEGROUPS = "nksclusters", "nksnodegroups"
EXAMPLES = ROOT / "examples"
SECRET_NAME = "nks-credentials"

RequestKey = tuple[str, str, str]
"""(verb, resource, subresource) as the apiserver's `apiserver_request_total` labels them."""

_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _example(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((EXAMPLES / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def cluster_manifest(name: str) -> dict[str, Any]:
    """examples/nkscluster-minimal.yaml under another name."""
    manifest = copy.deepcopy(_example("nkscluster-minimal.yaml"))
    manifest["metadata"] = {"name": name}
    manifest["spec"]["credentialsRef"] = {"name": SECRET_NAME}
    return manifest


def nodegroup_manifest(name: str, cluster: str) -> dict[str, Any]:
    """examples/nksnodegroup.yaml under another name, in cluster `cluster`."""
    manifest = copy.deepcopy(_example("nksnodegroup.yaml"))
    manifest["metadata"] = {"name": name}
    manifest["spec"]["clusterRef"] = {"name": cluster}
    return manifest


def ready_status(obj: dict[str, Any]) -> str | None:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == "Ready":
            return str(item.get("status"))
    return None


@dataclass
class Applied:
    """When each object's create call returned (wall clock, seconds since the epoch)."""

    at: dict[str, float] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0


class Kube:
    """A LocalKube plus the clients and helpers the scenarios use."""

    def __init__(self, local: LocalKube) -> None:
        self.local = local
        self.api = local.api_client()
        # Enough connections for the apply threads, the watchers and the metrics reads.
        self.api.configuration.connection_pool_maxsize = 32
        self.api.rest_client.pool_manager.connection_pool_kw["maxsize"] = 32
        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self.own_requests: Counter[RequestKey] = Counter()
        self._lock = threading.Lock()

    @classmethod
    def start(cls) -> Kube:
        local = LocalKube()
        local.start()
        kube = cls(local)
        kube.install_crds()
        return kube

    def stop(self) -> None:
        self.api.close()
        self.local.stop()

    def _count(self, verb: str, resource: str, subresource: str = "", n: int = 1) -> None:
        with self._lock:
            self.own_requests[(verb, resource, subresource)] += n

    def install_crds(self, timeout: float = 60.0) -> None:
        extensions = client.ApiextensionsV1Api(self.api)
        for path in sorted((ROOT / "crds").glob("*.yaml")):
            extensions.create_custom_resource_definition(yaml.safe_load(path.read_text()))
        deadline = time.monotonic() + timeout
        for plural in (CLUSTERS, NODEGROUPS):
            while True:
                try:
                    self.custom.list_cluster_custom_object(GROUP, VERSION, plural, limit=1)
                    break
                except ApiException as error:
                    if error.status != 404 or time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def prepare_namespace(self, namespace: str, tenant: str, sim_url: str) -> None:
        """The namespace and the credentials Secret pointing at the simulator."""
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
        secret = _example("credentials-secret.yaml")
        secret["metadata"] = {"name": SECRET_NAME}
        secret["stringData"].update(
            {
                "tenantId": tenant,
                "username": f"bench-{tenant}",
                "password": f"pw-{tenant}",
                "identityUrl": sim_url,
                "nksUrl": sim_url,
            }
        )
        self.core.create_namespaced_secret(namespace, secret)
        self._count("POST", "namespaces")
        self._count("POST", "secrets")

    def apply(
        self, namespace: str, plural: str, manifests: list[dict[str, Any]], workers: int = 4
    ) -> Applied:
        """Create the objects with `workers` threads; timestamps when each create returned."""
        applied = Applied(started=time.time())

        def create(manifest: dict[str, Any]) -> tuple[str, float]:
            self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, manifest)
            return manifest["metadata"]["name"], time.time()

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply") as pool:
            for name, at in pool.map(create, manifests):
                applied.at[name] = at
        applied.finished = time.time()
        self._count("POST", plural, n=len(manifests))
        return applied

    def delete_all(self, namespace: str, plural: str, attempts: int = 5) -> None:
        """Delete every object of a kind in the namespace with one request (as a namespace
        deletion does); the operator's finalizers hold each until NKS has deleted it.

        Under load the apiserver may stop waiting for a large collection (504, or 500
        "context deadline exceeded", 2,000 node groups on 2 CPUs) while the deletion goes
        on: the request is repeated, which marks whatever is left."""
        for attempt in range(1, attempts + 1):
            self._count("DELETECOLLECTION", plural)
            try:
                self.custom.delete_collection_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural
                )
                return
            except ApiException as error:
                gave_up = error.status == 504 or (
                    error.status == 500 and "deadline exceeded" in str(error.body or "")
                )
                if not gave_up or attempt == attempts:
                    raise

    def request_totals(self) -> Counter[RequestKey]:
        """`apiserver_request_total` summed per (verb, resource, subresource), all clients."""
        context = ssl.create_default_context(cafile=str(self.local.ca_file))
        request = urllib.request.Request(
            f"{self.local.server}/metrics",
            headers={"Authorization": f"Bearer {self.local.token}"},
        )
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            text = response.read().decode()
        totals: Counter[RequestKey] = Counter()
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if match is None:
                continue
            labels = dict(_LABEL.findall(match["labels"]))
            if not labels.get("resource"):
                continue  # /metrics, /healthz, discovery: not resource calls
            key = (labels.get("verb", ""), labels["resource"], labels.get("subresource", ""))
            totals[key] += int(float(match["value"]))
        return totals


def request_delta(before: Counter[RequestKey], after: Counter[RequestKey]) -> Counter[RequestKey]:
    """after - before, keeping only the rows that grew."""
    return Counter({key: after[key] - before[key] for key in after if after[key] > before[key]})


def request_table(counts: Counter[RequestKey]) -> dict[str, int]:
    """{"VERB resource[/subresource]": n}, sorted, zero rows left out."""
    return {
        f"{verb} {resource}{'/' + sub if sub else ''}": n
        for (verb, resource, sub), n in sorted(counts.items())
        if n > 0
    }


class ReadyWatcher:
    """Watches one kind in one namespace from a thread; records the wall-clock arrival time
    of the first event showing each object with Ready=True, and of its deletion."""

    def __init__(self, kube: Kube, namespace: str, plural: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.plural = plural
        self.ready_at: dict[str, float] = {}
        self.deleted_at: dict[str, float] = {}
        self._seen: set[str] = set()
        self.events = 0
        self.relists = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch-{plural}", daemon=True)
        self._started = threading.Event()

    def start(self) -> ReadyWatcher:
        self._thread.start()
        if not self._started.wait(30):
            raise BenchError(f"the watch on {self.plural} did not start")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)

    def wait_ready(self, names: Iterable[str], timeout: float) -> bool:
        """Block until every name is Ready=True; False on timeout."""
        wanted = set(names)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wanted.issubset(self.ready_at):
                return True
            time.sleep(0.2)
        return wanted.issubset(self.ready_at)

    def _observe(self, obj: dict[str, Any], at: float, deleted: bool = False) -> None:
        name = obj["metadata"]["name"]
        self._seen.add(name)
        if deleted:
            self.deleted_at.setdefault(name, at)
        elif name not in self.ready_at and ready_status(obj) == "True":
            self.ready_at[name] = at

    def _list(self) -> str:
        listing = self.kube.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, self.plural
        )
        self.kube._count("LIST", self.plural)
        now = time.time()
        listed = set()
        for item in listing.get("items", []):
            self._observe(item, now)
            listed.add(item["metadata"]["name"])
        for name in self._seen - listed:  # deleted while the watch was down
            self.deleted_at.setdefault(name, now)
        self.relists += 1
        return str(listing["metadata"]["resourceVersion"])

    def _run(self) -> None:
        version: str | None = None
        while not self._stop.is_set():
            try:
                if version is None:
                    version = self._list()
                    self._started.set()
                stream = watch.Watch()
                self.kube._count("WATCH", self.plural)
                for event in stream.stream(
                    self.kube.custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    self.plural,
                    resource_version=version,
                    timeout_seconds=5,
                    allow_watch_bookmarks=True,
                ):
                    now = time.time()
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        version = None  # expired: list again
                        break
                    version = obj["metadata"]["resourceVersion"]
                    if event["type"] != "BOOKMARK":
                        self.events += 1
                        self._observe(obj, now, deleted=event["type"] == "DELETED")
                    if self._stop.is_set():
                        stream.stop()
            except ApiException as error:
                if error.status == 410:
                    version = None
                else:
                    self.error = f"{error.status} {error.reason}"
                    time.sleep(0.5)
            except (urllib3.exceptions.HTTPError, OSError) as error:
                self.error = str(error)
                time.sleep(0.5)
