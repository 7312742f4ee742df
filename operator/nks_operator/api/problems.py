"""Spec problems as people read them: `spec.<path>: <what is wrong>`.

Shared by the operator's conditions and the admission webhook, so both say the same.
"""

from __future__ import annotations

from pydantic import ValidationError


def format_validation_error(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        problems.append(f"spec.{location}: {item['msg']}")
    return problems
