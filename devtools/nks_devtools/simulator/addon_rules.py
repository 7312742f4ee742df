"""Rules of the add-on API shared by cluster create and the add-on calls: catalogue
lookups, option schemas, and the add-ons a new cluster gets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nks_devtools.simulator import rules
from nks_devtools.simulator.catalogue import CATALOGUE, Entry
from nks_devtools.simulator.core import Simulator
from nks_devtools.simulator.errors import BadRequest
from nks_devtools.simulator.state import Addon

IN_PROGRESS, COMPLETE = "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"
DELETING = "DELETE_IN_PROGRESS"


def check_options(
    entry: Entry, given: object, current: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Options against the entry's schemas; returns the full set (defaults filled in).
    `current`: the installed values, for an update (an option not updatable keeps them)."""
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        raise BadRequest(f"Addon {entry.name}: options must be an object of strings.")
    unknown = sorted(set(given) - {o.name for o in entry.options})
    if unknown:
        raise BadRequest(f"Addon {entry.name} {entry.version} has no option {', '.join(unknown)}.")
    result: dict[str, str] = {}
    for schema in entry.options:
        value = given.get(schema.name)
        before = (current or {}).get(schema.name)
        if value is None:
            value = before if before is not None else schema.default
        elif current is not None and not schema.updatable and before not in (None, value):
            raise BadRequest(f"Option {schema.name} of addon {entry.name} cannot be changed.")
        if value is None:
            if schema.mandatory:
                raise BadRequest(f"Option {schema.name} of addon {entry.name} is mandatory.")
            continue
        if schema.data_type == "SELECT" and value not in schema.choices:
            raise BadRequest(
                f"Option {schema.name} of addon {entry.name} must be one of "
                f"{', '.join(schema.choices)}."
            )
        if schema.data_type == "INTEGER":
            rules.as_int(value, f"option {schema.name}")
        result[schema.name] = value
    return result


def catalogue_entry(name: object, version: object, kube_tag: str) -> Entry:
    if not isinstance(name, str) or not isinstance(version, str):
        raise BadRequest("Addon name and version must be strings.")
    entry = CATALOGUE.lookup(name, version)
    if entry is None:
        raise BadRequest(f"Addon {name} {version} is not offered.")
    if not entry.runs_on(kube_tag):
        raise BadRequest(f"Addon {name} {version} does not run on Kubernetes {kube_tag}.")
    return entry


def at_create(
    sim: Simulator, given: list[dict[str, Any]], kube_tag: str, now: float
) -> list[Addon]:
    """The add-ons a new cluster gets: those given (checked against the catalogue), plus the
    newest fitting version of each mandatory type not given."""
    result: list[Addon] = []
    for item in given:
        entry = catalogue_entry(item["name"], item["version"], kube_tag)
        if any(a.type == entry.type for a in result):
            raise BadRequest(f"Only one addon of type {entry.type} can be installed.")
        options = check_options(entry, item.get("options", {}))
        result.append(new_addon(sim, entry, options, now))
    for kind in CATALOGUE.types:
        if kind.mandatory and not any(a.type == kind.name for a in result):
            entry = CATALOGUE.default_for(kind.name, kube_tag)
            if entry is not None:
                result.append(new_addon(sim, entry, check_options(entry, {}), now))
    return result


def new_addon(sim: Simulator, entry: Entry, options: dict[str, str], now: float) -> Addon:
    return Addon(
        uuid=sim.new_uuid(),
        type=entry.type,
        name=entry.name,
        version=entry.version,
        options=options,
        status=IN_PROGRESS,
        created_at=now,
        updated_at=now,
    )
