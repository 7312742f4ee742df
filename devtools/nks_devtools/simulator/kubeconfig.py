"""A cluster's kubeconfig, shaped like NKS's, with base64 PEM blocks for the CA, the client
certificate and key.

The material is derived from (cluster UUID, certificate generation), so it is stable
between calls and different after every certificate renewal - what an operator that keeps
a kubeconfig Secret current must notice. It is not a working TLS identity.
"""

from __future__ import annotations

import base64
import hashlib
import textwrap

from nks_devtools.simulator.state import Cluster


def _pseudo_random(seed: str, size: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return out[:size]


def _pem(kind: str, seed: str, size: int) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(_pseudo_random(seed, size)).decode(), 64))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def render(cluster: Cluster) -> str:
    seed = f"{cluster.uuid}:{cluster.certificate_generation}"
    ca = _b64(_pem("CERTIFICATE", seed + ":ca", 780))
    cert = _b64(_pem("CERTIFICATE", seed + ":client", 820))
    key = _b64(_pem("RSA PRIVATE KEY", seed + ":key", 1190))
    return (
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        f"    certificate-authority-data: {ca}\n"
        f"    server: {cluster.api_address}\n"
        f'  name: "{cluster.name}"\n'
        "contexts:\n"
        "- context:\n"
        f'    cluster: "{cluster.name}"\n'
        "    user: admin\n"
        "  name: default\n"
        "current-context: default\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        "- name: admin\n"
        "  user:\n"
        f"    client-certificate-data: {cert}\n"
        f"    client-key-data: {key}\n"
    )
