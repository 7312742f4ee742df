"""The digest diff base: small whatever the spec's size, and different on every change."""

from __future__ import annotations

import kopf

from nks_operator.kube.diffbase import DigestDiffBaseStorage


def _body(spec: dict[str, object], labels: dict[str, str] | None = None) -> kopf.Body:
    return kopf.Body(
        {
            "apiVersion": "nks.nhncloud.com/v1alpha1",
            "kind": "NKSCluster",
            "metadata": {"name": "c", "namespace": "n", "labels": labels or {}},
            "spec": spec,
            "status": {"phase": "Ready"},
        }
    )


def test_essence_is_a_small_digest_of_a_huge_spec() -> None:
    storage = DigestDiffBaseStorage(prefix="nks.nhncloud.com")
    huge = {"defaultWorker": {"userScript": "\U0001f525" * 65000}}
    patch = kopf.Patch()
    body = _body(huge)
    storage.store(body=body, patch=patch, essence=storage.build(body=body))
    stored = patch["metadata"]["annotations"]["nks.nhncloud.com/last-handled-configuration"]
    assert len(stored) < 100


def test_digest_follows_spec_and_labels_but_not_status() -> None:
    storage = DigestDiffBaseStorage(prefix="nks.nhncloud.com")
    base = storage.build(body=_body({"nodeCount": 1}))
    assert storage.build(body=_body({"nodeCount": 1})) == base
    assert storage.build(body=_body({"nodeCount": 2})) != base
    assert storage.build(body=_body({"nodeCount": 1}, {"team": "a"})) != base
    changed_status = _body({"nodeCount": 1})
    changed_status["status"]["phase"] = "Failed"  # type: ignore[index]
    assert storage.build(body=changed_status) == base
