"""`nks-operator run --webhook-*`: serving the validating admission webhook over HTTPS.

Kept apart from the kopf handlers so that `nks-operator --help` does not import them, and
so that the operator without `--webhook-port` never starts a server or touches a
ValidatingWebhookConfiguration. docs/webhook.md explains the two certificate sources.

With a self-signed certificate the apiserver must be given its CA: `--webhook-inject-ca`
writes it into the `caBundle` of every webhook of one existing configuration (the Helm
chart renders it whole), so the operator needs only get and patch on that one object, and
never creates one. `--webhook-manage-config` (local development) lets kopf create and fill
a configuration instead.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ipaddress
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf

from nks_operator.kube.client import KubeAPIError, KubeClient, KubeNotFound

logger = logging.getLogger(__name__)

# Where the cert-manager Secret (or any kubernetes.io/tls Secret) is mounted.
CERT_FILE, KEY_FILE, CA_FILE = "tls.crt", "tls.key", "ca.crt"
# The self-signed certificate is remade at every start; it never outlives the process's
# key, so a long validity only avoids an expiry in a very long-running pod.
SELF_SIGNED_DAYS = 3650
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ADMISSION_API = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
# How often an injected CA bundle is checked: a configuration replaced whole (`helm upgrade
# --force`, `kubectl replace`, an Argo CD Replace sync) loses it, and every admission
# request then fails TLS until it is back.
INJECT_CHECK_SECONDS = 60.0


@dataclass(frozen=True)
class ServiceRef:
    """A Service in front of the webhook: `namespace/name[:port]`."""

    namespace: str
    name: str
    port: int = 443

    @property
    def dns_names(self) -> list[str]:
        """The names the apiserver verifies the certificate against."""
        base = f"{self.name}.{self.namespace}.svc"
        return [base, f"{base}.cluster.local"]


@dataclass(frozen=True)
class WebhookOptions:
    port: int
    cert_dir: Path | None = None
    host: str | None = None
    managed_config: str | None = None
    inject_ca_config: str | None = None
    service: ServiceRef | None = None
    ignore_failures: bool = False


def _service_ref(text: str) -> ServiceRef:
    match = re.fullmatch(r"([^/:]+)/([^/:]+)(?::(\d+))?", text)
    if not match or not all(_DNS_LABEL.match(part) for part in match.group(1, 2)):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAMESPACE/NAME[:PORT]")
    port = int(match.group(3) or 443)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range")
    return ServiceRef(match.group(1), match.group(2), port)


def _config_name(text: str) -> str:
    # kopf names each webhook `<handler id>.<NAME>`, and Kubernetes wants a webhook name of
    # at least three dot-separated parts: NAME itself needs a dot.
    if "." not in text or not all(_DNS_LABEL.match(part) for part in text.split(".")):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a DNS name with at least one dot, e.g. nks-operator.nks.nhncloud.com "
            "(kopf names the webhooks <id>.<NAME>, and Kubernetes needs three dot-separated parts)"
        )
    return text


def _object_name(text: str) -> str:
    if len(text) > 253 or not all(_DNS_LABEL.match(part) for part in text.split(".")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Kubernetes object name")
    return text


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range")
    return port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `--webhook-*` options of `nks-operator run`."""
    group = parser.add_argument_group(
        "validating admission webhook (optional)",
        "Refuse invalid specs and changes of immutable fields at `kubectl apply` time, with "
        "the operator's own messages. Off unless --webhook-port is given. See docs/webhook.md.",
    )
    group.add_argument(
        "--webhook-port",
        type=_port,
        metavar="PORT",
        help="serve the webhook over HTTPS on 0.0.0.0:PORT",
    )
    group.add_argument(
        "--webhook-cert-dir",
        type=Path,
        metavar="DIR",
        help=f"folder with {CERT_FILE} and {KEY_FILE} (and optionally {CA_FILE}), e.g. a "
        "mounted cert-manager Secret; re-read when they change. Absent: a self-signed "
        "certificate is made at start (needs the openssl command)",
    )
    group.add_argument(
        "--webhook-host",
        metavar="HOST",
        help="host name or IP address the apiserver uses to reach the webhook: put in the "
        "webhook URL of a managed configuration and in the self-signed certificate",
    )
    group.add_argument(
        "--webhook-service",
        type=_service_ref,
        metavar="NAMESPACE/NAME[:PORT]",
        help="a managed configuration points at this Service instead of a URL (in a "
        "cluster); its DNS names go into the self-signed certificate",
    )
    group.add_argument(
        "--webhook-manage-config",
        type=_config_name,
        metavar="NAME",
        help="create and keep the ValidatingWebhookConfiguration NAME up to date (kopf "
        "does it, with the current CA bundle; needs create and patch on "
        "validatingwebhookconfigurations): for local development. Without it, the "
        "configuration is expected to exist (e.g. from the Helm chart)",
    )
    group.add_argument(
        "--webhook-inject-ca",
        type=_object_name,
        metavar="NAME",
        help="write the self-signed certificate into the caBundle of every webhook of the "
        "existing ValidatingWebhookConfiguration NAME at start, and put it back if it goes "
        "(needs get and patch on that one configuration; the operator exits if it does not "
        "exist)",
    )
    group.add_argument(
        "--webhook-failure-policy",
        choices=["Fail", "Ignore"],
        default="Fail",
        help="failurePolicy of a managed configuration (default %(default)s)",
    )


