"""The base model and the field types that absorb NKS's wire quirks.

NKS sends and expects values in several shapes for the same meaning (Magnum stores
labels as strings): booleans as `true`, `"True"`, `"true"`; numbers as `10` or `"10"`;
lists as colon- or comma-joined strings; nullable objects and lists. Each type below
reads every shape leniently and writes the one shape the guide documents, so response
models stay usable when NKS drifts and request models produce the exact wire JSON.

Unreadable values in optional fields (the `Opt*` types) become None instead of failing
the whole response: one odd label must not hide a cluster from the operator. Required
fields use the strict forms, so a request model rejects what it cannot send.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    SecretStr,
    ValidationError,
)

_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})


class NKSModel(BaseModel):
    """Accepts unknown fields (NKS adds internal ones) and keeps them for round trips."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The request JSON: wire names and shapes, unset optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def describe_validation_error(error: ValidationError, limit: int = 5) -> str:
    """Which fields were wrong and why - without the input values, which may be secret."""
    problems = [
        f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
        for e in error.errors(include_input=False, include_url=False)
    ]
    more = f" (+{len(problems) - limit} more)" if len(problems) > limit else ""
    return "; ".join(problems[:limit]) + more


class _Unknown:
    """Marks a value a lenient parser could not read."""


_UNKNOWN = _Unknown()


def _parse_bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if not text:
            return None
    return _UNKNOWN


def _parse_int(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else _UNKNOWN
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return _UNKNOWN
        return int(number) if number.is_integer() else _UNKNOWN
    return _UNKNOWN


def _parse_datetime(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return _UNKNOWN
    if isinstance(value, datetime):
        # NKS times are UTC even when the offset is missing.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return _UNKNOWN


def _strict(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """For required fields: an unreadable value is left for pydantic to reject."""

    def validate(value: Any) -> Any:
        result = parse(value)
        return value if result is _UNKNOWN else result

    return validate


def _lenient(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """For optional fields: an unreadable value becomes None."""

    def validate(value: Any) -> Any:
        result = parse(value)
        return None if result is _UNKNOWN else result

    return validate


def _split(separator: str) -> Any:
    def split(value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [part.strip() for part in value.split(separator) if part.strip()]
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        return value

    return split


def _json_if_text(value: Any) -> Any:
    """Decode a list/object that came JSON-encoded inside a string label."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _none_as_empty_list(value: Any) -> Any:
    return [] if value is None else value


def _none_as_empty_dict(value: Any) -> Any:
    return {} if value is None else value


def _bool_label(value: bool) -> str:
    return "True" if value else "False"


def _reveal(value: SecretStr) -> str:
    return value.get_secret_value()


_BOOL_LABEL = PlainSerializer(_bool_label, return_type=str, when_used="json-unless-none")
_INT_LABEL = PlainSerializer(str, return_type=str, when_used="json-unless-none")

# A boolean sent as a label string: reads true/"True"/"true"/1, writes "True"/"False".
LabelBool = Annotated[bool, BeforeValidator(_strict(_parse_bool)), _BOOL_LABEL]
OptLabelBool = Annotated[bool | None, BeforeValidator(_lenient(_parse_bool)), _BOOL_LABEL]
# A number sent as a label string: reads 10/"10", writes "10".
LabelInt = Annotated[int, BeforeValidator(_strict(_parse_int)), _INT_LABEL]
OptLabelInt = Annotated[int | None, BeforeValidator(_lenient(_parse_int)), _INT_LABEL]
# A boolean / number read leniently and written as a JSON bool / number.
LooseBool = Annotated[bool, BeforeValidator(_strict(_parse_bool))]
OptLooseBool = Annotated[bool | None, BeforeValidator(_lenient(_parse_bool))]
LooseInt = Annotated[int, BeforeValidator(_strict(_parse_int))]
OptLooseInt = Annotated[int | None, BeforeValidator(_lenient(_parse_int))]
# Lists NKS joins into one string.
ColonList = Annotated[
    list[str],
    BeforeValidator(_split(":")),
    PlainSerializer(":".join, return_type=str, when_used="json-unless-none"),
]
CommaList = Annotated[
    list[str],
    BeforeValidator(_split(",")),
    PlainSerializer(",".join, return_type=str, when_used="json-unless-none"),
]
# Timestamps: ISO 8601 with or without offset (UTC assumed); unreadable -> None.
OptTimestamp = Annotated[datetime | None, BeforeValidator(_lenient(_parse_datetime))]
# A secret that must reach the wire but never a repr or log (e.g. a volume appkey).
WireSecret = Annotated[
    SecretStr, PlainSerializer(_reveal, return_type=str, when_used="json-unless-none")
]
# Nullable collections read as empty ones.
AddressList = Annotated[list[str], BeforeValidator(_none_as_empty_list)]
JsonText = BeforeValidator(_json_if_text)
NullAsEmptyList = BeforeValidator(_none_as_empty_list)
NoneAsEmptyDict = BeforeValidator(_none_as_empty_dict)
