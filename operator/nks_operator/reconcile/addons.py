"""Add-ons: the spec against NKS's add-on catalogue, the next add-on operation, and the
rows of `status.addons` (docs/nks-api-notes.md, "Add-ons").

- Checks (`catalogue_problems`, before any call): an entry that will be installed or
  updated names an add-on and version of the catalogue that runs on
  spec.kubernetesVersion, with options its schemas take (known names, SELECT choices
  verbatim, integers; at install, every mandatory option without a default). An entry NKS
  already runs as specified is not checked: nothing is sent for it, and NHN may have taken
  that version out of the catalogue since.
- Plan (`plan_addons`): after every other cluster operation, one at a time: installs and
  updates in spec order, then removals. Nothing is planned while NKS's list of installed
  add-ons is unknown or an add-on is in progress; an option the catalogue marks not
  updatable never changes (`AddonBlocked`); an add-on NKS reports `*_FAILED` is not
  applied again until the spec changes after the failure was seen (`AddonFailed`).
- Confirmation: a task of the current edition's name (`CLUSTER_INSTALL_ADDON`, ...), else
  the add-on read back after the send (`target_status`).
- Removal: an entry removed from the spec is uninstalled only when NKS's add-on types say
  its type is not mandatory; a mandatory type (cni, kube-dns), or one NKS does not say,
  stays installed and stops being managed (`statuses` reports it once).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nks_operator.api.cluster import Addon, AddonStatus, NKSClusterSpec
from nks_operator.api.operations import OperationType
from nks_operator.nks import NKSClient, errors
from nks_operator.nks.models import AddonType, CatalogueAddon, InstalledAddon
from nks_operator.reconcile import phase, versions
from nks_operator.reconcile.day2 import Action, Blocked, Plan, Waiting, first_action
from nks_operator.reconcile.reasons import Reason

TARGET_PREFIX = "addon/"
INSTALL = OperationType.CLUSTER_INSTALL_ADDON
UPDATE = OperationType.CLUSTER_UPDATE_ADDON
UNINSTALL = OperationType.CLUSTER_UNINSTALL_ADDON
OPERATIONS = frozenset(o for o in OperationType if o.is_addon)
# What NHN's user guide advises for version changes ("Conflict Resolution Options").
DEFAULT_RESOLVE_CONFLICTS = "overwrite"
REGISTRY_HINT = (
    " (NKS manages add-ons only on clusters whose NKS registry is enabled: enable it in the "
    "NHN Cloud console)"
)
_INTEGER = re.compile(r"^[+-]?\d+$")


def target(name: str) -> str:
    """`lastOperation.target` of an operation on the add-on `name`."""
    return TARGET_PREFIX + name


def target_name(value: str | None) -> str | None:
    """The add-on an operation target names; None: not an add-on target."""
    if value is None or not value.startswith(TARGET_PREFIX):
        return None
    return value.removeprefix(TARGET_PREFIX)


def with_registry_hint(message: str) -> str:
    """NKS's refusal text, with what to do when it names the NKS registry prerequisite."""
    return message + REGISTRY_HINT if "registry" in message.lower() else message


