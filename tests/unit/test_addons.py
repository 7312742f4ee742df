"""Add-on decisions (reconcile/addons.py): the catalogue checks, the plan, status.addons,
and the catalogue cache (control/catalogue.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nks_operator.api.cluster import AddonStatus
from nks_operator.control.catalogue import Catalogues
from nks_operator.nks import errors
from nks_operator.nks.listing import Listing, UnreadableEntry
from nks_operator.nks.models import AddonType, CatalogueAddon, InstalledAddon, TaskEvent
from nks_operator.reconcile import addons
from nks_operator.reconcile.addons import AddonView, Catalogue
from nks_operator.reconcile.day2 import Blocked, Plan, Waiting, then
from nks_operator.reconcile.operation_state import matching_task
from nks_operator.reconcile.reasons import Reason
from nks_operator.settings import OperatorSettings
from tests.unit.specs import cluster_spec

MODE = {
    "name": "mode",
    "data_type": "SELECT",
    "default": "vxlan",
    "updatable": False,
    "mandatory": False,
    "choices": ["vxlan", "ebpf"],
}
REPLICAS = {"name": "replicas", "data_type": "INTEGER", "default": "1", "updatable": True}
TOKEN = {"name": "token", "data_type": "STRING", "default": None, "mandatory": True}


def entry(name: str, version: str, type_: str, *options: dict[str, Any], **extra: Any) -> Any:
    return CatalogueAddon.model_validate(
        {
            "uuid": f"{name}-{version}",
            "type": type_,
            "name": name,
            "version": version,
            "option_schemas": list(options),
            **extra,
        }
    )


CATALOGUE = Catalogue.of(
    [
        entry("calico", "v3.28.2-nks1", "cni", MODE),
        entry("calico", "v3.30.2-nks1", "cni", MODE, k8s_min_version="v1.30.0"),
        entry("coredns", "1.8.4-nks1", "kube-dns"),
        entry("metrics-server", "v0.4.4-nks1", "metrics-server", REPLICAS),
        entry("metrics-server", "v0.4.4-nks2", "metrics-server", REPLICAS),
        entry("vault-agent", "v1", "secrets", TOKEN),
        entry("cilium", "v1.15", "cni"),
    ],
    [
        AddonType(uuid="t1", name="cni", mandatory=True),
        AddonType(uuid="t2", name="kube-dns", mandatory=True),
        AddonType(uuid="t3", name="metrics-server", mandatory=False),
        AddonType(uuid="t4", name="secrets", mandatory=None),
    ],
)
CALICO = {"name": "calico", "version": "v3.28.2-nks1", "options": {"mode": "vxlan"}}
METRICS = {"name": "metrics-server", "version": "v0.4.4-nks1"}


def installed(
    name: str, version: str, type_: str, status: str = "UPDATE_COMPLETE", **extra: Any
) -> InstalledAddon:
    return InstalledAddon.model_validate(
        {"uuid": f"i-{name}", "name": name, "version": version, "type": type_, "status": status}
        | extra
    )


def by_name(*items: InstalledAddon) -> dict[str, InstalledAddon]:
    return {a.name or a.uuid: a for a in items}


RUNNING = by_name(
    installed("calico", "v3.28.2-nks1", "cni", options={"mode": "vxlan"}),
    installed("coredns", "1.8.4-nks1", "kube-dns"),
    installed("metrics-server", "v0.4.4-nks1", "metrics-server", options={"replicas": "1"}),
)


def plan(
    spec_addons: list[dict[str, Any]],
    running: dict[str, InstalledAddon] | None = None,
    rows: list[AddonStatus] | None = None,
    *,
    generation: int = 3,
    version: str = "v1.29.3",
    problem: str | None = None,
) -> Plan:
    spec = cluster_spec(addons=spec_addons)
    running = RUNNING if running is None else running
    if rows is None:
        rows, _ = addons.statuses(list(running.values()), spec, (), CATALOGUE, generation)
    view = AddonView(CATALOGUE, running, rows, problem)
    return addons.plan_addons(spec, view, kubernetes_version=version, generation=generation)


# -- checks before any call ------------------------------------------------------------------


def problems(spec_addons: list[dict[str, Any]], running: Any = None, **spec: Any) -> list[str]:
    return addons.catalogue_problems(cluster_spec(addons=spec_addons, **spec), CATALOGUE, running)


def test_what_the_catalogue_offers_passes() -> None:
    assert problems([CALICO, {"name": "coredns", "version": "1.8.4-nks1"}, METRICS]) == []


def test_an_unknown_add_on_or_version_is_refused_naming_what_nks_offers() -> None:
    assert problems([{"name": "nope", "version": "1"}]) == [
        "spec.addons[0]: NKS offers no add-on named 'nope' (it offers: calico, cilium, "
        "coredns, metrics-server, vault-agent)"
    ]
    assert problems([METRICS, {**CALICO, "version": "v9"}]) == [
        "spec.addons[1]: NKS offers no version 'v9' of calico (it offers: v3.28.2-nks1, "
        "v3.30.2-nks1)"
    ]


def test_options_are_checked_against_the_schemas() -> None:
    found = problems(
        [
            {**CALICO, "options": {"mode": "VXLAN", "mtu": "1400"}},
            {**METRICS, "options": {"replicas": "two"}},
        ]
    )
    assert found == [
        "spec.addons[0].options.mode: 'VXLAN' is not one of NKS's choices (vxlan, ebpf)",
        "spec.addons[0].options.mtu: calico v3.28.2-nks1 has no such option (its options: mode)",
        "spec.addons[1].options.replicas: 'two' is not an integer",
    ]
    assert problems([{**METRICS, "options": {"replicas": "3"}}]) == []


def test_a_mandatory_option_without_default_is_needed_to_install() -> None:
    vault = {"name": "vault-agent", "version": "v1"}
    assert problems([vault]) == [
        "spec.addons[0].options.token: NKS needs it to install vault-agent v1 (mandatory, no "
        "default)"
    ]
    assert problems([{**vault, "options": {"token": "x"}}]) == []


def test_the_version_must_run_on_the_specs_kubernetes_version() -> None:
    newer = {**CALICO, "version": "v3.30.2-nks1"}
    assert problems([newer]) == [
        "spec.addons[0]: calico v3.30.2-nks1 runs on Kubernetes v1.30.0 or later, not on "
        "spec.kubernetesVersion v1.29.3"
    ]
    assert problems([newer], kubernetesVersion="v1.30.3") == []


def test_one_add_on_per_type() -> None:
    found = problems([CALICO, {"name": "cilium", "version": "v1.15"}])
    assert found == [
        "spec.addons[1]: cilium and calico are both of type cni; NKS installs one add-on per type"
    ]


def test_what_nks_runs_as_listed_is_not_checked() -> None:
    """NHN may have dropped an installed version from the catalogue (an imported cluster):
    nothing is sent for it, so nothing is refused."""
    old = {"name": "coredns", "version": "1.6.0-nks1"}
    running = by_name(installed("coredns", "1.6.0-nks1", "kube-dns"))
    assert problems([old], running) == []
    assert problems([old], None) != []  # not known yet: checked
    shown = by_name(installed("coredns", "1.6.0-nks1", "kube-dns", options={}))
    assert problems([{**old, "options": {"x": "y"}}], shown) != []  # would be sent
    # Options NKS does not show at all are unknown: never a difference, nothing sent.
    assert problems([{**old, "options": {"x": "y"}}], running) == []


def test_unreadable_catalogue_entries_are_mentioned() -> None:
    partial = Catalogue(CATALOGUE.entries, CATALOGUE.mandatory, ("x: no uuid",))
    (found,) = addons.catalogue_problems(
        cluster_spec(addons=[{"name": "nope", "version": "1"}]), partial, None
    )
    assert found.endswith("NKS also listed 1 catalogue entries the operator could not read)")


# -- the plan ----------------------------------------------------------------------------


def test_what_nks_shows_unreadably_is_never_a_difference() -> None:
    spec = cluster_spec(addons=[{**METRICS, "options": {"replicas": "2"}}]).addons[0]
    odd = InstalledAddon.model_validate(
        {"uuid": "i", "name": "metrics-server", "version": 7, "options": "x"}
    )
    assert odd.version is None and odd.options is None and odd.unreadable
    assert not addons.needs_change(spec, odd)


def test_in_sync_sends_nothing() -> None:
    assert plan([CALICO, METRICS]).state == "in_sync"
    assert plan([]).state == "in_sync"  # add-ons never listed are left alone


def test_a_new_entry_is_installed_with_overwrite_by_default() -> None:
    new = {"name": "vault-agent", "version": "v1", "options": {"token": "t"}}
    action = plan([CALICO, new]).action
    assert action is not None and action.operation == "CLUSTER_INSTALL_ADDON"
    assert action.target == "addon/vault-agent"
    assert action.args == {
        "name": "vault-agent",
        "version": "v1",
        "resolve_conflicts": "overwrite",
        "options": {"token": "t"},
    }
    assert action.summary == "install add-on vault-agent v1"


def test_a_version_change_is_an_update_options_only_when_given() -> None:
    action = plan(
        [CALICO, {**METRICS, "version": "v0.4.4-nks2", "resolveConflicts": "none"}]
    ).action
    assert action is not None and action.operation == "CLUSTER_UPDATE_ADDON"
    assert action.args == {
        "addon": "metrics-server",
        "version": "v0.4.4-nks2",
        "resolve_conflicts": "none",
    }
    assert action.summary == "update add-on metrics-server from v0.4.4-nks1 to v0.4.4-nks2"


def test_an_updatable_option_change_is_an_update() -> None:
    action = plan([CALICO, {**METRICS, "options": {"replicas": "2"}}]).action
    assert action is not None and action.summary == "change the options of add-on metrics-server"
    assert action.args["options"] == {"replicas": "2"}


def test_an_option_nks_does_not_let_change_is_blocked_and_the_rest_goes_on() -> None:
    result = plan([{**CALICO, "options": {"mode": "ebpf"}}, {**METRICS, "version": "v0.4.4-nks2"}])
    assert result.blocked == [
        Blocked(
            Reason.ADDON_BLOCKED,
            "add-on calico: option mode cannot change once installed (NKS's catalogue marks it "
            "not updatable): NKS has 'vxlan', the spec asks for 'ebpf'",
        )
    ]
    assert result.action is not None and result.action.target == "addon/metrics-server"


def test_nothing_is_planned_on_an_unknown_list() -> None:
    spec = cluster_spec(addons=[CALICO, METRICS])
    unknown = AddonView(CATALOGUE, None)
    assert addons.plan_addons(spec, unknown, kubernetes_version="v1.29.3", generation=1).state == (
        "in_sync"
    )
    refused = plan([CALICO], problem="NKS refused to list the cluster's add-ons")
    assert refused.blocked == [
        Blocked(Reason.ADDON_BLOCKED, "NKS refused to list the cluster's add-ons")
    ]


def test_an_add_on_in_progress_holds_every_add_on_operation() -> None:
    running = {**RUNNING, "coredns": installed("coredns", "1.8.4-nks1", "kube-dns", "X_IN_PROG")}
    result = plan([CALICO, {"name": "coredns", "version": "1.8.4-nks1"}, METRICS], running)
    assert result.waiting == Waiting("add-on coredns is X_IN_PROG in NKS", nks_busy=True)


def test_a_version_for_a_newer_kubernetes_waits_for_the_upgrade() -> None:
    result = plan([{**CALICO, "version": "v3.30.2-nks1"}], version="v1.29.3")
    assert result.action is None and result.waiting is not None
    assert "waits for the cluster's upgrade from v1.29.3" in result.waiting.message
    later = plan([{**CALICO, "version": "v3.30.2-nks1"}], version="v1.30.3")
    assert later.action is not None and later.action.operation == "CLUSTER_UPDATE_ADDON"


def failed_metrics(version: str = "v0.4.4-nks2") -> dict[str, InstalledAddon]:
    broken = installed(
        "metrics-server", version, "metrics-server", "UPDATE_FAILED", status_reason="boom"
    )
    return {**RUNNING, "metrics-server": broken}


def test_a_failure_is_not_applied_again_until_the_spec_changes() -> None:
    wanted = [CALICO, {**METRICS, "version": "v0.4.4-nks2"}]
    rows, _ = addons.statuses(
        list(failed_metrics().values()), cluster_spec(addons=wanted), (), CATALOGUE, 3
    )
    held = plan(wanted, failed_metrics(), rows, generation=3)
    assert held.action is None
    assert held.blocked == [
        Blocked(
            Reason.ADDON_FAILED,
            "add-on metrics-server: NKS reports UPDATE_FAILED: boom; it is not installed or "
            "updated again until the spec changes",
        )
    ]
    again = plan(wanted, failed_metrics(), rows, generation=4)
    assert again.action is not None
    assert again.action.summary == "apply add-on metrics-server v0.4.4-nks2 again"


def test_a_removed_optional_add_on_is_uninstalled() -> None:
    spec = cluster_spec(addons=[CALICO, METRICS])
    rows, _ = addons.statuses(list(RUNNING.values()), spec, (), CATALOGUE, 1)
    action = plan([CALICO], RUNNING, rows).action
    assert action is not None and action.operation == "CLUSTER_UNINSTALL_ADDON"
    assert action.args == {"addon": "metrics-server"}
    assert action.target == "addon/metrics-server"
    # Never listed: left alone.
    assert plan([CALICO]).state == "in_sync"


def test_statuses_mark_what_the_spec_manages_and_keep_mandatory_removals() -> None:
    before = cluster_spec(addons=[CALICO, {"name": "coredns", "version": "1.8.4-nks1"}, METRICS])
    rows, kept = addons.statuses(list(RUNNING.values()), before, (), CATALOGUE, 1)
    assert [(r.name, r.managed) for r in rows] == [
        ("calico", True),
        ("coredns", True),
        ("metrics-server", True),
    ]
    assert kept == []
    after = cluster_spec(addons=[CALICO])
    rows, kept = addons.statuses(list(RUNNING.values()), after, rows, CATALOGUE, 2)
    # coredns is of a mandatory type: kept, no longer managed; metrics-server to uninstall.
    assert [a.name for a in kept] == ["coredns"]
    assert {r.name: r.managed for r in rows} == {
        "calico": True,
        "coredns": False,
        "metrics-server": True,
    }
    assert plan([CALICO], RUNNING, rows).action.args == {"addon": "metrics-server"}  # type: ignore[union-attr]
    # Reported once: the next pass finds it unmanaged already.
    _, kept = addons.statuses(list(RUNNING.values()), after, rows, CATALOGUE, 2)
    assert kept == []


def test_a_type_nks_does_not_say_is_optional_is_never_removed() -> None:
    vault = installed("vault-agent", "v1", "secrets")
    spec = cluster_spec(addons=[{"name": "vault-agent", "version": "v1"}])
    rows, _ = addons.statuses([vault], spec, (), CATALOGUE, 1)
    rows, kept = addons.statuses([vault], cluster_spec(addons=[]), rows, CATALOGUE, 2)
    assert [a.name for a in kept] == ["vault-agent"] and not rows[0].managed
    assert not CATALOGUE.removable("secrets") and not CATALOGUE.removable(None)
    assert CATALOGUE.removable("metrics-server")


def test_a_failure_keeps_the_generation_it_was_first_seen_in() -> None:
    spec = cluster_spec(addons=[METRICS])
    rows, _ = addons.statuses(list(failed_metrics().values()), spec, (), CATALOGUE, 5)
    row = next(r for r in rows if r.name == "metrics-server")
    assert (row.status, row.message, row.failed_generation) == ("UPDATE_FAILED", "boom", 5)
    rows, _ = addons.statuses(list(failed_metrics().values()), spec, rows, CATALOGUE, 6)
    assert next(r for r in rows if r.name == "metrics-server").failed_generation == 5
    rows, _ = addons.statuses(list(RUNNING.values()), spec, rows, CATALOGUE, 6)
    assert next(r for r in rows if r.name == "metrics-server").failed_generation is None


def test_managed_only_while_the_spec_lists_add_ons_or_one_is_to_be_removed() -> None:
    assert not addons.managed(cluster_spec(), None)
    assert addons.managed(cluster_spec(addons=[METRICS]), None)
    pending = [AddonStatus(name="metrics-server", managed=True)]
    assert addons.managed(cluster_spec(), pending)
    assert not addons.managed(cluster_spec(), [AddonStatus(name="coredns", managed=False)])


def test_add_on_plans_come_after_every_other_cluster_operation() -> None:
    later = Plan(blocked=[Blocked(Reason.ADDON_BLOCKED, "b")])
    busy = Plan(waiting=Waiting("NKS runs something", nks_busy=True))
    assert then(busy, lambda: later) is busy
    other = Plan(blocked=[Blocked(Reason.NO_UPGRADE_PATH, "a")], waiting=Waiting("w"))
    merged = then(other, lambda: later)
    assert [b.message for b in merged.blocked] == ["a", "b"] and merged.waiting == Waiting("w")


# -- following an add-on operation --------------------------------------------------------


def test_reads_every_slow_resync_and_every_pass_while_following() -> None:
    slow = OperatorSettings().slow_poll_seconds  # the default, 120 s
    assert slow == 120.0
    assert addons.read_due(-1e9, 0.0, slow, following=False)  # never read
    assert not addons.read_due(1000.0, 1000.0 + slow - 1, slow, following=False)
    assert addons.read_due(1000.0, 1000.0 + slow + 1, slow, following=False)
    assert addons.read_due(1000.0, 1000.5, slow, following=True)


def test_an_operation_is_followed_by_the_add_on_or_the_cluster() -> None:
    calico = RUNNING["calico"]
    assert addons.target_status(calico, "UPDATE_COMPLETE") == "UPDATE_COMPLETE"
    busy = installed("calico", "v3.28.2-nks1", "cni", "DELETE_IN_PROGRESS")
    assert addons.target_status(busy, "CREATE_COMPLETE") == "DELETE_IN_PROGRESS"
    assert addons.target_status(None, "UPDATE_COMPLETE") == "UPDATE_COMPLETE"  # gone / not yet
    assert addons.target_name("addon/calico") == "calico"
    assert addons.target_name("default-worker") is None


def test_the_task_of_an_add_on_operation_is_the_clusters() -> None:
    from nks_operator.api.status import LastOperation

    last = LastOperation(
        type="CLUSTER_UPDATE_ADDON", state="Requested", target="addon/calico", sinceTaskID=4
    )
    task = TaskEvent.model_validate(
        {
            "id": 5,
            "uuid": "e5",
            "type": "CLUSTER_UPDATE_ADDON",
            "state": "SUCCESS",
            "resource_type": "cluster",
            "resource_name": "demo",
        }
    )
    assert matching_task(last, [task]) == task


@pytest.mark.parametrize("refusal", [errors.InvalidRequestError, errors.ForbiddenError])
def test_a_refusal_naming_the_nks_registry_says_what_to_do(refusal: type) -> None:
    class Client:
        async def install_addon(self, cluster: str, **args: Any) -> None:
            raise refusal("NKS registry is not enabled", operation="install_addon", status_code=400)

    action = plan([CALICO, {"name": "vault-agent", "version": "v1"}]).action
    assert action is not None
    with pytest.raises(refusal) as caught:
        asyncio.run(action.send(Client(), "c1"))  # type: ignore[arg-type]
    assert caught.value.message == "NKS registry is not enabled" + addons.REGISTRY_HINT
    assert caught.value.status_code == 400

    class Other:
        async def install_addon(self, cluster: str, **args: Any) -> None:
            raise errors.InvalidRequestError("bad version")

    with pytest.raises(errors.InvalidRequestError) as plain:
        asyncio.run(action.send(Other(), "c1"))  # type: ignore[arg-type]
    assert plain.value.message == "bad version"


# -- the catalogue cache ------------------------------------------------------------------


class FakeAccount:
    key = "tenant/kr2"

    def __init__(self) -> None:
        self.reads = 0
        self.client = self

    async def list_addon_catalogue(self) -> Listing[CatalogueAddon]:
        self.reads += 1
        return Listing(CATALOGUE.entries, [UnreadableEntry("u1", None, "no name")])

    async def list_addon_types(self) -> Listing[AddonType]:
        return Listing([AddonType(uuid="t1", name="cni", mandatory=True)])


def test_the_catalogue_is_read_once_per_ttl_with_the_default_ttl() -> None:
    ttl = OperatorSettings().supports_ttl_seconds  # the default, one hour
    assert ttl == 3600.0
    now = [0.0]
    catalogues = Catalogues(clock=lambda: now[0])
    account = FakeAccount()

    async def read() -> Catalogue:
        return await catalogues.get(account, ttl)  # type: ignore[arg-type]

    first = asyncio.run(read())
    assert first.mandatory == {"cni": True} and first.unreadable == ("(u1): no name",)
    now[0] = ttl - 1
    asyncio.run(read())
    assert account.reads == 1
    now[0] = ttl + 1
    asyncio.run(read())
    assert account.reads == 2
