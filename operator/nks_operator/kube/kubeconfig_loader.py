"""A kubeconfig turned into credentials by the `kubernetes` package, in a process of its own.

The `kubernetes` package costs the operator about 12 MiB resident (BENCHMARKS.md) and is
needed only for this: its loader reads every kind of kubeconfig kubectl reads. So
`nks-operator run` never imports it (`cli.main`), and `load()` runs it in a child process,
which answers and exits.

The child runs this module's `main(FD [--context NAME] -- PATH...)` (`_CHILD`). It writes
one JSON object to file descriptor FD: the credentials (certificates and keys
as PEM text, whatever file or data the kubeconfig gave them in), or an error message that
is safe to print. Its stdin, stdout and stderr are the caller's, so an exec plugin is
interactive exactly when the caller's stdout is a terminal, as it was in one process.

The loading itself (`read_kubeconfig`, run in the child): every file merged as kubectl
merges them, the first file's current-context, `--context`; client certificates, tokens
and token files, OIDC and other `auth-provider`s, basic auth. `exec` plugins are run here
rather than by the loader, which swallows a failing plugin and logs in with nothing: a
plugin that fails is an error that names it, and its expiry is kept.

Messages never carry a token, a key or a plugin's output, only names and paths.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime
import json
import logging
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Renew this long before a token's expiry (at most half of what is left), as client-go
# does, so that no request goes out with a token about to lapse.
EXPIRY_MARGIN = datetime.timedelta(seconds=60)
# A plugin's message is shown as kubectl shows it, cut to this size.
PLUGIN_MESSAGE_LIMIT = 300
# A login that takes longer has failed (an exec plugin may wait for a person at a terminal).
LOAD_TIMEOUT_SECONDS = 300.0
# Credentials are a few KiB; a CA bundle may be larger, never this large.
ANSWER_LIMIT_BYTES = 4 << 20


class LoadError(Exception):
    """The kubeconfig gave no usable credentials; the message says why and is safe to
    print."""


@dataclasses.dataclass(frozen=True)
class Credentials:
    """What the kubeconfig's context logs in with."""

    server: str
    context: str
    namespace: str | None = None
    insecure: bool = False
    scheme: str | None = None
    token: str | None = None
    ca_data: str | None = None
    certificate_data: str | None = None
    private_key_data: str | None = None
    proxy_url: str | None = None
    # When to log in again: the exec plugin's expiry less a margin.
    expiration: datetime.datetime | None = None


# -- the caller's side ------------------------------------------------------------------


def load(
    paths: Sequence[str], context: str | None, *, timeout: float = LOAD_TIMEOUT_SECONDS
) -> Credentials:
    """The credentials of `context` (else the current context) of the kubeconfig `paths`,
    read in a child process (see the module doc). Raises LoadError."""
    read_end, write_end = os.pipe()
    chosen = ["--context", context] if context is not None else []
    try:
        child = subprocess.Popen(
            [sys.executable, "-P", "-c", _CHILD, str(write_end), *chosen, "--", *paths],
            pass_fds=(write_end,),
        )
    except OSError as error:
        os.close(read_end)
        raise LoadError(f"cannot start the kubeconfig loader: {error.strerror}") from None
    finally:
        os.close(write_end)
    deadline = time.monotonic() + timeout
    try:
        answer = _read_answer(read_end, deadline, timeout)
        # Not killed once it answered: it removes the loader's temporary files as it exits.
        code = child.wait(timeout=max(deadline - time.monotonic(), 5.0))
    except BaseException as error:
        child.kill()
        child.wait()
        if isinstance(error, subprocess.TimeoutExpired):
            raise LoadError(_too_slow(timeout)) from None
        raise
    finally:
        os.close(read_end)
    return _credentials(answer, code)


# The child imports this module from where the caller found it, without touching the
# environment it passes on to exec plugins (a PYTHONPATH would reach a plugin written in
# Python); `-P`: never a module of the working directory.
_CHILD = (
    f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r}); "
    f"from {__name__} import main; sys.exit(main())"
)


