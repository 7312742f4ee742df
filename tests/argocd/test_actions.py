"""Argo CD resource actions (argocd/actions/<group>/<kind>/), run the way Argo CD runs them.

The folder of each kind is what Argo CD keeps in `resource_customizations/<group>/<kind>/
actions/`: `discovery.lua` (which actions are offered for an object), `<action>/action.lua`
(the object changed; Argo CD patches the live object with the difference),
`action_test.yaml` and `testdata/`. Argo CD runs both kinds of script in the same sandbox
as a health check (tests/argocd/argo_lua.py), then encodes the returned table as JSON with
gopher-json and puts back any map that came back as an empty array (`cleanReturnedObj`);
`ArgoLua.run_action` does the same. Argo CD's own action tests replace the time an action
writes by a constant before comparing; here the sandbox's clock is fixed instead.

`python -m tests.argocd.test_actions` prints the argocd-cm snippet that docs/argocd.md embeds.
"""

from __future__ import annotations

import calendar
import copy
import datetime
import pathlib
import re
from typing import Any

import pytest
import yaml

from nks_operator.api.resources import GROUP
from nks_operator.control.passes import (
    PAUSED_ANNOTATION,
    RECONCILE_REQUESTED_ANNOTATION,
    RENEW_CERTIFICATE_ANNOTATION,
    is_paused,
)
from tests.argocd.argo_lua import ArgoLua, LuaActionError, clean_returned_obj

REPO = pathlib.Path(__file__).resolve().parents[2]
ACTIONS_ROOT = REPO / "argocd" / "actions" / GROUP
DOC = REPO / "docs" / "argocd.md"
KINDS = ("NKSCluster", "NKSNodeGroup")
# What each kind offers; certificates belong to clusters only.
ACTIONS = {
    "NKSCluster": ("pause", "reconcile", "renew-certificate", "resume"),
    "NKSNodeGroup": ("pause", "reconcile", "resume"),
}
# The instant the sandbox's os.time()/os.date() read in these tests (the testdata's "now").
NOW = "2025-06-01T12:00:00Z"
CLOCK = calendar.timegm(datetime.datetime.fromisoformat(NOW).utctimetuple())


def kind_dir(kind: str) -> pathlib.Path:
    return ACTIONS_ROOT / kind


def action_script(kind: str, action: str) -> str:
    return (kind_dir(kind) / action / "action.lua").read_text()


def discovery_script(kind: str) -> str:
    return (kind_dir(kind) / "discovery.lua").read_text()


def case_file(kind: str) -> dict[str, Any]:
    return yaml.safe_load((kind_dir(kind) / "action_test.yaml").read_text())


def read_object(kind: str, relative: str) -> dict[str, Any]:
    return yaml.safe_load((kind_dir(kind) / relative).read_text())


def discovery_cases() -> list[Any]:
    return [
        pytest.param(kind, case, id=f"{kind}-{case['inputPath']}")
        for kind in KINDS
        for case in case_file(kind)["discoveryTests"]
    ]


def action_cases() -> list[Any]:
    return [
        pytest.param(kind, case, id=f"{kind}-{case['action']}-{case['inputPath']}")
        for kind in KINDS
        for case in case_file(kind)["actionTests"]
    ]


