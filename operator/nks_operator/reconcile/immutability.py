"""Immutability rules that hold against what the resource already manages, each written
once: the admission webhook (reconcile/admission.py) refuses the change and the
reconciler (control/) refuses to act on a spec that got past it (webhook off, or a spec
written before the resource held its NKS id)."""

from __future__ import annotations

CLUSTER_ID = "spec.clusterID"
NODE_GROUP_ID = "spec.nodeGroupID"


def managed_id_changed(field: str, managed: str | None, asked: str | None) -> str | None:
    """A resource keeps the NKS id it manages: `asked` (the spec's `field`) may only name
    it. None: allowed."""
    if managed and asked and asked != managed:
        return f"{field} is immutable: this resource manages {managed}, the spec asks for {asked}"
    return None


def region_changed(region: str | None, asked: str) -> str | None:
    """A cluster stays in the region it was created in (`region`: where it is, None before
    it is known)."""
    if region and asked.lower() != region.lower():
        return f"spec.region is immutable: the cluster is in {region}, the spec asks for {asked}"
    return None