def options_from_args(args: argparse.Namespace) -> WebhookOptions | None:
    """The webhook options, or None when the webhook is off (no --webhook-port)."""
    if args.webhook_port is None:
        given = [
            flag
            for flag, value in (
                ("--webhook-cert-dir", args.webhook_cert_dir),
                ("--webhook-host", args.webhook_host),
                ("--webhook-service", args.webhook_service),
                ("--webhook-manage-config", args.webhook_manage_config),
                ("--webhook-inject-ca", args.webhook_inject_ca),
            )
            if value is not None
        ]
        if given:
            raise SystemExit(f"nks-operator run: {', '.join(given)} needs --webhook-port")
        return None
    if args.webhook_inject_ca is not None:
        # Either would also write the CA bundle: cert-manager's CA injector (with a
        # certificate folder), or kopf.
        for flag, value in (
            ("--webhook-cert-dir", args.webhook_cert_dir),
            ("--webhook-manage-config", args.webhook_manage_config),
        ):
            if value is not None:
                raise SystemExit(
                    f"nks-operator run: --webhook-inject-ca injects the self-signed "
                    f"certificate; it cannot go with {flag}"
                )
    if args.webhook_cert_dir is not None:
        for name in (CERT_FILE, KEY_FILE):
            if not (args.webhook_cert_dir / name).is_file():
                raise SystemExit(f"nks-operator run: {args.webhook_cert_dir / name} is missing")
    return WebhookOptions(
        port=args.webhook_port,
        cert_dir=args.webhook_cert_dir,
        host=args.webhook_host,
        managed_config=args.webhook_manage_config,
        inject_ca_config=args.webhook_inject_ca,
        service=args.webhook_service,
        ignore_failures=args.webhook_failure_policy == "Ignore",
    )


