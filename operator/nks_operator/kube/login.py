"""Logging in to Kubernetes as kubectl does, for kopf and the operator's own client alike.

The `kubernetes` package's config loader reads the kubeconfig (every file of KUBECONFIG,
merged as kubectl merges them, relative paths from each file's folder) and turns its
user into credentials: client certificates, tokens and token files, OIDC and other
`auth-provider`s, basic auth. `exec` plugins (EKS, GKE, AKS, `kubelogin`) are run here
rather than by the loader, which swallows a failing plugin and logs in with nothing: a
plugin that fails is an error that names it, and its expiry is kept.

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
import base64
import dataclasses
import datetime
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import kopf
import yaml
from kubernetes.client import Configuration
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.exec_provider import ExecProvider
from kubernetes.config.incluster_config import (
    SERVICE_HOST_ENV_NAME,
    SERVICE_PORT_ENV_NAME,
    InClusterConfigLoader,
)
from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_KUBECONFIG = "~/.kube/config"
# Renew this long before a token's expiry (at most half of what is left), as client-go
# does, so that no request goes out with a token about to lapse.
EXPIRY_MARGIN = datetime.timedelta(seconds=60)
# A plugin's message is shown as kubectl shows it, cut to this size.
PLUGIN_MESSAGE_LIMIT = 300


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
        configuration = Configuration()
        loader = InClusterConfigLoader(
            token_filename=str(self._service_account_dir / "token"),
            cert_filename=str(self._service_account_dir / "ca.crt"),
            environ=self._environ,
        )
        try:
            loader.load_and_set(configuration)
        except (ConfigException, OSError) as error:
            raise LoginError(f"in-cluster login failed: {error}") from None
        namespace_file = self._service_account_dir / "namespace"
        namespace = namespace_file.read_text().strip() if namespace_file.is_file() else None
        source = Source(
            "in-cluster service account "
            f"({self._environ.get(SERVICE_HOST_ENV_NAME)}:"
            f"{self._environ.get(SERVICE_PORT_ENV_NAME)})",
            namespace or None,
        )
        return _connection_info(configuration, namespace or None, None), source

    def _load_kubeconfig(self, paths: list[str]) -> tuple[kopf.ConnectionInfo, Source]:
        where = os.pathsep.join(paths)
        try:
            merger = KubeConfigMerger(where)
        except OSError as error:
            raise LoginError(
                f"cannot read the kubeconfig {error.filename}: {error.strerror}"
            ) from None
        except yaml.YAMLError as error:
            # Never the YAML error's text: it quotes the offending line, which may hold a
            # token.
            mark = getattr(error, "problem_mark", None)
            line = f" (line {mark.line + 1})" if mark is not None else ""
            raise LoginError(f"the kubeconfig is not valid YAML{line}: {where}") from None
        except ConfigException as error:
            raise LoginError(f"the kubeconfig {where} is not usable: {error}") from None
        merged = merger.config
        if merged is None or not isinstance(merged.value, dict):
            raise LoginError(f"the kubeconfig {where} is empty")
        # As kubectl: the first file that sets current-context wins (the loader takes the
        # last one).
        current = next(
            (
                merger.config_files[path]["current-context"]
                for path in merger.paths
                if (merger.config_files[path] or {}).get("current-context")
            ),
            None,
        )
        context_name = self.context or current
        contexts = [
            getattr(item, "value", item).get("name") for item in merged.value.get("contexts", [])
        ]
        if not context_name:
            raise LoginError(
                f"the kubeconfig {where} has no current context: pass --context (one of: "
                f"{', '.join(map(str, contexts)) or 'none'})"
            )
        if context_name not in contexts:
            raise LoginError(
                f"the kubeconfig {where} has no context {context_name!r} (contexts: "
                f"{', '.join(map(str, contexts)) or 'none'})"
            )
        try:
            context = merged["contexts"].get_with_name(context_name)["context"]
            expiration = self._run_exec_plugin(merged, context, context_name)
            loader = KubeConfigLoader(
                config_dict=merged, active_context=context_name, config_base_path=None
            )
            configuration = Configuration()
            loader.load_and_set(configuration)
        except ConfigException as error:
            raise LoginError(f"the kubeconfig {where}, context {context_name!r}: {error}") from None
        except OSError as error:
            raise LoginError(
                f"the kubeconfig {where}, context {context_name!r}: cannot read "
                f"{error.filename}: {error.strerror}"
            ) from None
        namespace = context.safe_get("namespace") or None
        source = Source(f"kubeconfig {where}, context {context_name}", namespace)
        return _connection_info(configuration, namespace, expiration), source

    def _run_exec_plugin(
        self, merged: Any, context: Any, context_name: str
    ) -> datetime.datetime | None:
        """Run the user's exec plugin, if it has one, and put what it printed in its place
        (a token, or a client certificate and key), so the loader logs in with that."""
        user_name = context.safe_get("user")
        user = merged["users"].get_with_name(user_name, safe=True) if user_name else None
        if user is None or "exec" not in user["user"]:
            return None
        user = user["user"]
        plugin = user["exec"]
        command = plugin.safe_get("command") or "?"
        cluster = merged["clusters"].get_with_name(context["cluster"])["cluster"]
        base = os.path.dirname(os.path.abspath(user.path)) if user.path else None
        try:
            status = ExecProvider(plugin, base, cluster).run()
        except ConfigException as error:
            raise LoginError(
                f"the exec plugin {command!r} of user {user_name!r} (context {context_name!r}) "
                f"failed: {_plugin_message(error)}"
            ) from None
        except OSError as error:
            raise LoginError(
                f"the exec plugin {command!r} of user {user_name!r} (context {context_name!r}) "
                f"cannot run: {error.strerror}"
            ) from None
        if not isinstance(status, dict):
            raise LoginError(f"the exec plugin {command!r} printed no ExecCredential status")
        values = user.value
        values.pop("exec")
        if status.get("token"):
            values["token"] = status["token"]
        elif status.get("clientCertificateData") and status.get("clientKeyData"):
            values["client-certificate-data"] = _b64(status["clientCertificateData"])
            values["client-key-data"] = _b64(status["clientKeyData"])
        else:
            raise LoginError(
                f"the exec plugin {command!r} of user {user_name!r} printed neither a token "
                "nor a client certificate and key"
            )
        expiry = status.get("expirationTimestamp")
        if not expiry:
            return None
        try:
            parsed = datetime.datetime.fromisoformat(str(expiry).replace("Z", "+00:00"))
        except ValueError:
            raise LoginError(
                f"the exec plugin {command!r} printed an unreadable expirationTimestamp"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.UTC)
        margin = min(EXPIRY_MARGIN, max(parsed - _now(), datetime.timedelta()) / 2)
        return parsed - margin


def _b64(pem: str) -> str:
    return base64.standard_b64encode(pem.encode()).decode()


def _plugin_message(error: ConfigException) -> str:
    """The loader's message: the exit code and the plugin's stderr (what kubectl shows),
    or what was wrong with its output - never the output itself."""
    text = " ".join(str(error).split())
    if len(text) > PLUGIN_MESSAGE_LIMIT:
        text = text[:PLUGIN_MESSAGE_LIMIT] + "..."
    return text


def _connection_info(
    configuration: Configuration, namespace: str | None, expiration: datetime.datetime | None
) -> kopf.ConnectionInfo:
    """kopf's credentials from the loader's result (as kopf's own `login_via_client`
    reads them, which also calls the auth-provider's refresh hook)."""
    header = configuration.get_api_key_with_prefix(
        "BearerToken"
    ) or configuration.get_api_key_with_prefix("authorization")
    scheme, token = None, None
    if header:
        parts = header.split(" ", 1)
        scheme, token = (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    if not configuration.host:
        raise LoginError("the kubeconfig's cluster has no server")
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert or None,
        insecure=not configuration.verify_ssl,
        scheme=scheme,
        token=token,
        certificate_path=configuration.cert_file or None,
        private_key_path=configuration.key_file or None,
        default_namespace=namespace,
        proxy_url=configuration.proxy or None,
        expiration=expiration,
        # The highest of kopf's own priorities: nothing else kopf might find wins.
        priority=100,
    )


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