def _read_answer(fd: int, deadline: float, timeout: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise LoadError(_too_slow(timeout))
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > ANSWER_LIMIT_BYTES:
                raise LoadError("the kubeconfig loader's answer is too large")
            chunks.append(chunk)


def _too_slow(timeout: float) -> str:
    return f"the kubeconfig loader did not finish within {timeout:g} s"


def _credentials(answer: bytes, code: int) -> Credentials:
    from pydantic import TypeAdapter, ValidationError

    try:
        decoded = json.loads(answer)
        if "error" in decoded:
            error = decoded["error"]
        else:
            return TypeAdapter(Credentials).validate_python(decoded["credentials"])
    except (ValueError, TypeError, KeyError, ValidationError):
        error = None
    if isinstance(error, str):
        raise LoadError(error)
    raise LoadError(f"the kubeconfig loader failed (exit code {code})")


# -- the child's side -------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nks-operator kubeconfig loader")
    parser.add_argument("fd", type=int)
    parser.add_argument("--context")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    # The `kubernetes` package logs what it skips; the caller's messages say what failed.
    logging.disable(logging.CRITICAL)
    answer: dict[str, Any]
    try:
        credentials = read_kubeconfig(args.paths, args.context)
        answer = {"credentials": _as_json(credentials)}
    except LoadError as error:
        answer = {"error": str(error)}
    except Exception as error:  # never an unexpected error's text: it may quote a secret
        answer = {"error": f"the kubeconfig loader failed ({type(error).__name__})"}
    try:
        with os.fdopen(args.fd, "w") as out:
            json.dump(answer, out)
    except BrokenPipeError:
        return 1  # the caller is gone (it was stopped while waiting): nobody to tell
    return 0


def _as_json(credentials: Credentials) -> dict[str, Any]:
    fields = dataclasses.asdict(credentials)
    if credentials.expiration is not None:
        fields["expiration"] = credentials.expiration.isoformat()
    return fields


def read_kubeconfig(paths: Sequence[str], context_name: str | None) -> Credentials:
    """The credentials, read with the `kubernetes` package in this process."""
    import yaml
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

    where = os.pathsep.join(paths)
    try:
        merger = KubeConfigMerger(where)
    except OSError as error:
        raise LoadError(f"cannot read the kubeconfig {error.filename}: {error.strerror}") from None
    except yaml.YAMLError as error:
        # Never the YAML error's text: it quotes the offending line, which may hold a token.
        mark = getattr(error, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise LoadError(f"the kubeconfig is not valid YAML{line}: {where}") from None
    except ConfigException as error:
        raise LoadError(f"the kubeconfig {where} is not usable: {error}") from None
    merged = merger.config
    if merged is None or not isinstance(merged.value, dict):
        raise LoadError(f"the kubeconfig {where} is empty")
    context_name = context_name or _first_current_context(merger)
    _require_context(merged, context_name, where)
    assert context_name is not None
    try:
        context = merged["contexts"].get_with_name(context_name)["context"]
        expiration = _run_exec_plugin(merged, context, context_name)
        loader = KubeConfigLoader(
            config_dict=merged, active_context=context_name, config_base_path=None
        )
        configuration = Configuration()
        loader.load_and_set(configuration)
        return _from_configuration(
            configuration, context_name, context.safe_get("namespace") or None, expiration
        )
    except ConfigException as error:
        raise LoadError(f"the kubeconfig {where}, context {context_name!r}: {error}") from None
    except OSError as error:
        raise LoadError(
            f"the kubeconfig {where}, context {context_name!r}: cannot read "
            f"{error.filename}: {error.strerror}"
        ) from None


def _first_current_context(merger: Any) -> str | None:
    """As kubectl: the first file that sets current-context wins (the loader takes the
    last one)."""
    return next(
        (
            merger.config_files[path]["current-context"]
            for path in merger.paths
            if (merger.config_files[path] or {}).get("current-context")
        ),
        None,
    )


def _require_context(merged: Any, context_name: str | None, where: str) -> None:
    contexts = [
        getattr(item, "value", item).get("name") for item in merged.value.get("contexts", [])
    ]
    if not context_name:
        raise LoadError(
            f"the kubeconfig {where} has no current context: pass --context (one of: "
            f"{', '.join(map(str, contexts)) or 'none'})"
        )
    if context_name not in contexts:
        raise LoadError(
            f"the kubeconfig {where} has no context {context_name!r} (contexts: "
            f"{', '.join(map(str, contexts)) or 'none'})"
        )


def _run_exec_plugin(merged: Any, context: Any, context_name: str) -> datetime.datetime | None:
    """Run the user's exec plugin, if it has one, and put what it printed in its place (a
    token, or a client certificate and key), so the loader logs in with that."""
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.exec_provider import ExecProvider

    user_name = context.safe_get("user")
    user = merged["users"].get_with_name(user_name, safe=True) if user_name else None
    if user is None or "exec" not in user["user"]:
        return None
    user = user["user"]
    plugin = user["exec"]
    command = plugin.safe_get("command") or "?"
    cluster = merged["clusters"].get_with_name(context["cluster"])["cluster"]
    base = os.path.dirname(os.path.abspath(user.path)) if user.path else None
    named = f"the exec plugin {command!r} of user {user_name!r} (context {context_name!r})"
    try:
        status = ExecProvider(plugin, base, cluster).run()
    except ConfigException as error:
        raise LoadError(f"{named} failed: {_plugin_message(error)}") from None
    except OSError as error:
        raise LoadError(f"{named} cannot run: {error.strerror}") from None
    if not isinstance(status, dict):
        raise LoadError(f"the exec plugin {command!r} printed no ExecCredential status")
    values = user.value
    values.pop("exec")
    if status.get("token"):
        values["token"] = status["token"]
    elif status.get("clientCertificateData") and status.get("clientKeyData"):
        values["client-certificate-data"] = _b64(status["clientCertificateData"])
        values["client-key-data"] = _b64(status["clientKeyData"])
    else:
        raise LoadError(f"{named} printed neither a token nor a client certificate and key")
    return _expiration(status.get("expirationTimestamp"), command)


def _expiration(expiry: object, command: str) -> datetime.datetime | None:
    if not expiry:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(str(expiry).replace("Z", "+00:00"))
    except ValueError:
        raise LoadError(
            f"the exec plugin {command!r} printed an unreadable expirationTimestamp"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    left = max(parsed - datetime.datetime.now(datetime.UTC), datetime.timedelta())
    return parsed - min(EXPIRY_MARGIN, left / 2)


def _b64(pem: str) -> str:
    return base64.standard_b64encode(pem.encode()).decode()


def _plugin_message(error: Exception) -> str:
    """The loader's message: the exit code and the plugin's stderr (what kubectl shows),
    or what was wrong with its output - never the output itself."""
    text = " ".join(str(error).split())
    if len(text) > PLUGIN_MESSAGE_LIMIT:
        text = text[:PLUGIN_MESSAGE_LIMIT] + "..."
    return text


def _from_configuration(
    configuration: Any,
    context: str,
    namespace: str | None,
    expiration: datetime.datetime | None,
) -> Credentials:
    """The loader's result as kopf's own `login_via_client` reads it (which also calls
    the auth-provider's refresh hook), files read into PEM text: the loader's own
    temporary files end with this process."""
    header = configuration.get_api_key_with_prefix(
        "BearerToken"
    ) or configuration.get_api_key_with_prefix("authorization")
    scheme, token = None, None
    if header:
        parts = header.split(" ", 1)
        scheme, token = (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    if not configuration.host:
        raise LoadError("the kubeconfig's cluster has no server")
    return Credentials(
        server=configuration.host,
        context=context,
        namespace=namespace,
        insecure=not configuration.verify_ssl,
        scheme=scheme,
        token=token,
        ca_data=_read(configuration.ssl_ca_cert),
        certificate_data=_read(configuration.cert_file),
        private_key_data=_read(configuration.key_file),
        proxy_url=configuration.proxy or None,
        expiration=expiration,
    )


def _read(path: str | None) -> str | None:
    """A certificate or key file's PEM text (the answer carries data, not paths)."""
    if not path:
        return None
    with open(path, "rb") as file:
        data = file.read(ANSWER_LIMIT_BYTES + 1)
    if len(data) > ANSWER_LIMIT_BYTES:
        raise LoadError(f"{path} is too large for a certificate or key")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise LoadError(f"{path} is not PEM text") from None


if __name__ == "__main__":
    sys.exit(main())