def self_signed_certificate(hostnames: Sequence[str], folder: Path) -> tuple[Path, Path]:
    """(certificate, key) files for `hostnames`, made by the openssl command.

    The certificate is its own CA (the apiserver gets it as the caBundle). kopf can do
    this too, but only with the optional certbuilder/oscrypto packages; openssl is in
    every Debian-based image (ca-certificates depends on it).
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError(
            "a self-signed webhook certificate needs the openssl command; install it or "
            "pass --webhook-cert-dir"
        )
    names = list(dict.fromkeys(hostnames))
    ips = {name for name in names if _is_ip(name)}
    sans = [f"IP:{name}" if name in ips else f"DNS:{name}" for name in names]
    common_name = next((name for name in names if name not in ips), names[0])
    config = folder / "openssl.cnf"
    config.write_text(
        "[req]\n"
        "distinguished_name = dn\n"
        "x509_extensions = ext\n"
        "prompt = no\n"
        "[dn]\n"
        f"CN = {common_name}\n"
        "[ext]\n"
        "basicConstraints = critical, CA:TRUE\n"
        "keyUsage = critical, digitalSignature, keyCertSign\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        f"subjectAltName = {', '.join(sans)}\n"
    )
    cert, key = folder / CERT_FILE, folder / KEY_FILE
    old_umask = os.umask(0o077)
    try:
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-nodes",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-days",
                str(SELF_SIGNED_DAYS),
                "-config",
                str(config),
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"openssl failed: {error.stderr.decode(errors='replace')}") from None
    finally:
        os.umask(old_umask)
    return cert, key


class ServiceWebhookServer(kopf.WebhookServer):
    """kopf's server, advertising a Service reference instead of a URL.

    In a cluster the apiserver reaches the pod through the Service; it usually cannot
    resolve cluster DNS names written in a URL.
    """

    def __init__(self, *, service: ServiceRef, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service

    async def __call__(self, fn: kopf.WebhookFn) -> AsyncIterator[kopf.WebhookClientConfig]:
        async for config in super().__call__(fn):
            client_config = kopf.WebhookClientConfig(
                service=kopf.WebhookClientConfigService(
                    namespace=self.service.namespace,
                    name=self.service.name,
                    port=self.service.port,
                )
            )
            if config.get("caBundle"):
                client_config["caBundle"] = config["caBundle"]
            yield client_config


def build_server(options: WebhookOptions) -> kopf.WebhookServer:
    """The kopf webhook server for `options`, with its certificate ready."""
    cafile: Path | None = None
    if options.cert_dir is not None:
        cert, key = options.cert_dir / CERT_FILE, options.cert_dir / KEY_FILE
        if (options.cert_dir / CA_FILE).is_file():
            cafile = options.cert_dir / CA_FILE
    else:
        hostnames = [
            *([options.host] if options.host else []),
            *(options.service.dns_names if options.service else []),
            "localhost",
            "127.0.0.1",
        ]
        folder = Path(tempfile.mkdtemp(prefix="nks-webhook-"))
        cert, key = self_signed_certificate(hostnames, folder)
    common: dict[str, Any] = {
        "addr": "0.0.0.0",
        "port": options.port,
        "host": options.host,
        "certfile": cert,
        "pkeyfile": key,
        "cafile": cafile,
    }
    if options.service is not None:
        return ServiceWebhookServer(service=options.service, **common)
    return kopf.WebhookServer(**common)


class InjectionRefused(Exception):
    """The configuration is missing, has no webhooks, or may not be read or patched: no
    retry fixes that, the installation does."""


class CABundleInjector:
    """Keeps a CA in the `caBundle` of every webhook of one ValidatingWebhookConfiguration.

    Only the CA bundle is written (a strategic merge patch keyed by webhook name, on the
    condition that the configuration is still as read): rules, Service, paths and policies
    stay whatever the configuration's owner - the Helm chart - says.
    """

    def __init__(self, client: KubeClient, name: str, ca: bytes) -> None:
        self.client = client
        self.name = name
        self.ca_bundle = base64.b64encode(ca).decode("ascii")

    def _refused(self, error: KubeAPIError, verb: str) -> InjectionRefused:
        return InjectionRefused(
            f"cannot {verb} ValidatingWebhookConfiguration {self.name} ({error}); the "
            "operator needs get and patch on it (RBAC resourceNames)"
        )

    async def inject(self) -> bool:
        """Write the CA bundle where it is missing or different; True when it wrote.

        Raises InjectionRefused, or a KubeAPIError a retry may fix (a 409 when the
        configuration changed in between, or the apiserver unavailable)."""
        path = f"{ADMISSION_API}/{self.name}"
        try:
            config = await self.client.request("GET", path)
        except KubeNotFound:
            raise InjectionRefused(
                f"ValidatingWebhookConfiguration {self.name} does not exist: the operator "
                "only writes its CA bundle into it and never creates one. Install it first "
                "(the Helm chart renders it), or drop --webhook-inject-ca"
            ) from None
        except KubeAPIError as error:
            if error.status in (401, 403):
                raise self._refused(error, "read") from None
            raise
        if not config.get("webhooks"):
            raise InjectionRefused(
                f"ValidatingWebhookConfiguration {self.name} has no webhooks to give the CA "
                "bundle to"
            )
        stale = [
            hook["name"]
            for hook in config["webhooks"]
            if (hook.get("clientConfig") or {}).get("caBundle") != self.ca_bundle
        ]
        if not stale:
            return False
        patch = {
            "metadata": {"resourceVersion": config["metadata"]["resourceVersion"]},
            "webhooks": [
                {"name": name, "clientConfig": {"caBundle": self.ca_bundle}} for name in stale
            ],
        }
        try:
            await self.client.request("PATCH", path, body=patch, content_type=STRATEGIC_MERGE_PATCH)
        except KubeAPIError as error:
            if error.status in (401, 403):
                raise self._refused(error, "patch") from None
            raise
        logger.info(
            "CA bundle written into ValidatingWebhookConfiguration %s (%s)",
            self.name,
            ", ".join(stale),
        )
        return True

    async def keep(self, interval: float = INJECT_CHECK_SECONDS) -> None:
        """Check every `interval` seconds, and write the CA bundle again if it went; until
        cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                if await self.inject():
                    logger.warning(
                        "The CA bundle had gone from ValidatingWebhookConfiguration %s (was "
                        "it replaced?): written again",
                        self.name,
                    )
            except (InjectionRefused, KubeAPIError) as error:
                logger.error("Cannot check the webhook CA bundle: %s", error)
