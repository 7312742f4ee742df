"""A throwaway local Kubernetes control plane: etcd + kube-apiserver + kube-controller-manager.

There is no container engine on this project's machines, so kind/minikube are out; the tests
and `nks-operator demo` instead run the real server binaries on loopback (built once by
scripts/install-kube-binaries.sh). Everything lives in one temporary folder and on free
ports, so several sessions can run side by side and nothing outlives `stop()`.

Objects are stored and validated for real, owner references are garbage-collected and
namespaces are emptied on deletion, but no pod ever runs (no scheduler, no kubelet).

`python -m nks_devtools.localkube` starts one for a human and prints its kubeconfig.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, TYPE_CHECKING, Any, Self

import yaml

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

INSTALL_SCRIPT = "scripts/install-kube-binaries.sh"
DEFAULT_CACHE = Path.home() / ".cache" / "nks-operator" / "kube-1.20-r2"
# Only what the operator relies on: ownerReference garbage collection (the kubeconfig
# Secret owned by an NKSCluster) and namespace deletion (test and demo clean-up).
DEFAULT_CONTROLLERS = ("garbagecollector", "namespace")
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc"
# With `audit=True`: one JSON line per API request (who, verb, resource, answer), no bodies.
_AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived", "ResponseStarted"],
    "rules": [{"level": "Metadata"}],
}
_LOG_TAIL_LINES = 40
_PORT_ATTEMPTS = 3


class LocalKubeError(RuntimeError):
    """The local control plane could not start (the message carries the processes' logs)."""


class KubeBinariesMissingError(LocalKubeError):
    """The server binaries are not installed; the message says how to get them."""


@dataclass(frozen=True)
class KubeBinaries:
    """Paths of the three server binaries; `controller_manager` is None when absent."""

    apiserver: Path
    etcd: Path
    controller_manager: Path | None


def default_assets_dir() -> Path:
    """The folder scripts/install-kube-binaries.sh fills (it honours NKS_KUBE_CACHE too)."""
    cache = os.environ.get("NKS_KUBE_CACHE")
    return Path(cache) if cache else DEFAULT_CACHE


def find_binaries(assets: str | os.PathLike[str] | None = None) -> KubeBinaries:
    """Locate the binaries: `assets`, $NKS_KUBE_ASSETS, $KUBEBUILDER_ASSETS, then the cache.

    The first folder given wins and must hold kube-apiserver and etcd. envtest-style
    folders (KUBEBUILDER_ASSETS) lack kube-controller-manager, so that one is also looked
    for in the default cache and on PATH before giving up on it.
    """
    candidates: list[tuple[str, str | os.PathLike[str] | None]] = [
        ("argument", assets),
        ("NKS_KUBE_ASSETS", os.environ.get("NKS_KUBE_ASSETS")),
        ("KUBEBUILDER_ASSETS", os.environ.get("KUBEBUILDER_ASSETS")),
    ]
    source, folder = next(
        ((name, Path(value)) for name, value in candidates if value),
        ("default cache", default_assets_dir()),
    )
    missing = [b for b in ("kube-apiserver", "etcd") if not _is_executable(folder / b)]
    if missing:
        raise KubeBinariesMissingError(
            f"{' and '.join(missing)} not found in {folder} (from the {source}). "
            f"Run {INSTALL_SCRIPT} once (it builds and caches them, ~7 minutes) and pass the "
            "folder it prints as NKS_KUBE_ASSETS, or point KUBEBUILDER_ASSETS at a folder "
            "with kube-apiserver and etcd."
        )
    manager: Path | None = None
    for place in (folder, default_assets_dir()):
        if _is_executable(place / "kube-controller-manager"):
            manager = place / "kube-controller-manager"
            break
    else:
        found = shutil.which("kube-controller-manager")
        manager = Path(found) if found else None
    return KubeBinaries(folder / "kube-apiserver", folder / "etcd", manager)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _free_port() -> int:
    """A port the kernel just considered free; a race with another process is retried."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _minor_version(binary: Path) -> int:
    """The Kubernetes minor version (`Kubernetes v1.20.2` -> 20), to pick flags that exist."""
    out = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    match = re.search(r"v1\.(\d+)\.", out)
    if not match:
        raise LocalKubeError(f"cannot read the version of {binary}: {out.strip()!r}")
    return int(match.group(1))


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    log_file: IO[bytes]
    log_offset: int  # where this run's output starts (a restart appends to the same log)

    def stop(self, grace: float) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; `grace` 0 is a SIGKILL at once."""
        if self.popen.poll() is None:
            if grace <= 0:
                self.popen.kill()
            else:
                self.popen.terminate()
            try:
                self.popen.wait(grace if grace > 0 else 10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log_file.close()

    def output(self) -> str:
        with self.log.open("rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")


@dataclass
class _Running:
    """What must be cleaned up; kept apart from LocalKube so weakref.finalize can own it."""

    processes: list[_Process] = field(default_factory=list)
    workdir: Path | None = None
    keep_workdir: bool = False

    def shutdown(self, grace: float = 10.0) -> None:
        # Dependents first: the controller manager and apiserver would only log errors
        # about a vanished etcd and slow the shutdown down.
        while self.processes:
            self.processes.pop().stop(grace)
        if self.workdir is not None and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


class _PortConflictError(LocalKubeError):
    """A chosen port was taken between picking it and the process binding it."""


class LocalKube:
    """etcd + kube-apiserver (+ kube-controller-manager) on loopback with an admin kubeconfig.

    Use as a context manager, or call `start()` / `stop()`. After `start()`:
    `kubeconfig` (admin kubeconfig file, token auth, TLS verification skipped), `server`
    (https URL), `token` (bearer token in group system:masters), `ca_file` (the apiserver's
    self-signed certificate chain), `workdir` and `api_client()`. `start()` blocks, so call
    it through `asyncio.to_thread` from async code.
    """

    def __init__(
        self,
        assets: str | os.PathLike[str] | None = None,
        *,
        controller_manager: bool | None = None,
        controllers: tuple[str, ...] = DEFAULT_CONTROLLERS,
        start_timeout: float = 90.0,
        workdir: str | os.PathLike[str] | None = None,
        keep_workdir: bool = False,
        admission_plugins: Sequence[str] = (),
        audit: bool = False,
    ) -> None:
        """`controller_manager`: True requires it, False skips it, None runs it when found.

        `workdir` is a parent folder for the temporary folder (default: the system's temp
        folder); `keep_workdir` leaves it in place after `stop()`, for post-mortems.
        `admission_plugins` are enabled on top of the apiserver's defaults (e.g.
        `OwnerReferencesPermissionEnforcement`, on by default in OpenShift). `audit`
        records every API request in an audit log, read with `audit_events()`.
        """
        self._assets = assets
        self._want_manager = controller_manager
        self._controllers = controllers
        self._api_args: list[str] | None = None
        self._start_timeout = start_timeout
        self._parent_dir = Path(workdir) if workdir is not None else None
        self._keep_workdir = keep_workdir
        self._admission_plugins = tuple(admission_plugins)
        self._audit = audit
        self._running: _Running | None = None
        self._binaries: KubeBinaries | None = None
        self._finalizer: weakref.finalize[..., LocalKube] | None = None
        self.token: str = ""
        self.server: str = ""
        self._kubeconfig: Path | None = None
        self._workdir: Path | None = None
        self.controller_manager_running: bool = False

    # -- public API ---------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig file (valid until `stop()`)."""
        if self._kubeconfig is None:
            raise LocalKubeError("LocalKube is not started")
        return self._kubeconfig

    @property
    def workdir(self) -> Path:
        """The temporary folder with certificates, etcd data and one log file per process."""
        if self._workdir is None:
            raise LocalKubeError("LocalKube is not started")
        return self._workdir

    @property
    def ca_file(self) -> Path:
        """The apiserver's self-signed serving certificate chain (for verifying clients)."""
        return self.workdir / "apiserver-certs" / "apiserver.crt"

    @property
    def running(self) -> bool:
        """True between a successful `start()` and `stop()`."""
        return self._running is not None

    def log_file(self, name: str) -> Path:
        """The log of `etcd`, `kube-apiserver` or `kube-controller-manager`."""
        return self.workdir / f"{name}.log"

    def audit_events(self) -> Iterator[dict[str, Any]]:
        """The audit log's events so far (`audit=True`), in the order they were written:
        one per request, as it completes (a request just answered may not be in yet)."""
        if not self._audit:
            raise LocalKubeError("LocalKube was started without audit=True")
        path = self.workdir / "audit.log"
        if not path.exists():
            return
        with path.open(encoding="utf-8") as log:
            for line in log:
                if line.endswith("\n"):  # a line still being written is left for later
                    yield json.loads(line)

    def pids(self) -> dict[str, int]:
        """Process ids by binary name (for measuring and for debugging)."""
        running = self._running.processes if self._running else []
        return {proc.name: proc.popen.pid for proc in running}

    def memory_rss(self) -> dict[str, int]:
        """Resident memory in bytes of each process, read from /proc (Linux)."""
        result: dict[str, int] = {}
        for name, pid in self.pids().items():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        result[name] = int(line.split()[1]) * 1024
        return result

    def api_client(self) -> ApiClient:
        """A new `kubernetes.client.ApiClient` authenticated as admin, verifying TLS."""
        from kubernetes import client

        config = client.Configuration()
        config.host = self.server
        config.api_key = {"authorization": self.token}
        config.api_key_prefix = {"authorization": "Bearer"}
        config.ssl_ca_cert = str(self.ca_file)
        return client.ApiClient(config)

    def restart_controller_manager(self, *crds: str, timeout: float = 60.0) -> None:
        """Restart kube-controller-manager so its garbage collector watches every kind now served.

        The collector rediscovers resource types only every 30 s, and a dependent whose
        owner kind it does not watch yet is collected up to a minute late. Call this after
        installing CRDs, naming them (`plural.group`): it first waits until API discovery
        lists them, since discovery is what the restarted collector reads.
        """
        if self._running is None or not self.controller_manager_running:
            raise LocalKubeError("kube-controller-manager is not running")
        deadline = time.monotonic() + timeout
        self._wait_for(
            f"discovery of {', '.join(crds)}", lambda: self._undiscovered(crds), deadline
        )
        manager = next(p for p in self._running.processes if p.name == "kube-controller-manager")
        self._running.processes.remove(manager)
        self.controller_manager_running = False
        manager.stop(grace=10.0)
        self._start_controller_manager(deadline)

    def restart_apiserver(
        self, downtime: float = 0.0, *, grace: float = 5.0, timeout: float = 60.0
    ) -> None:
        """Stop kube-apiserver, keep it down `downtime` seconds, start it on the same port.

        etcd keeps every object, so clients see an outage, not a new cluster. It gets
        `grace` seconds to end after SIGTERM (it waits for open watches otherwise), then
        SIGKILL; `grace` 0 is a crash (SIGKILL at once). Returns once it serves API
        requests again.
        """
        if self._running is None or self._api_args is None:
            raise LocalKubeError("LocalKube is not started")
        running = self._running
        old = next(p for p in running.processes if p.name == "kube-apiserver")
        index = running.processes.index(old)
        running.processes.remove(old)
        old.stop(grace)
        time.sleep(downtime)
        new = self._spawn("kube-apiserver", self._api_args)
        # Keep the start order, so that stop() still ends dependents before etcd.
        running.processes.remove(new)
        running.processes.insert(index, new)
        deadline = time.monotonic() + timeout
        self._wait_http("kube-apiserver", f"{self.server}/readyz", deadline, token=self.token)
        self._wait_http(
            "kube-apiserver",
            f"{self.server}/api/v1/namespaces/default",
            deadline,
            token=self.token,
        )

    def start(self) -> Self:
        """Start all processes and wait until the apiserver serves; idempotent."""
        if self._running is not None:
            return self
        binaries = find_binaries(self._assets)
        use_manager = self._want_manager is not False
        if self._want_manager and binaries.controller_manager is None:
            raise KubeBinariesMissingError(
                f"kube-controller-manager not found next to {binaries.apiserver}, in "
                f"{default_assets_dir()} or on PATH; run {INSTALL_SCRIPT}"
            )
        with_manager = use_manager and binaries.controller_manager is not None
        self._binaries = binaries
        attempt = 1
        while True:
            try:
                self._start_once(binaries, with_manager)
                return self
            except _PortConflictError:
                self.stop()
                if attempt == _PORT_ATTEMPTS:
                    raise
                attempt += 1
            except BaseException:
                self.stop()
                raise

    def stop(self) -> None:
        """Terminate (then kill) the processes and remove the temporary folder; idempotent."""
        if self._finalizer is not None:
            self._finalizer()
        self._running = None
        self._finalizer = None
        self._kubeconfig = None
        self._workdir = None
        self.controller_manager_running = False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        # Never the token: reprs end up in logs and test reports.
        state = f"server={self.server!r}" if self.running else "stopped"
        return f"<LocalKube {state}>"

    # -- start-up -----------------------------------------------------------------------

    def _start_once(self, binaries: KubeBinaries, with_manager: bool) -> None:
        if self._parent_dir is not None:
            self._parent_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="nks-localkube-", dir=self._parent_dir))
        running = _Running(workdir=workdir, keep_workdir=self._keep_workdir)
        self._running = running
        self._workdir = workdir
        # Cleans up at interpreter exit too, when the owner forgot stop().
        self._finalizer = weakref.finalize(self, running.shutdown)
        deadline = time.monotonic() + self._start_timeout

        self.token = secrets.token_hex(24)
        (workdir / "tokens.csv").write_text(f"{self.token},admin,admin,system:masters\n")
        sa_key = workdir / "service-account.key"
        _make_rsa_key(sa_key)

        etcd_port, peer_port, api_port = _free_port(), _free_port(), _free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        self._spawn(
            "etcd",
            [
                str(binaries.etcd),
                "--name=localkube",
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=localkube={peer_url}",
                "--initial-cluster-state=new",
            ],
        )
        self._wait_http("etcd", f"{etcd_url}/health", deadline, token=None)

        minor = _minor_version(binaries.apiserver)
        self.server = f"https://127.0.0.1:{api_port}"
        api_args = [
            str(binaries.apiserver),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--cert-dir={workdir / 'apiserver-certs'}",
            "--authorization-mode=RBAC",
            f"--token-auth-file={workdir / 'tokens.csv'}",
            f"--service-account-key-file={sa_key}",
            f"--service-account-signing-key-file={sa_key}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--api-audiences={SERVICE_ACCOUNT_ISSUER}",
            "--service-cluster-ip-range=10.0.0.0/24",
            # No kubelet or pod network: the `kubernetes` Service's endpoints stay empty.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
        ]
        if minor < 24:  # the insecure port (default 8080) was removed in 1.24
            api_args.append("--insecure-port=0")
        if self._admission_plugins:
            api_args.append(f"--enable-admission-plugins={','.join(self._admission_plugins)}")
        if self._audit:
            policy = workdir / "audit-policy.yaml"
            policy.write_text(yaml.safe_dump(_AUDIT_POLICY))
            api_args += [
                f"--audit-policy-file={policy}",
                f"--audit-log-path={workdir / 'audit.log'}",
                "--audit-log-format=json",
                "--audit-log-mode=blocking",
            ]
        self._api_args = api_args
        self._spawn("kube-apiserver", api_args)
        self._wait_http("kube-apiserver", f"{self.server}/readyz", deadline, token=self.token)
        # /readyz can answer before the bootstrap controller has created `default`.
        self._wait_http(
            "kube-apiserver",
            f"{self.server}/api/v1/namespaces/default",
            deadline,
            token=self.token,
        )
        self._kubeconfig = workdir / "kubeconfig"
        self._write_kubeconfig(self._kubeconfig)

        if with_manager:
            self._start_controller_manager(deadline)

    def _start_controller_manager(self, deadline: float) -> None:
        """Start it with the admin kubeconfig; ready once its garbage collector has synced."""
        binaries = self._binaries
        assert binaries is not None and binaries.controller_manager is not None
        workdir = self.workdir
        port = _free_port()
        args = [
            str(binaries.controller_manager),
            f"--kubeconfig={self.kubeconfig}",
            f"--controllers={','.join(self._controllers)}",
            "--use-service-account-credentials=false",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={workdir / 'controller-manager-certs'}",
            f"--service-account-private-key-file={workdir / 'service-account.key'}",
        ]
        if _minor_version(binaries.controller_manager) < 24:
            args.append("--port=0")  # else an insecure port on the fixed 10252
        manager = self._spawn("kube-controller-manager", args)
        url = f"https://127.0.0.1:{port}/healthz"
        self._wait_http("kube-controller-manager", url, deadline, token=None)
        if "garbagecollector" in self._controllers:
            # Logged once every watched kind is listed: from then on deletions are seen.
            synced = re.compile(r"(?i)all resource monitors have synced")
            self._wait_for(
                "the garbage collector",
                lambda: None if synced.search(manager.output()) else "monitors not synced yet",
                deadline,
            )
        self.controller_manager_running = True

    def _spawn(self, name: str, args: list[str]) -> _Process:
        assert self._running is not None and self._running.workdir is not None
        log = self._running.workdir / f"{name}.log"
        log_file = log.open("ab")
        popen = subprocess.Popen(
            _with_parent_death_signal(args),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=self._running.workdir,
            # Own session: a Ctrl-C in the terminal reaches only Python, which then stops
            # the processes in order instead of all of them dying at once.
            start_new_session=True,
        )
        process = _Process(name, popen, log, log_file, log_offset=log_file.tell())
        self._running.processes.append(process)
        return process

    def _wait_for(self, what: str, ready: Callable[[], str | None], deadline: float) -> None:
        """Poll `ready` (None when ready, else why not); fail early if a process exited."""
        while True:
            self._check_alive()
            why_not = ready()
            if why_not is None:
                return
            if time.monotonic() > deadline:
                raise LocalKubeError(f"{what} not ready in time ({why_not})\n{self._logs()}")
            time.sleep(0.2)

    @staticmethod
    def _get(url: str, token: str | None) -> tuple[int, bytes]:
        """GET `url` as `token`: (status, body); raises OSError when nothing answers."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # self-signed, and not always written yet
        # No proxy: a configured HTTP(S)_PROXY must not swallow loopback requests.
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        request = urllib.request.Request(url)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with opener.open(request, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read(300)

    def _wait_http(self, what: str, url: str, deadline: float, *, token: str | None) -> None:
        """Wait until `url` answers 200."""

        def answered() -> str | None:
            try:
                status, body = self._get(url, token)
            except OSError as err:  # connection refused, TLS not up yet, timeouts
                return f"{url}: {err}"
            return None if status == 200 else f"{url}: HTTP {status}: {body[:300]!r}"

        self._wait_for(what, answered, deadline)

    def _undiscovered(self, crds: tuple[str, ...]) -> str | None:
        """Which of `crds` (`plural.group`) API discovery does not list yet; None if all."""
        try:
            status, body = self._get(f"{self.server}/apis", self.token)
            groups = {g["name"]: g["versions"] for g in json.loads(body)["groups"]}
            missing = []
            for crd in crds:
                plural, _, group = crd.partition(".")
                listed = False
                for version in groups.get(group, []):
                    status, body = self._get(
                        f"{self.server}/apis/{version['groupVersion']}", self.token
                    )
                    resources = json.loads(body).get("resources", []) if status == 200 else []
                    listed = listed or any(r["name"] == plural for r in resources)
                if not listed:
                    missing.append(crd)
        except (OSError, ValueError, KeyError) as err:
            return f"discovery failed: {err}"
        return f"not listed: {', '.join(missing)}" if missing else None

    def _check_alive(self) -> None:
        assert self._running is not None
        for proc in self._running.processes:
            code = proc.popen.poll()
            if code is None:
                continue
            logs = self._logs()
            error = _PortConflictError if "address already in use" in logs else LocalKubeError
            raise error(f"{proc.name} exited with code {code} during start-up\n{logs}")

    def _logs(self) -> str:
        assert self._running is not None
        return "\n".join(
            f"--- last lines of {proc.log} ---\n{_tail(proc.log)}"
            for proc in self._running.processes
        )

    def _write_kubeconfig(self, path: Path) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "localkube",
                    "cluster": {"server": self.server, "insecure-skip-tls-verify": True},
                }
            ],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": "localkube",
                    "context": {"cluster": "localkube", "user": "admin", "namespace": "default"},
                }
            ],
            "current-context": "localkube",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)


def _make_rsa_key(path: Path) -> None:
    """An RSA key to sign service-account tokens: `cryptography` when present, else openssl."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise LocalKubeError(
                "need openssl (apt-get install openssl) or the Python package cryptography "
                "to make the service-account key"
            ) from None
        subprocess.run(
            [openssl, "genrsa", "-out", str(path), "2048"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


def _with_parent_death_signal(args: list[str]) -> list[str]:
    """Prefix `setpriv --pdeathsig KILL` so a SIGKILLed Python does not leak servers.

    Linux delivers the signal when the *thread* that forked exits, so this is only safe
    from the main thread (which outlives all others); elsewhere the finalizer must do.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return args
    return [setpriv, "--pdeathsig", "KILL", "--", *args]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Start a LocalKube for a human and keep it up until Ctrl-C (or SIGTERM)."""
    parser = argparse.ArgumentParser(
        prog="python -m nks_devtools.localkube",
        description="Run etcd + kube-apiserver + kube-controller-manager on loopback.",
    )
    parser.add_argument("--assets", help="folder with kube-apiserver and etcd")
    parser.add_argument(
        "--no-controller-manager", action="store_true", help="skip kube-controller-manager"
    )
    parser.add_argument("--kubeconfig-out", help="also copy the admin kubeconfig here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    # SIGTERM ends like Ctrl-C, so the processes are stopped in order and the folder removed.
    signal.signal(signal.SIGTERM, _interrupt)
    kube = LocalKube(
        args.assets,
        controller_manager=False if args.no_controller_manager else None,
        keep_workdir=args.keep,
    )
    started = time.monotonic()
    try:
        with kube:
            kubeconfig = kube.kubeconfig
            if args.kubeconfig_out:
                shutil.copyfile(kube.kubeconfig, args.kubeconfig_out)
                kubeconfig = Path(args.kubeconfig_out).resolve()
            print(f"ready in {time.monotonic() - started:.1f}s: {kube.server}", file=sys.stderr)
            if not kube.controller_manager_running:
                print("(no kube-controller-manager: no garbage collection)", file=sys.stderr)
            print(f"logs in {kube.workdir}; Ctrl-C stops everything", file=sys.stderr)
            print(f"export KUBECONFIG={kubeconfig}", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    except LocalKubeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
