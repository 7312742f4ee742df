"""Every reason the operator writes is documented (docs/status.md) and fits Kubernetes'
condition reason pattern; the Argo CD scripts' Degraded table is checked in tests/argocd."""

from __future__ import annotations

import re
from pathlib import Path

from nks_operator.api.status import Condition
from nks_operator.reconcile.reasons import CREDENTIALS_PROBLEMS, NEEDS_ATTENTION, Reason

DOC = Path(__file__).resolve().parents[2] / "docs" / "status.md"
REASON_PATTERN = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")


def test_every_reason_is_documented_and_nothing_else() -> None:
    documented = set(re.findall(r"`([A-Z][A-Za-z]+)`", DOC.read_text()))
    phases = {"Pending", "Provisioning", "Ready", "Updating", "Upgrading", "Deleting", "Failed"}
    conditions = {"Ready", "Synced", "Progressing", "Paused"}
    reasons = {str(r) for r in Reason}
    assert reasons <= documented, sorted(reasons - documented)
    assert documented - reasons <= phases | conditions, sorted(documented - reasons)


def test_reasons_fit_the_condition_schema() -> None:
    for reason in Reason:
        assert REASON_PATTERN.match(reason), reason
        Condition(
            type="Ready", status="False", reason=reason, lastTransitionTime="2026-01-01T00:00:00Z"
        )


def test_classes_are_reasons() -> None:
    assert CREDENTIALS_PROBLEMS <= NEEDS_ATTENTION
