"""The committed crds/ and docs/reference.md are exactly what the models generate."""

from __future__ import annotations

import pytest

from nks_operator.api.command import REGENERATE
from nks_operator.api.crd import HEADER, crd_files
from nks_operator.api.reference import REFERENCE_PATH, render_reference
from tests.api.helpers import REPO_ROOT

CRDS = REPO_ROOT / "crds"
STALE = (
    "is out of date with the models in nks_operator.api; "
    f"run `{REGENERATE}` from the repository root"
)


@pytest.mark.parametrize("name", sorted(crd_files()))
def test_crd_file_is_up_to_date(name: str) -> None:
    path = CRDS / name
    assert path.is_file(), f"crds/{name} is missing; run `{REGENERATE}` from the repository root"
    assert path.read_text(encoding="utf-8") == crd_files()[name], f"crds/{name} {STALE}"


def test_crds_folder_holds_only_generated_files() -> None:
    extra = sorted(p.name for p in CRDS.iterdir() if p.name not in crd_files())
    assert not extra, f"crds/ holds files no model generates: {extra}"


def test_generated_files_say_so() -> None:
    for text in crd_files().values():
        assert text.startswith(HEADER)
    assert "do not edit" in render_reference().splitlines()[0]


def test_reference_is_up_to_date() -> None:
    path = REPO_ROOT / REFERENCE_PATH
    assert path.is_file(), f"{REFERENCE_PATH} is missing; run `{REGENERATE}`"
    assert path.read_text(encoding="utf-8") == render_reference(), f"{REFERENCE_PATH} {STALE}"
