"""The one error of the import command: a message for the user and a non-zero exit."""

from __future__ import annotations


class ImportFailed(Exception):
    """Something the user must fix; `str()` is the whole message (never a secret)."""