# -- the catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """What NKS offers the account: every add-on version, and whether each type is
    mandatory (None: NKS did not say)."""

    entries: tuple[CatalogueAddon, ...]
    mandatory: Mapping[str, bool | None] = field(default_factory=dict)
    # Entries NKS listed that could not be read, described: a version "not offered" may
    # be among them.
    unreadable: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        entries: Sequence[CatalogueAddon],
        types: Sequence[AddonType],
        unreadable: Sequence[str] = (),
    ) -> Catalogue:
        return cls(
            tuple(entries), {t.name: t.mandatory for t in types if t.name}, tuple(unreadable)
        )

    def versions(self, name: str) -> list[CatalogueAddon]:
        return [e for e in self.entries if e.name == name]

    def entry(self, name: str, version: str) -> CatalogueAddon | None:
        return next((e for e in self.entries if (e.name, e.version) == (name, version)), None)

    def removable(self, type_name: str | None) -> bool:
        """Only a type NKS says is not mandatory is ever uninstalled."""
        return type_name is not None and self.mandatory.get(type_name) is False


def runs_on(entry: CatalogueAddon, kubernetes_version: str) -> bool:
    """Whether the entry's Kubernetes range (`k8s_min_version` / `k8s_max_version`, null or
    unreadable: no bound) holds `kubernetes_version`."""
    low, high = entry.k8s_min_version, entry.k8s_max_version
    if low and versions.parse(low) and versions.compare(kubernetes_version, low) < 0:
        return False
    return not (high and versions.parse(high) and versions.compare(kubernetes_version, high) > 0)


def _range(entry: CatalogueAddon) -> str:
    low, high = entry.k8s_min_version, entry.k8s_max_version
    if low and high:
        return f"Kubernetes {low} to {high}"
    return f"Kubernetes {low} or later" if low else f"Kubernetes up to {high}"


# -- what differs --------------------------------------------------------------------------


def changed_options(entry: Addon, installed: InstalledAddon) -> dict[str, tuple[str | None, str]]:
    """Options the spec gives that NKS shows otherwise: name -> (NKS's, the spec's). NKS
    showing no options (unreadable) is unknown: nothing differs."""
    if not entry.options or installed.options is None:
        return {}
    return {
        name: (installed.options.get(name), value)
        for name, value in entry.options.items()
        if installed.options.get(name) != value
    }


def needs_change(entry: Addon, installed: InstalledAddon | None) -> bool:
    """Whether NKS must install or update `entry` (a failed add-on is `plan_addons`'s). A
    version NKS shows unreadably is unknown, never a difference."""
    if installed is None:
        return True
    moved = installed.version is not None and installed.version != entry.version
    return moved or bool(changed_options(entry, installed))


def frozen_changes(entry: Addon, installed: InstalledAddon, found: CatalogueAddon) -> list[str]:
    """Options the spec changes that the catalogue marks not updatable."""
    frozen = []
    for name, (before, after) in sorted(changed_options(entry, installed).items()):
        schema = found.option(name)
        if schema is not None and schema.updatable is False and before is not None:
            frozen.append(
                f"add-on {entry.name}: option {name} cannot change once installed (NKS's "
                f"catalogue marks it not updatable): NKS has {before!r}, the spec asks for "
                f"{after!r}"
            )
    return frozen


# -- checks before any call ----------------------------------------------------------------


def _option_problems(
    where: str, entry: Addon, found: CatalogueAddon, *, installing: bool
) -> list[str]:
    problems = []
    schemas = found.option_schemas or []
    names = ", ".join(s.name for s in schemas) or "none"
    for name, value in sorted((entry.options or {}).items()):
        schema = found.option(name)
        if schema is None:
            problems.append(
                f"{where}.options.{name}: {entry.name} {entry.version} has no such option "
                f"(its options: {names})"
            )
        elif (schema.data_type or "").upper() == "SELECT" and value not in (schema.choices or []):
            problems.append(
                f"{where}.options.{name}: {value!r} is not one of NKS's choices "
                f"({', '.join(schema.choices or []) or 'none'})"
            )
        elif (schema.data_type or "").upper() == "INTEGER" and not _INTEGER.match(value):
            problems.append(f"{where}.options.{name}: {value!r} is not an integer")
    if installing:
        for schema in schemas:
            given = schema.name in (entry.options or {})
            if schema.mandatory and not given and schema.default in (None, ""):
                problems.append(
                    f"{where}.options.{schema.name}: NKS needs it to install "
                    f"{entry.name} {entry.version} (mandatory, no default)"
                )
    return problems


def catalogue_problems(
    spec: NKSClusterSpec,
    catalogue: Catalogue,
    installed: Mapping[str, InstalledAddon] | None,
) -> list[str]:
    """What NKS would refuse in spec.addons (`installed` None: not known yet, so every
    entry is checked)."""
    problems: list[str] = []
    offered = sorted({e.name for e in catalogue.entries if e.name})
    unread = (
        f"; NKS also listed {len(catalogue.unreadable)} catalogue entries the operator "
        "could not read"
        if catalogue.unreadable
        else ""
    )
    types: dict[str, str] = {}
    for index, entry in enumerate(spec.addons):
        where = f"spec.addons[{index}]"
        current = None if installed is None else installed.get(entry.name)
        found = catalogue.entry(entry.name, entry.version)
        if found is not None and found.type:
            if found.type in types:
                problems.append(
                    f"{where}: {entry.name} and {types[found.type]} are both of type "
                    f"{found.type}; NKS installs one add-on per type"
                )
            types.setdefault(found.type, entry.name)
        if current is not None and not needs_change(entry, current):
            continue
        if not catalogue.versions(entry.name):
            problems.append(
                f"{where}: NKS offers no add-on named {entry.name!r} (it offers: "
                f"{', '.join(offered) or 'none'}{unread})"
            )
            continue
        if found is None:
            listed = sorted(e.version or "?" for e in catalogue.versions(entry.name))
            problems.append(
                f"{where}: NKS offers no version {entry.version!r} of {entry.name} (it "
                f"offers: {', '.join(listed)}{unread})"
            )
            continue
        if not runs_on(found, spec.kubernetes_version):
            problems.append(
                f"{where}: {entry.name} {entry.version} runs on {_range(found)}, not on "
                f"spec.kubernetesVersion {spec.kubernetes_version}"
            )
        problems += _option_problems(where, entry, found, installing=current is None)
    return problems


# -- status.addons -------------------------------------------------------------------------


def statuses(
    installed: Sequence[InstalledAddon],
    spec: NKSClusterSpec,
    previous: Sequence[AddonStatus],
    catalogue: Catalogue | None,
    generation: int | None,
) -> tuple[list[AddonStatus], list[InstalledAddon]]:
    """The rows of status.addons, and the add-ons whose removal from the spec NKS does not
    allow (they stop being managed now: report each once)."""
    listed = {a.name for a in spec.addons}
    before = {row.name: row for row in previous}
    rows: list[AddonStatus] = []
    kept: list[InstalledAddon] = []
    for addon in sorted(installed, key=lambda a: a.name or a.uuid):
        name = addon.name or addon.uuid
        row = before.get(name)
        managed = name in listed
        if not managed and row is not None and row.managed:
            if catalogue is None or catalogue.removable(addon.type):
                managed = True  # its uninstall is pending (or cannot be judged yet)
            else:
                kept.append(addon)
        failed_generation = None
        if phase.is_failed(addon.status):
            same = row is not None and row.status == addon.status
            seen = row.failed_generation if same and row is not None else None
            failed_generation = seen if seen is not None else generation
        rows.append(
            AddonStatus(
                name=name,
                type=addon.type,
                version=addon.version,
                status=addon.status,
                message=addon.status_reason,
                managed=managed,
                failed_generation=failed_generation,
            )
        )
    return rows, kept


def managed(spec: NKSClusterSpec, rows: Sequence[AddonStatus] | None) -> bool:
    """Whether the operator reads and plans add-ons: the spec lists some, or one it listed
    is still to be uninstalled."""
    return bool(spec.addons) or any(row.managed for row in rows or ())


def read_due(read_at: float, now: float, slow_seconds: float, following: bool) -> bool:
    """Whether to read the cluster's installed add-ons now: every pass while an add-on
    operation is followed, else once per slow resync (a change made elsewhere - a version
    changed in the console - is seen within one)."""
    return following or now - read_at > slow_seconds


def target_status(installed: InstalledAddon | None, cluster_status: str | None) -> str | None:
    """The status an add-on operation is followed by: the add-on's, or the cluster's while
    NKS lists no such add-on (not installed yet, or uninstalled)."""
    return cluster_status if installed is None else installed.status


# -- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddonView:
    """What NKS shows of add-ons, as far as the plan needs it."""

    catalogue: Catalogue | None
    installed: Mapping[str, InstalledAddon] | None  # by name; None: unknown
    rows: Sequence[AddonStatus] = ()
    problem: str | None = None  # why the installed add-ons cannot be read (a refusal)


async def _call(request: Any, *args: Any, **kwargs: Any) -> None:
    try:
        await request(*args, **kwargs)
    except (errors.InvalidRequestError, errors.ForbiddenError) as error:
        hinted = with_registry_hint(error.message)
        if hinted == error.message:
            raise
        raise type(error)(
            hinted,
            operation=error.operation,
            status_code=error.status_code,
            request_id=error.request_id,
            code=error.code,
        ) from None


async def _install(client: NKSClient, cluster_id: str, **args: Any) -> None:
    await _call(client.install_addon, cluster_id, **args)


async def _update(client: NKSClient, cluster_id: str, *, addon: str, **args: Any) -> None:
    await _call(client.update_addon, cluster_id, addon, **args)


async def _uninstall(client: NKSClient, cluster_id: str, *, addon: str) -> None:
    await _call(client.uninstall_addon, cluster_id, addon)


def _failure_holds(row: AddonStatus | None, generation: int | None) -> bool:
    """A failure is acted on again only once the spec changed after it was seen."""
    seen = None if row is None else row.failed_generation
    return seen is None or generation is None or generation <= seen


def _failed(addon: InstalledAddon) -> Blocked:
    why = f": {addon.status_reason}" if addon.status_reason else ""
    return Blocked(
        Reason.ADDON_FAILED,
        f"add-on {addon.name}: NKS reports {addon.status}{why}; it is not installed or "
        "updated again until the spec changes",
    )


def _busy(addon: InstalledAddon) -> Waiting:
    return Waiting(f"add-on {addon.name} is {addon.status or 'changing'} in NKS", nks_busy=True)


def send_action(entry: Addon, current: InstalledAddon | None) -> Action:
    """The install or update that brings NKS to `entry`."""
    args: dict[str, Any] = {
        "version": entry.version,
        "resolve_conflicts": entry.resolve_conflicts or DEFAULT_RESOLVE_CONFLICTS,
    }
    if entry.options:
        args["options"] = dict(entry.options)  # contested: sent only when given
    if current is None:
        return Action(
            INSTALL,
            _install,
            {"name": entry.name, **args},
            f"install add-on {entry.name} {entry.version}",
            target(entry.name),
        )
    if current.version != entry.version:
        summary = f"update add-on {entry.name} from {current.version} to {entry.version}"
    else:
        summary = f"apply add-on {entry.name} {entry.version} again"
        if current.options is not None and changed_options(entry, current):
            summary = f"change the options of add-on {entry.name}"
    return Action(UPDATE, _update, {"addon": entry.name, **args}, summary, target(entry.name))


def plan_addons(
    spec: NKSClusterSpec,
    view: AddonView,
    *,
    kubernetes_version: str | None,
    generation: int | None,
) -> Plan:
    """The next add-on operation: installs and changes in the spec's order, then removals.
    `kubernetes_version`: the control plane's now (an entry that needs a newer one waits
    for the upgrade)."""
    if not managed(spec, view.rows):
        return Plan()
    if view.problem is not None:
        return Plan(blocked=[Blocked(Reason.ADDON_BLOCKED, view.problem)])
    if view.installed is None or view.catalogue is None:
        return Plan()  # unknown: nothing is sent on a guess (the answer problem says why)
    installed, catalogue = view.installed, view.catalogue
    rows = {row.name: row for row in view.rows}
    listed = {a.name for a in spec.addons}
    changes = [
        functools.partial(
            _plan_entry,
            entry,
            installed.get(entry.name),
            catalogue,
            failure_holds=_failure_holds(rows.get(entry.name), generation),
            kubernetes_version=kubernetes_version,
        )
        for entry in spec.addons
    ]
    removals = [
        functools.partial(
            _plan_removal, row.name, current, failure_holds=_failure_holds(row, generation)
        )
        for row in sorted(view.rows, key=lambda r: r.name)
        if row.managed
        and row.name not in listed
        and (current := installed.get(row.name)) is not None
        and catalogue.removable(current.type)  # else kept (statuses reports it)
    ]
    return first_action([*changes, *removals])


def _plan_entry(
    entry: Addon,
    current: InstalledAddon | None,
    catalogue: Catalogue,
    *,
    failure_holds: bool,
    kubernetes_version: str | None,
) -> Plan:
    """Install or change one add-on of spec.addons."""
    if current is not None and phase.is_in_progress(current.status):
        return Plan(waiting=_busy(current))
    failed = current is not None and phase.is_failed(current.status)
    if failed and current is not None and failure_holds:
        return Plan(blocked=[_failed(current)])
    if not failed and not needs_change(entry, current):
        return Plan()
    found = catalogue.entry(entry.name, entry.version)
    if found is None:
        return Plan()  # InvalidSpec already (catalogue_problems)
    if kubernetes_version and not runs_on(found, kubernetes_version):
        return Plan(
            waiting=Waiting(
                f"add-on {entry.name} {entry.version} runs on {_range(found)}: it waits for "
                f"the cluster's upgrade from {kubernetes_version}"
            )
        )
    frozen = [] if current is None else frozen_changes(entry, current, found)
    if frozen:
        return Plan(blocked=[Blocked(Reason.ADDON_BLOCKED, message) for message in frozen])
    return Plan(send_action(entry, current))


def _plan_removal(name: str, current: InstalledAddon, *, failure_holds: bool) -> Plan:
    """Uninstall an add-on the operator manages that spec.addons no longer lists."""
    if phase.is_in_progress(current.status):
        return Plan(waiting=_busy(current))
    if phase.is_failed(current.status) and failure_holds:
        return Plan(blocked=[_failed(current)])
    return Plan(
        Action(
            UNINSTALL,
            _uninstall,
            {"addon": name},
            f"uninstall add-on {name} (removed from spec.addons)",
            target(name),
        )
    )
