"""Helm 3 reads the chart exactly as Helm 4 does: same lint, same output, same refusals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helm.helpers import CHART, Helm, HelmError
from tests.helm.test_kubernetes_validate import VALUES
from tests.helm.test_schema import ACCEPTED, REJECTED


def test_helm3_is_helm_3(helm3: Helm) -> None:
    assert helm3("version", "--short").startswith("v3.")


def test_lint(helm3: Helm) -> None:
    assert "0 chart(s) failed" in helm3("lint", str(CHART), "--strict")


CASES: dict[str, dict[str, Any]] = {
    **{f"validate: {k}": v for k, v in VALUES.items()},
    **{f"accepted: {k}": v for k, v in ACCEPTED.items()},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_output_as_helm4(helm: Helm, helm3: Helm, case: str) -> None:
    values = CASES[case]
    assert helm3.template(values, "--include-crds") == helm.template(values, "--include-crds")


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_same_refusals_as_helm4(helm3: Helm, case: str) -> None:
    with pytest.raises(HelmError) as caught:
        helm3.template(REJECTED[case][0])
    assert "values don't meet the specifications of the schema" in caught.value.stderr
