"""`structural_schema` on small models: each rule of the conversion, and each refusal."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from nks_operator.api.crd import CRDSchemaError, apply_defaults, describe, structural_schema


class Model(BaseModel):
    """Base of the test models: attribute docstrings become descriptions, like CRDModel."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")


class Inner(Model):
    """The inner object."""

    size: Annotated[int, Field(gt=0, le=10)] = 3
    """A size."""


class Outer(Model):
    """An outer object,
    with a docstring on two lines.

    And a second paragraph."""

    name: Annotated[str | None, Field(pattern=r"^[a-z]+$", max_length=5)] = None
    """An optional name."""
    mode: Literal["fast"] = "fast"
    """The only mode."""
    inner: Inner = Field(default_factory=Inner)
    """Field description wins over the model's."""
    maybe_inner: Inner | None = None
    """Optional inner object."""
    labels: dict[str, str] = Field(default_factory=dict)
    """A map."""
    items: Annotated[list[Inner], Field(min_length=1)]
    """A list."""


def test_conversion_rules() -> None:
    schema = structural_schema(Outer)
    assert schema["description"] == (
        "An outer object, with a docstring on two lines.\n\nAnd a second paragraph."
    )
    props = schema["properties"]
    assert props["name"] == {
        "description": "An optional name.",
        "type": "string",
        "pattern": "^[a-z]+$",
        "maxLength": 5,
    }
    assert props["mode"] == {
        "description": "The only mode.",
        "type": "string",
        "enum": ["fast"],
        "default": "fast",
    }
    assert props["inner"] == {
        "description": "Field description wins over the model's.",
        "type": "object",
        "default": {},
        "properties": {
            "size": {
                "description": "A size.",
                "type": "integer",
                "minimum": 0,
                "exclusiveMinimum": True,
                "maximum": 10,
                "default": 3,
            }
        },
    }
    assert "default" not in props["maybe_inner"]
    assert props["maybe_inner"]["properties"] == props["inner"]["properties"]
    assert props["labels"] == {
        "description": "A map.",
        "type": "object",
        "additionalProperties": {"type": "string"},
    }
    assert props["items"]["minItems"] == 1
    assert props["items"]["items"]["description"] == "The inner object."
    assert schema["required"] == ["items"]
    assert "additionalProperties" not in schema


def test_without_defaults() -> None:
    schema = structural_schema(Outer, defaults=False)
    assert all("default" not in sub for sub in schema["properties"].values())


def test_apply_defaults_expands_nested_objects() -> None:
    schema = structural_schema(Outer)
    value = apply_defaults(schema, {"items": [{}], "maybe_inner": None})
    assert value == {"items": [{"size": 3}], "mode": "fast", "inner": {"size": 3}}
    assert Outer.model_validate(value) == Outer.model_validate({"items": [{}]})


class Undocumented(Model):
    """Has a field without a docstring."""

    field: int = 1


class Union(Model):
    """Has a real union."""

    value: int | str = 1
    """Either."""


class AnyMap(Model):
    """Has a map of anything."""

    value: dict[str, Any] = Field(default_factory=dict)
    """Anything."""


class Required(Model):
    """Has a required field."""

    needed: int
    """Needed."""


class FactoryOfRequired(Model):
    """A default object that cannot be built from {}."""

    inner: Required = Field(default_factory=lambda: Required(needed=1))
    """Inner."""


class Tree(Model):
    """Recursive."""

    children: list[Tree] = Field(default_factory=list)
    """Subtrees."""


def _list_type(kind: str, *keys: str) -> Any:
    extra: dict[str, Any] = {"x-kubernetes-list-type": kind}
    if keys:
        extra["x-kubernetes-list-map-keys"] = list(keys)
    return Field(json_schema_extra=extra)


class Lists(Model):
    """Lists of each kind."""

    plain: list[int] = Field(default_factory=list)
    """No list type given."""
    names: Annotated[list[str], _list_type("set")] = Field(default_factory=list)
    """A set."""
    by_size: Annotated[list[Required], _list_type("map", "needed")] = Field(default_factory=list)
    """A map."""


