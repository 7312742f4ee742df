"""kopf's diff base is off (handlers/diffbase.py): only safe while no kopf handler reads it."""

from __future__ import annotations

import copy

import kopf
from kopf._cogs.structs import diffs

import nks_operator.handlers  # noqa: F401  (registers the handlers, as `run` does)
from nks_operator.handlers import admission
from nks_operator.handlers.diffbase import NoDiffBase
from nks_operator.webhook import WebhookOptions

BODY = {
    "apiVersion": "nks.nhncloud.com/v1alpha1",
    "kind": "NKSCluster",
    "metadata": {"name": "c1", "namespace": "t", "annotations": {"a": "b"}},
    "spec": {"clusterTemplateID": "x", "nodeCount": 1},
    "status": {"phase": "Ready", "conditions": [{"type": "Ready", "status": "True"}]},
}


def test_no_registered_handler_reads_the_diff_base() -> None:
    """Change-detecting handlers (on.create/update/resume/delete/field) and spawning ones
    (daemons, timers) compare kopf's diff base; with `NoDiffBase` they would never fire."""
    operator = kopf.get_default_registry()
    assert operator._watching.get_all_handlers()  # the operator's on.event handlers
    webhooks = kopf.OperatorRegistry()  # what --webhook-port adds (to the default one)
    admission.register(WebhookOptions(port=0), webhooks)
    assert webhooks._webhooks.get_all_handlers()
    for registry in (operator, webhooks):
        assert list(registry._changing.get_all_handlers()) == []
        assert list(registry._spawning.get_all_handlers()) == []


def test_the_diff_is_empty_and_the_object_untouched() -> None:
    storage = NoDiffBase()
    body = kopf.Body(copy.deepcopy(BODY))  # type: ignore[arg-type]
    old, new = storage.fetch(body=body), storage.build(body=body, extra_fields=["status.phase"])
    assert diffs.diff(old, new) == diffs.EMPTY
    patch = kopf.Patch()
    storage.store(body=body, patch=patch, essence=new)
    assert not patch
    assert dict(body) == BODY
