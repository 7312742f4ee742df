"""Thin kopf glue: importing this package registers every handler with kopf."""

from nks_operator.handlers import cluster, lifecycle, nodegroup, secrets

__all__ = ["cluster", "lifecycle", "nodegroup", "secrets"]