def discover(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    found, leaked = ArgoLua(clock=CLOCK).discover(discovery_script(kind), obj)
    assert leaked == [], f"discovery.lua sets globals {leaked}: make them local"
    return found


def run(kind: str, action: str, obj: dict[str, Any]) -> dict[str, Any]:
    result, leaked = ArgoLua(clock=CLOCK).run_action(action_script(kind, action), obj)
    assert leaked == [], f"{action}/action.lua sets globals {leaked}: make them local"
    return result


# -- the cases of action_test.yaml ------------------------------------------------------


@pytest.mark.parametrize(("kind", "case"), discovery_cases())
def test_discovery_case(kind: str, case: dict[str, Any]) -> None:
    found = discover(kind, read_object(kind, case["inputPath"]))
    # Argo CD's action tests compare the name and whether it is disabled.
    assert sorted(
        ({"name": name, "disabled": bool(item.get("disabled"))} for name, item in found.items()),
        key=lambda item: item["name"],
    ) == sorted(case["result"], key=lambda item: item["name"])


@pytest.mark.parametrize(("kind", "case"), action_cases())
def test_action_case(kind: str, case: dict[str, Any]) -> None:
    live = read_object(kind, case["inputPath"])
    result = run(kind, case["action"], copy.deepcopy(live))
    assert result == read_object(kind, case["expectedOutputPath"])


@pytest.mark.parametrize("kind", KINDS)
def test_every_action_is_discovered_tested_and_labelled(kind: str) -> None:
    folders = sorted(p.parent.name for p in kind_dir(kind).glob("*/action.lua"))
    assert folders == list(ACTIONS[kind])
    found = discover(kind, read_object(kind, "testdata/ready.yaml"))
    assert sorted(found) == list(ACTIONS[kind])
    for name, item in found.items():
        assert set(item) == {"disabled", "iconClass", "displayName"}, name
        assert isinstance(item["displayName"], str) and isinstance(item["iconClass"], str)
    tested = {case["action"] for case in case_file(kind)["actionTests"]}
    assert tested == set(ACTIONS[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_every_testdata_file_is_used(kind: str) -> None:
    cases = case_file(kind)
    used = {case["inputPath"] for case in cases["discoveryTests"]}
    for case in cases["actionTests"]:
        used |= {case["inputPath"], case["expectedOutputPath"]}
    on_disk = {f"testdata/{p.name}" for p in (kind_dir(kind) / "testdata").glob("*.yaml")}
    assert on_disk == used


# -- what the operator reads from the result --------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_pause_and_resume_are_what_the_operator_reads(kind: str) -> None:
    for start in ("ready", "paused", "paused_only", "paused_false"):
        live = read_object(kind, f"testdata/{start}.yaml")
        offered = discover(kind, live)
        assert offered["pause"]["disabled"] is is_paused(live), start
        assert offered["resume"]["disabled"] is not is_paused(live), start
        if not is_paused(live):
            assert is_paused(run(kind, "pause", copy.deepcopy(live))), start
        else:
            resumed = run(kind, "resume", copy.deepcopy(live))
            assert not is_paused(resumed), start
            assert PAUSED_ANNOTATION not in (resumed["metadata"].get("annotations") or {})
            # Nothing else changes.
            others = {
                key: value
                for key, value in live["metadata"]["annotations"].items()
                if key != PAUSED_ANNOTATION
            }
            assert (resumed["metadata"].get("annotations") or {}) == others
            assert {k: v for k, v in resumed.items() if k != "metadata"} == {
                k: v for k, v in live.items() if k != "metadata"
            }


def test_removing_the_last_annotation_the_plain_way_would_keep_the_pause() -> None:
    """Why resume drops an emptied annotations map: Argo CD would put the old map back."""
    live = read_object("NKSCluster", "testdata/paused_only.yaml")
    naive = 'obj.metadata.annotations["nks.nhncloud.com/paused"] = nil\nreturn obj'
    result, _ = ArgoLua().run_action(naive, copy.deepcopy(live))
    assert is_paused(result)
    assert clean_returned_obj({"a": []}, {"a": {"k": "v"}}) == {"a": {"k": "v"}}


@pytest.mark.parametrize("kind", KINDS)
def test_reconcile_always_writes_a_new_value(kind: str) -> None:
    """Each click changes the annotation (the operator acts on a change), even within the
    same second."""
    live = read_object(kind, "testdata/ready.yaml")
    previous = None
    for _ in range(4):
        live = run(kind, "reconcile", live)
        value = live["metadata"]["annotations"][RECONCILE_REQUESTED_ANNOTATION]
        assert value != previous
        previous = value


def test_renewal_is_a_value_the_operator_has_not_acted_on() -> None:
    for start in ("ready", "renewed_now", "renewed_now_annotation_removed"):
        live = read_object("NKSCluster", f"testdata/{start}.yaml")
        result = run("NKSCluster", "renew-certificate", copy.deepcopy(live))
        value = result["metadata"]["annotations"][RENEW_CERTIFICATE_ANNOTATION]
        # control/cluster.py renewal_requested(): a value other than the last one acted on.
        assert value != (live.get("status") or {}).get("certificateRenewalRequest"), start
        assert value != (live["metadata"].get("annotations") or {}).get(
            RENEW_CERTIFICATE_ANNOTATION
        )


def test_the_real_clock_writes_utc_timestamps() -> None:
    live = read_object("NKSNodeGroup", "testdata/ready.yaml")
    # Lua's os.date reads libc's time(), a coarse clock that may still show the previous
    # second a few milliseconds after Python's clock has passed it: a second of slack.
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    result, _ = ArgoLua().run_action(action_script("NKSNodeGroup", "reconcile"), live)
    after = datetime.datetime.now(datetime.UTC)
    value = result["metadata"]["annotations"][RECONCILE_REQUESTED_ANNOTATION]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value), value
    written = datetime.datetime.fromisoformat(value)
    assert before - datetime.timedelta(seconds=1) <= written <= after


@pytest.mark.parametrize("kind", KINDS)
def test_scripts_use_the_operators_annotations_and_no_missing_library(kind: str) -> None:
    sources = [discovery_script(kind)] + [action_script(kind, a) for a in ACTIONS[kind]]
    text = "\n".join(sources)
    for name in re.findall(r'"(nks\.nhncloud\.com/[^"]+)"', text):
        assert name in {
            PAUSED_ANNOTATION,
            RECONCILE_REQUESTED_ANNOTATION,
            RENEW_CERTIFICATE_ANNOTATION,
        }, name
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    for library in ("string", "math", "io", "debug", "coroutine"):
        assert not re.search(rf"\b{library}\s*\.", code), library
    assert not re.search(r"\)\s*:\s*\w+\(|\w:\w+\(", code), "string methods fail in Argo CD"
    # os only through require("os"), as Argo CD offers it.
    assert not re.search(r"(?<!local )\bos\s*=", code)


def test_shared_actions_are_the_same_for_both_kinds() -> None:
    for action in ACTIONS["NKSNodeGroup"]:
        assert action_script("NKSCluster", action) == action_script("NKSNodeGroup", action)
    cluster, nodegroup = discovery_script("NKSCluster"), discovery_script("NKSNodeGroup")
    assert cluster.replace("NKSCluster", "NKSNodeGroup").startswith(
        nodegroup.removesuffix("return actions\n")
    )


def test_the_encoder_refuses_what_gopher_json_refuses() -> None:
    argo = ArgoLua()
    with pytest.raises(LuaActionError, match="sparse"):
        argo.run_action("obj.metadata.x = {[1] = 1, [3] = 3}\nreturn obj", {"metadata": {}})
    with pytest.raises(LuaActionError, match="must return a table"):
        argo.run_action("return 1", {"metadata": {}})


# -- the argocd-cm snippet in docs/argocd.md ---------------------------------------------


def _block(text: str, indent: int) -> list[str]:
    pad = " " * indent
    return [f"{pad}{line}" if line else "" for line in text.rstrip("\n").split("\n")]


def render_actions_cm() -> str:
    """The argocd-cm keys carrying both kinds' actions, as docs/argocd.md shows them."""
    lines = ["data:"]
    for kind in KINDS:
        lines.append(f"  resource.customizations.actions.{GROUP}_{kind}: |")
        lines.append("    discovery.lua: |")
        lines += _block(discovery_script(kind), 6)
        lines.append("    definitions:")
        for action in ACTIONS[kind]:
            lines.append(f"      - name: {action}")
            lines.append("        action.lua: |")
            lines += _block(action_script(kind, action), 10)
    return "\n".join(lines) + "\n"


def test_docs_embed_the_current_actions() -> None:
    snippet = render_actions_cm()
    assert f"```yaml\n{snippet}```" in DOC.read_text(), (
        "docs/argocd.md is out of date: replace its actions block with the output of "
        "`python -m tests.argocd.test_actions`"
    )
    data = yaml.safe_load(snippet)["data"]
    for kind in KINDS:
        value = yaml.safe_load(data[f"resource.customizations.actions.{GROUP}_{kind}"])
        assert value["discovery.lua"] == discovery_script(kind)
        assert [d["name"] for d in value["definitions"]] == list(ACTIONS[kind])
        for definition in value["definitions"]:
            assert definition["action.lua"] == action_script(kind, definition["name"])


if __name__ == "__main__":
    print(render_actions_cm(), end="")
