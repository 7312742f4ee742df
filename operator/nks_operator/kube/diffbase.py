"""kopf's last-handled-configuration, stored as a digest instead of a copy of the spec.

kopf keeps the "essence" of an object (spec, labels, annotations) in an annotation to tell
creations and updates apart. A spec within the schema's limits (a 64 KiB user script of
4-byte characters, long node lists) can exceed the 256 KiB all annotations may hold, and
kopf would then fail to patch the object on every event. This operator has no
create/update handlers that read the diff (its daemons compare spec and NKS themselves),
so a digest of the essence tells kopf all it needs: whether anything changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, cast

import kopf


class DigestDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """An AnnotationsDiffBaseStorage whose essence is `{"sha256": <digest of the essence>}`."""

    def build(
        self,
        *,
        body: kopf.Body,
        extra_fields: Iterable[Any] | None = None,
    ) -> kopf.BodyEssence:
        essence = super().build(body=body, extra_fields=extra_fields)
        encoded = json.dumps(essence, sort_keys=True, separators=(",", ":"), default=str)
        return cast(kopf.BodyEssence, {"sha256": hashlib.sha256(encoded.encode()).hexdigest()})
