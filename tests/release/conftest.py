"""The chart tests' helm fixtures, shared."""

from tests.helm.conftest import helm, helm_tools

__all__ = ["helm", "helm_tools"]
