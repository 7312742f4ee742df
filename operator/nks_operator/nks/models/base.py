"""The base model and the field types that absorb NKS's wire quirks.

NKS sends and expects values in several shapes for the same meaning (Magnum stores
labels as strings): booleans as `true`, `"True"`, `"true"`; numbers as `10` or `"10"`;
lists as colon- or comma-joined strings; nullable objects and lists. Each type below
reads every shape leniently and writes the one shape the guide documents, so response
models stay usable when NKS drifts and request models produce the exact wire JSON.

Answer models (`NKSAnswer`) absorb unreadable values: the odd field becomes unknown
(None) and is recorded in `unreadable`, so one odd label never hides a cluster from the
operator. Request models reject what they cannot send. See docs/nks-api-notes.md,
"Answers".
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Self, cast, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ModelWrapValidatorHandler,
    PlainSerializer,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})


class NKSModel(BaseModel):
    """A request (or a part of an answer) that keeps unknown fields: a request sends what it
    is given. Answers (`NKSAnswer`) drop them."""

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


def _location(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def _refuse(self: object, *args: object) -> None:
    raise TypeError("an NKS answer is read-only: use model_copy(update=...)")


class _SharedFieldsSet(set[str]):
    """pydantic's per-instance record of the fields an answer set, one object for every
    answer with the same fields: a set of 50 label names costs about 2 KiB, and the
    poller holds thousands of answers (nested label models each carry their own), so
    sharing halves what an answer costs (BENCHMARKS.md, issue 21). Answers are read,
    never assigned to: an assignment, which would add to the set, is refused. A copy
    (`model_copy`, which may update it) gets a set of its own."""

    def __copy__(self) -> set[str]:
        return set(self)

    add = discard = remove = update = clear = pop = _refuse  # type: ignore[assignment]
    difference_update = intersection_update = symmetric_difference_update = _refuse
    __ior__ = __iand__ = __isub__ = __ixor__ = _refuse  # type: ignore[assignment]


class _SharedPrivate(dict[str, Any]):
    """pydantic's per-instance dict of private attributes, one read-only object for every
    answer that read cleanly (about 250 bytes per model otherwise; an answer is four or
    five models). A copy is a plain dict of its own."""

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return dict(self)

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    setdefault = update = clear = pop = popitem = _refuse  # type: ignore[assignment]


_READ_CLEANLY = _SharedPrivate({"_unreadable": _SharedPrivate()})


# Only what some answer holds stays: an entry goes with the last answer using it.
_FIELDS_SETS: weakref.WeakValueDictionary[frozenset[str], _SharedFieldsSet] = (
    weakref.WeakValueDictionary()
)


def _share_records(model: BaseModel, *, read_cleanly: bool) -> None:
    """Give `model` the shared records of an answer of its shape: its set fields, and its
    private attributes when nothing in it was unreadable (see above)."""
    if read_cleanly:
        object.__setattr__(model, "__pydantic_private__", _READ_CLEANLY)
    own = model.__pydantic_fields_set__
    key = frozenset(own)
    shared = _FIELDS_SETS.get(key)
    if shared is None:
        shared = _FIELDS_SETS[key] = _SharedFieldsSet(own)
    object.__setattr__(model, "__pydantic_fields_set__", shared)


class NKSAnswer(NKSModel):
    """A model of an NKS answer: an unreadable value makes its field unknown, not the object.

    A field whose value cannot be read is validated as if it were absent and then set to
    None when its type admits None (else it keeps its default, e.g. empty labels). What was
    wrong is kept in `unreadable` - field path -> problem, never the value, which may be a
    secret. Required fields stay required: without them the object is unusable.

    An answer keeps the fields its model declares, which are those the operator reads:
    anything else NKS sends (links, internal labels) is dropped as it is read, not held
    for as long as the poller holds the answer.

    An answer is read-only (it shares its records of set fields and private attributes
    with answers of the same shape): a changed one is a `model_copy(update=...)`.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    _absorbs: ClassVar[bool] = True  # request models built on answer models turn it off
    _unreadable: Mapping[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _absorb_unreadable(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        if not cls._absorbs or not isinstance(data, Mapping):
            return handler(data)
        absorbed: dict[str, tuple[str, str]] = {}  # wire key -> (field name, problem)
        remaining = data  # copied only when a value is dropped (most answers read cleanly)
        while True:
            try:
                model = handler(remaining)
            except ValidationError as exc:
                problems = cls._field_problems(exc)
                if problems is None or not set(problems) - set(absorbed):
                    raise
                remaining = {k: v for k, v in remaining.items() if k not in problems}
                for key, problem in problems.items():
                    absorbed.setdefault(key, problem)
                continue
            break
        for field, _ in absorbed.values():
            if _admits_none(cls.model_fields[field].annotation):
                setattr(model, field, None)
        if absorbed:
            model._unreadable = {key: problem for key, (_, problem) in absorbed.items()}
        _share_records(model, read_cleanly=not absorbed)
        return model

    @classmethod
    def empty(cls) -> Self:
        """The answer with nothing set (a default, e.g. a list entry's labels): one shared
        object per class, as answers are read-only."""
        empty = _EMPTY_ANSWERS.get(cls)
        if empty is None:
            empty = _EMPTY_ANSWERS[cls] = cls.model_validate({})
        return cast(Self, empty)

    @classmethod
    def _field_problems(cls, error: ValidationError) -> dict[str, tuple[str, str]] | None:
        """Wire key -> (field, problem) for each failing field; None if one is required."""
        by_key = {
            alias: name
            for name, info in cls.model_fields.items()
            for alias in (name, info.alias, info.validation_alias)
            if isinstance(alias, str)
        }
        problems: dict[str, tuple[str, str]] = {}
        for item in error.errors(include_input=False, include_url=False):
            loc = item["loc"]
            key = loc[0] if loc else None
            field = by_key.get(key) if isinstance(key, str) else None
            if field is None or cls.model_fields[field].is_required():
                return None
            where = _location(loc[1:]).lstrip(".")
            problem = f"{where}: {item['msg']}" if where else str(item["msg"])
            problems.setdefault(str(key), (field, problem))
        return problems

    @property
    def unreadable(self) -> dict[str, str]:
        """Field path (wire names, e.g. `labels.extra_volumes`) -> what was wrong with it."""
        found = dict(self._unreadable)
        for name, prefix in _nested_answers(type(self)):
            value = getattr(self, name)
            if isinstance(value, NKSAnswer):
                found.update({f"{prefix}.{k}": v for k, v in value.unreadable.items()})
        return found


_EMPTY_ANSWERS: dict[type[NKSAnswer], NKSAnswer] = {}
_NESTED_ANSWERS: dict[type[NKSAnswer], tuple[tuple[str, str], ...]] = {}


def _nested_answers(model: type[NKSAnswer]) -> tuple[tuple[str, str], ...]:
    """(field, wire name) of each field of `model` that may hold an answer of its own: the
    few that `unreadable`, read on every look at a resource, has to visit."""
    nested = _NESTED_ANSWERS.get(model)
    if nested is None:
        nested = _NESTED_ANSWERS[model] = tuple(
            (name, info.alias or name)
            for name, info in model.model_fields.items()
            if _mentions_answer(info.annotation)
        )
    return nested


def _mentions_answer(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, NKSAnswer):
        return True
    return any(_mentions_answer(arg) for arg in get_args(annotation))


def _admits_none(annotation: Any) -> bool:
    return annotation is None or type(None) in get_args(annotation)


class _Unknown:
    """Marks a value a lenient parser could not read."""


_UNKNOWN = _Unknown()


def _unreadable_error(expected: str) -> PydanticCustomError:
    return PydanticCustomError("unreadable", "expected {expected}", {"expected": expected})


def _parse_bool(value: Any) -> bool | _Unknown | None:
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


def parse_bool_or_none(value: Any) -> bool | None:
    """A boolean in any of NKS's shapes; None when empty or unreadable."""
    result = _parse_bool(value)
    return None if isinstance(result, _Unknown) else result


def _parse_int(value: Any) -> int | _Unknown | None:
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


def _parse_datetime(value: Any) -> datetime | _Unknown | None:
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


def read_timestamp(value: Any) -> datetime | None:
    """A timestamp in NKS's shapes (UTC when no offset); None when empty; ValueError when
    unreadable."""
    result = _parse_datetime(value)
    if isinstance(result, _Unknown):
        raise ValueError("expected an ISO 8601 timestamp")
    return result


def _strict(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """For required fields: an unreadable value is left for pydantic to reject."""

    def validate(value: Any) -> Any:
        result = parse(value)
        return value if result is _UNKNOWN else result

    return validate


def _optional(parse: Callable[[Any], Any], expected: str) -> Callable[[Any], Any]:
    """For optional fields: empty means None; an unreadable value is an "unreadable" error
    (answer models turn it into an unknown field, request models refuse it)."""

    def validate(value: Any) -> Any:
        result = parse(value)
        if result is _UNKNOWN:
            raise _unreadable_error(expected)
        return result

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


def _json_list(value: Any) -> Any:
    """A list label as NKS answers it: a JSON array, its JSON text, `""` (none) or null."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except ValueError:
            raise _unreadable_error("a list of objects (JSON text)") from None
    if value is not None and not isinstance(value, list | tuple):
        raise _unreadable_error("a list of objects")
    return value


def _json_object(value: Any) -> Any:
    """An object label as NKS answers it: a JSON object or its JSON text; `""`, `"null"` and
    null are unset (None); any other text or type is unreadable (a model given to a request
    passes as it is)."""
    if isinstance(value, BaseModel):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            raise _unreadable_error("an object (JSON text)") from None
    if value is not None and not isinstance(value, dict):
        raise _unreadable_error("an object")
    return value


def _json_string_list(value: Any) -> Any:
    """A list of strings as NKS answers it: a JSON array or its JSON text (`""`: empty)."""
    value = _json_list(value)
    if value is not None and not all(isinstance(item, str) for item in value):
        raise _unreadable_error("a list of strings")
    return value


def json_text(value: Any) -> str:
    """A value as the JSON text NKS keeps in a label; models as their wire JSON (so a
    secret inside reaches the wire, and only the wire)."""
    if isinstance(value, BaseModel):
        value = (
            value.to_wire()
            if isinstance(value, NKSModel)
            else value.model_dump(mode="json", exclude_none=True)
        )
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _none_as_empty_list(value: Any) -> Any:
    return [] if value is None else value


def _bool_label(value: bool) -> str:
    return "True" if value else "False"


def _reveal(value: SecretStr) -> str:
    return value.get_secret_value()


_BOOL_LABEL = PlainSerializer(_bool_label, return_type=str, when_used="json-unless-none")
_INT_LABEL = PlainSerializer(str, return_type=str, when_used="json-unless-none")

# A boolean sent as a label string: reads true/"True"/"true"/1, writes "True"/"False".
LabelBool = Annotated[bool, BeforeValidator(_strict(_parse_bool)), _BOOL_LABEL]
OptLabelBool = Annotated[
    bool | None, BeforeValidator(_optional(_parse_bool, "a boolean")), _BOOL_LABEL
]
# A number sent as a label string: reads 10/"10", writes "10".
LabelInt = Annotated[int, BeforeValidator(_strict(_parse_int)), _INT_LABEL]
OptLabelInt = Annotated[
    int | None, BeforeValidator(_optional(_parse_int, "a whole number")), _INT_LABEL
]
# A boolean / number read leniently and written as a JSON bool / number.
LooseBool = Annotated[bool, BeforeValidator(_strict(_parse_bool))]
OptLooseBool = Annotated[bool | None, BeforeValidator(_optional(_parse_bool, "a boolean"))]
LooseInt = Annotated[int, BeforeValidator(_strict(_parse_int))]
OptLooseInt = Annotated[int | None, BeforeValidator(_optional(_parse_int, "a whole number"))]
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
# Timestamps: ISO 8601 with or without offset (UTC assumed).
OptTimestamp = Annotated[
    datetime | None, BeforeValidator(_optional(_parse_datetime, "an ISO 8601 timestamp"))
]
# A secret that must reach the wire but never a repr or log (e.g. a volume appkey).
WireSecret = Annotated[
    SecretStr, PlainSerializer(_reveal, return_type=str, when_used="json-unless-none")
]
# Objects and lists NKS keeps in a label as JSON text: read from the text or the JSON value
# (`""` / null: unset), written as JSON text.
_JSON_TEXT = PlainSerializer(json_text, return_type=str, when_used="json-unless-none")
JsonObjectText = BeforeValidator(_json_object)
JsonStringList = Annotated[list[str] | None, BeforeValidator(_json_string_list), _JSON_TEXT]
JsonTextSerializer = _JSON_TEXT


def shared_by_text() -> WrapValidator:
    """For an answer's object that NKS sends as JSON text and many answers repeat (a node
    group's metric autoscaler policies, the same while off): one read-only object for each
    text among the answers held, read once. A JSON value (not text) is read each time."""
    held: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(value, str):
            return handler(value)
        found = held.get(value)
        if found is None:
            found = handler(value)
            if found is not None:
                held[value] = found
        return found

    return WrapValidator(validate)


# Nullable collections read as empty ones.
# (null reads as empty; an unreadable value makes the field None, unknown)
AddressList = Annotated[list[str] | None, BeforeValidator(_none_as_empty_list)]
JsonList = BeforeValidator(_json_list)
NullAsEmptyList = BeforeValidator(_none_as_empty_list)


def empty_as_shared(model: type[NKSAnswer]) -> BeforeValidator:
    """A part of an answer that null or `{}` leaves empty, read as `model.empty()`."""

    def validate(value: Any) -> Any:
        return model.empty() if value is None or (isinstance(value, dict) and not value) else value

    return BeforeValidator(validate)
