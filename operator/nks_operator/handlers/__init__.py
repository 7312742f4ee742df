"""Thin kopf glue: importing this package registers every handler with kopf."""

from nks_operator.handlers import lifecycle, watch

__all__ = ["lifecycle", "watch"]
