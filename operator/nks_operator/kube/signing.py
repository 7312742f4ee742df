"""The operator's signing key: proof that a record on a resource was written by the operator.

The create intent (the `create-requested` annotation) makes the operator adopt a cluster by
name after a lost create answer. Anyone who may edit the resource may write an annotation,
so the operator signs its own with an HMAC over the resource's UID and the intent, and acts
only on an intent whose signature checks. The key is a random secret in a Secret of the
operator's namespace, made by the first operator that needs it and shared by every replica
and shard; losing it only makes in-flight intents unreadable (the resource then reports
the name in use instead of adopting it).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

from nks_operator.kube.api import KubeAPI
from nks_operator.kube.client import KubeConflict

KEY_FIELD = "key"
KEY_BYTES = 32


class SigningKey:
    """Loaded from (or written to) the Secret `name` in `namespace` on first use."""

    def __init__(self, kube: KubeAPI, namespace: str, name: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self._key: bytes | None = None
        self._lock = asyncio.Lock()

    async def key(self) -> bytes:
        async with self._lock:
            if self._key is None:
                self._key = await self._load()
            return self._key

    async def _load(self) -> bytes:
        for _ in range(2):
            secret = await self.kube.read_secret(self.namespace, self.name)
            if secret is not None:
                raw = (secret.get("data") or {}).get(KEY_FIELD, "")
                key = base64.b64decode(raw) if raw else b""
                if len(key) >= 16:
                    return key
                raise RuntimeError(
                    f"Secret {self.namespace}/{self.name} holds no usable signing key; delete "
                    "it and the operator makes a new one"
                )
            body = {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": {
                    "name": self.name,
                    "namespace": self.namespace,
                    "labels": {"app.kubernetes.io/managed-by": "nks-operator"},
                },
                "data": {KEY_FIELD: base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()},
            }
            try:
                await self.kube.write_secret(self.namespace, body, None)
            except KubeConflict:
                continue  # another replica made it first: read theirs
        raise RuntimeError(f"cannot read or create the signing key {self.namespace}/{self.name}")

    async def sign(self, *parts: str) -> str:
        message = "\n".join(parts).encode()
        return hmac.new(await self.key(), message, hashlib.sha256).hexdigest()

    async def verify(self, signature: str | None, *parts: str) -> bool:
        if not signature:
            return False
        return hmac.compare_digest(signature, await self.sign(*parts))