class SetOfObjects(Model):
    """A set of objects."""

    items: Annotated[list[Required], _list_type("set")] = Field(default_factory=list)
    """Items."""


class Named(Model):
    """Maybe named."""

    name: str | None = None
    """Name."""


class MapByOptional(Model):
    """A map keyed by an optional field."""

    items: Annotated[list[Named], _list_type("map", "name")] = Field(default_factory=list)
    """Items."""


class MapByMissing(Model):
    """A map keyed by a field the items lack."""

    items: Annotated[list[Required], _list_type("map", "other")] = Field(default_factory=list)
    """Items."""


class MapWithoutKeys(Model):
    """A map without keys."""

    items: Annotated[list[Required], _list_type("map")] = Field(default_factory=list)
    """Items."""


class ListTypeOnScalar(Model):
    """A list type on a string."""

    name: Annotated[str, _list_type("atomic")] = ""
    """Name."""


def test_list_types() -> None:
    schema = structural_schema(Lists)["properties"]
    assert schema["plain"]["x-kubernetes-list-type"] == "atomic"
    assert schema["names"]["x-kubernetes-list-type"] == "set"
    assert schema["by_size"]["x-kubernetes-list-type"] == "map"
    assert schema["by_size"]["x-kubernetes-list-map-keys"] == ["needed"]


def _lower_key(key: str) -> str:
    if key != key.lower():
        raise ValueError(f"key {key!r} is not lower case")
    return key


class BoundedMap(Model):
    """Has a map with a size bound, bounded values and keys checked by the model."""

    value: Annotated[
        dict[Annotated[str, AfterValidator(_lower_key)], Annotated[str, Field(max_length=5)]],
        Field(min_length=1, max_length=3),
    ]
    """Up to three short values."""


def test_map_bounds_become_min_and_max_properties() -> None:
    schema = structural_schema(BoundedMap)["properties"]["value"]
    assert schema == {
        "description": "Up to three short values.",
        "type": "object",
        "minProperties": 1,
        "maxProperties": 3,
        "additionalProperties": {"type": "string", "maxLength": 5},
    }
    assert list(schema) == [
        "description",
        "type",
        "minProperties",
        "maxProperties",
        "additionalProperties",
    ]
    # The keys have no schema: the model checks them, and its error names the key.
    with pytest.raises(ValidationError, match="key 'A' is not lower case"):
        BoundedMap.model_validate({"value": {"A": "x"}})
    with pytest.raises(ValidationError, match="at most 3 items"):
        BoundedMap.model_validate({"value": {k: "x" for k in "abcd"}})


class ConstrainedKeys(Model):
    """Has a map whose key type carries a schema constraint."""

    value: dict[Annotated[str, Field(max_length=3)], str] = Field(default_factory=dict)
    """Keys of at most 3 characters (propertyNames: not structural)."""


class NoDocstring(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    value: int = 1
    """Value."""


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (Undocumented, "Undocumented.field: no description"),
        (Union, "Union.value: a union of several types"),
        (AnyMap, "AnyMap.value: a map of arbitrary values"),
        (ConstrainedKeys, "ConstrainedKeys.value: map keys cannot be constrained"),
        (FactoryOfRequired, "default"),
        (NoDocstring, "NoDocstring: no docstring"),
        (Tree, "Tree contains itself"),
        (SetOfObjects, "a set holds scalars"),
        (MapByOptional, "map key 'name' must be required"),
        (MapByMissing, "map key 'other' is not a scalar field"),
        (MapWithoutKeys, "a map lists objects and names their key fields"),
        (ListTypeOnScalar, "a list type on a string"),
    ],
)
def test_refuses_what_a_structural_schema_cannot_express(
    model: type[BaseModel], message: str
) -> None:
    with pytest.raises(CRDSchemaError, match=message):
        structural_schema(model)


def test_describe_collapses_each_paragraph() -> None:
    assert describe("  one\n   two \n\n\n three\tfour  ") == "one two\n\nthree four"
    assert describe("") == ""
