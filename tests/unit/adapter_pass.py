"""A pass over one resource for an adapter's own tests: the reconciler's test harness
supplies the operator around it (a fake apiserver, a signing key, claims)."""

from __future__ import annotations

from typing import Any

from nks_operator.control.adapter import Adapter
from nks_operator.control.passes import Pass
from nks_operator.runtime.cache import ObjectKey
from tests.unit.test_reconciler import Harness


def new_pass(
    adapter: Adapter[Any, Any, Any],
    spec: dict[str, Any],
    status: dict[str, Any] | None = None,
    *,
    name: str = "demo",
    annotations: dict[str, str] | None = None,
    harness: Harness | None = None,
) -> Pass[Any, Any, Any]:
    """A pass as the reconciler starts one, with the spec validated."""
    h = harness or Harness()
    kind = adapter.facts.resource.kind
    body: dict[str, Any] = {
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"uid-{name}",
            "generation": 3,
            "annotations": annotations or {},
        },
        "spec": spec,
        "status": status or {},
    }
    key = ObjectKey(kind, "ns", name)
    p = Pass(h.ctx, adapter, key, body, h.ctx.memories.of(key))
    p.spec = adapter.facts.spec_model.model_validate(spec)
    return p
