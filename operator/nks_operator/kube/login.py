"""Logging in to Kubernetes as kubectl does, for kopf and the operator's own client alike.

A kubeconfig is read by the `kubernetes` package's loader, in a child process
(kube/kubeconfig_loader.py: every kind of user kubectl knows, exec plugins included); the
pod's service account is read here, as client-go reads it.

Where the credentials come from, as controller-runtime (and `kubectl`, for the files)
looks: `--kubeconfig`, else KUBECONFIG, else the pod's service account (in-cluster), else
~/.kube/config; `--context` picks a context other than the current one (and so needs a
kubeconfig).

One `KubeLogin` serves the whole process. Each consumer (kopf's login handler, each
`KubeClient`) logs in through `consumer()`: its first call gives the current credentials,
each later one - after a 401, or once they expired - fresh ones, unless another consumer
has already renewed them. So an exec plugin runs once per renewal, not once per client,
and everything uses the same token.

Messages never carry a token, a key or a plugin's output, only names and paths.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import kopf

from nks_operator.kube import kubeconfig_loader

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
SERVICE_HOST_ENV_NAME = "KUBERNETES_SERVICE_HOST"
SERVICE_PORT_ENV_NAME = "KUBERNETES_SERVICE_PORT"
DEFAULT_KUBECONFIG = "~/.kube/config"


class LoginError(Exception):
    """No usable credentials; the message says why and is safe to print."""


class NoCredentials(LoginError):
    """Neither a kubeconfig nor a service account."""


@dataclasses.dataclass(frozen=True)
class Source:
    """Where the credentials came from, for messages: 'in-cluster' or the kubeconfig."""

    description: str
    namespace: str | None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _expired(info: kopf.ConnectionInfo) -> bool:
    expiration = info.expiration
    if expiration is None:
        return False
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=datetime.UTC)
    return _now() >= expiration


class KubeLogin:
    """The process's Kubernetes login (see the module doc). `kubeconfig` None reads
    KUBECONFIG when logging in, not now (the demo sets it later)."""

    def __init__(
        self,
        kubeconfig: str | None = None,
        context: str | None = None,
        *,
        environ: Mapping[str, str] = os.environ,
        service_account_dir: Path = SERVICE_ACCOUNT_DIR,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self._environ = environ
        self._service_account_dir = service_account_dir
        self._lock = threading.Lock()
        self._info: kopf.ConnectionInfo | None = None
        self._source: Source | None = None
        # kopf's login handler: one consumer for the whole life of the operator.
        self.for_kopf = self.consumer()

    # -- what consumers call -------------------------------------------------------------

    def fresh(self, stale: kopf.ConnectionInfo | None = None) -> kopf.ConnectionInfo:
        """The credentials to use now: the current ones, unless they are `stale` (a
        consumer was refused with them), expired, or not there yet."""
        with self._lock:
            info = self._info
            if info is None or info is stale or _expired(info):
                info, self._source = self._load()
                self._info = info
            return info

    def consumer(self) -> Callable[[], kopf.ConnectionInfo | None]:
        """A login function for one client: a first call gives the current credentials,
        each later call (the client was refused, or they expired) fresh ones."""
        given: kopf.ConnectionInfo | None = None

        def login() -> kopf.ConnectionInfo | None:
            nonlocal given
            given = self.fresh(given)
            return given

        return login

    def namespace(self) -> str | None:
        """The context's namespace, or the service account's; None when neither says."""
        if self._source is None:
            self.fresh()
        assert self._source is not None
        return self._source.namespace

    def describe(self) -> str:
        if self._source is None:
            self.fresh()
        assert self._source is not None
        return self._source.description

    # -- loading -------------------------------------------------------------------------

    def _paths(self) -> list[str] | None:
        """The kubeconfig files to merge; None for in-cluster."""
        if self.kubeconfig:
            paths = [os.path.expanduser(self.kubeconfig)]
            if not os.path.exists(paths[0]):
                raise LoginError(
                    f"cannot read the kubeconfig {self.kubeconfig}: No such file or directory"
                )
            return paths
        listed = self._environ.get("KUBECONFIG", "")
        if listed:
            paths = [os.path.expanduser(p) for p in listed.split(os.pathsep) if p]
            found = [p for p in paths if os.path.exists(p)]
            if not found:
                raise LoginError(
                    f"cannot read the kubeconfig {listed} (KUBECONFIG): No such file or directory"
                )
            return found
        if self.context is None and self._in_cluster():
            return None
        default = os.path.expanduser(DEFAULT_KUBECONFIG)
        if os.path.exists(default):
            return [default]
        if self.context is not None:
            raise NoCredentials(
                f"--context {self.context}: no kubeconfig (--kubeconfig, KUBECONFIG or "
                f"{DEFAULT_KUBECONFIG})"
            )
        raise NoCredentials(
            "no Kubernetes credentials: not running in a pod (no service account token) and "
            f"no kubeconfig (--kubeconfig, KUBECONFIG or {DEFAULT_KUBECONFIG})"
        )

    def _in_cluster(self) -> bool:
        return (
            bool(self._environ.get(SERVICE_HOST_ENV_NAME))
            and (self._service_account_dir / "token").is_file()
        )

    def _load(self) -> tuple[kopf.ConnectionInfo, Source]:
        paths = self._paths()
        if paths is None:
            return self._load_in_cluster()
        return self._load_kubeconfig(paths)

    def _load_in_cluster(self) -> tuple[kopf.ConnectionInfo, Source]:
        host = self._environ.get(SERVICE_HOST_ENV_NAME)
        port = self._environ.get(SERVICE_PORT_ENV_NAME)
        if not host or not port:
            raise LoginError(
                f"in-cluster login failed: {SERVICE_HOST_ENV_NAME} or {SERVICE_PORT_ENV_NAME} "
                "is not set"
            )
        token = _account_file(self._service_account_dir / "token").strip()
        ca_path = self._service_account_dir / "ca.crt"
        _account_file(ca_path)
        namespace_file = self._service_account_dir / "namespace"
        namespace = namespace_file.read_text().strip() if namespace_file.is_file() else None
        # An IPv6 address is bracketed in a URL.
        server = f"https://{f'[{host}]' if ':' in host else host}:{port}"
        source = Source(f"in-cluster service account ({host}:{port})", namespace or None)
        info = kopf.ConnectionInfo(
            server=server,
            ca_path=str(ca_path),
            scheme="Bearer",
            token=token,
            default_namespace=namespace or None,
            # The highest of kopf's own priorities: nothing else kopf might find wins.
            priority=100,
        )
        return info, source

    def _load_kubeconfig(self, paths: list[str]) -> tuple[kopf.ConnectionInfo, Source]:
        try:
            loaded = kubeconfig_loader.load(paths, self.context)
        except kubeconfig_loader.LoadError as error:
            raise LoginError(str(error)) from None
        where = os.pathsep.join(paths)
        source = Source(f"kubeconfig {where}, context {loaded.context}", loaded.namespace)
        info = kopf.ConnectionInfo(
            server=loaded.server,
            ca_data=loaded.ca_data,
            insecure=loaded.insecure,
            scheme=loaded.scheme,
            token=loaded.token,
            certificate_data=loaded.certificate_data,
            private_key_data=loaded.private_key_data,
            default_namespace=loaded.namespace,
            proxy_url=loaded.proxy_url,
            expiration=loaded.expiration,
            priority=100,
        )
        return info, source


def _account_file(path: Path) -> str:
    """A service account file's text; it must be there and not empty."""
    try:
        text = path.read_text()
    except OSError as error:
        raise LoginError(f"in-cluster login failed: cannot read {path}: {error.strerror}") from None
    if not text.strip():
        raise LoginError(f"in-cluster login failed: {path} is empty")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--kubeconfig` and `--context`, as kubectl has them."""
    parser.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="kubeconfig file (default: KUBECONFIG, else in-cluster, else ~/.kube/config)",
    )
    parser.add_argument(
        "--context",
        metavar="NAME",
        help="kubeconfig context to use (default: its current context)",
    )


# -- the process's login ----------------------------------------------------------------

_process_login: KubeLogin | None = None


def configure(kubeconfig: str | None = None, context: str | None = None) -> KubeLogin:
    """Set the process's login (from `--kubeconfig` / `--context`)."""
    global _process_login
    _process_login = KubeLogin(kubeconfig, context)
    return _process_login


def process_login() -> KubeLogin:
    """The process's login: the one `configure()` set, else KUBECONFIG / in-cluster /
    ~/.kube/config."""
    global _process_login
    if _process_login is None:
        _process_login = KubeLogin()
    return _process_login
