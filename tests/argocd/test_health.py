"""Argo CD health checks (argocd/health/<group>/<kind>/health.lua), run the way Argo CD does.

Argo CD runs a health check from `argocd-cm` in gopher-lua (Lua 5.1) with only `package`,
the base functions and `table` open, the live object as the global `obj`; its own tests
replay `health_test.yaml`. We do the same with lupa's Lua 5.1 in that exact sandbox
(tests/argocd/argo_lua.py, which cites Argo CD's source), so a script that passes here
cannot lean on anything Argo CD lacks - no `string` library, no string methods.

`python -m tests.argocd.test_health` prints the argocd-cm snippet that docs/argocd.md embeds.
"""

from __future__ import annotations

import copy
import itertools
import pathlib
import re
from collections.abc import Iterator
from typing import Any, get_args

import pytest
import yaml
from lupa import lua51
from pydantic import BaseModel

from nks_operator.api import (
    RESOURCES,
    NKSClusterSpec,
    NKSClusterStatus,
    NKSNodeGroupSpec,
    NKSNodeGroupStatus,
)
from nks_operator.api.resources import GROUP
from nks_operator.api.status import Phase
from nks_operator.control.passes import PAUSED_ANNOTATION, is_paused
from nks_operator.reconcile.reasons import CANNOT_PROCEED, NEEDS_ATTENTION, Reason
from tests.argocd.argo_lua import (
    ARGO_GLOBALS,
    PACKAGE_FIELDS,
    SAFE_OS_FUNCTIONS,
    TABLE_FUNCTIONS,
    ArgoLua,
    to_lua,
)

REPO = pathlib.Path(__file__).resolve().parents[2]
HEALTH_ROOT = REPO / "argocd" / "health" / GROUP
DOC = REPO / "docs" / "argocd.md"

MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "NKSCluster": (NKSClusterSpec, NKSClusterStatus),
    "NKSNodeGroup": (NKSNodeGroupSpec, NKSNodeGroupStatus),
}
KINDS = tuple(MODELS)
ARGO_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
# Statuses each kind's test cases must show at least once.
REQUIRED_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended"}


# -- loading -----------------------------------------------------------------------------


class _JSONLikeLoader(yaml.SafeLoader):
    """YAML as the API server's JSON would give it: timestamps stay strings."""


_JSONLikeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path: pathlib.Path) -> Any:
    return yaml.load(path.read_text(), Loader=_JSONLikeLoader)  # a SafeLoader subclass


def script_path(kind: str) -> pathlib.Path:
    return HEALTH_ROOT / kind / "health.lua"


def health_cases(kind: str) -> list[dict[str, Any]]:
    return load_yaml(HEALTH_ROOT / kind / "health_test.yaml")["tests"]


def all_cases() -> list[Any]:
    return [
        pytest.param(kind, case, id=f"{kind}/{pathlib.Path(case['inputPath']).stem}")
        for kind in KINDS
        for case in health_cases(kind)
    ]


def data_files(kind: str) -> list[pathlib.Path]:
    return sorted((HEALTH_ROOT / kind / "testdata").glob("*.yaml"))


def all_data_files() -> list[Any]:
    return [
        pytest.param(kind, path, id=f"{kind}/{path.stem}")
        for kind in KINDS
        for path in data_files(kind)
    ]


# -- running Lua like Argo CD ------------------------------------------------------------


def run_health(kind: str, obj: dict[str, Any], source: str | None = None) -> dict[str, str]:
    """Run `kind`'s health.lua (or `source`) on `obj` in Argo CD's sandbox; returns
    {"status", "message"} as Argo CD reads it. A Lua error raises lua51.LuaError: Argo CD
    would show the resource's health as Unknown with that error."""
    sandbox = ArgoLua()
    hs, leaked = sandbox.run(script_path(kind).read_text() if source is None else source, obj)
    assert leaked == [], "health.lua set globals: declare them local"
    assert sandbox.type_of(hs) == "table", "health.lua must return a table"
    result = {"status": hs["status"], "message": hs["message"]}
    assert result["status"] in ARGO_STATUSES, result
    assert isinstance(result["message"], str) and result["message"], result
    return result


# -- the cases ---------------------------------------------------------------------------


def test_kinds_are_the_operators_kinds() -> None:
    assert sorted(p.name for p in HEALTH_ROOT.iterdir()) == sorted(r.kind for r in RESOURCES)
    assert sorted(KINDS) == sorted(r.kind for r in RESOURCES)


@pytest.mark.parametrize(("kind", "case"), all_cases())
def test_health_case(kind: str, case: dict[str, Any]) -> None:
    obj = load_yaml(HEALTH_ROOT / kind / case["inputPath"])
    assert obj["kind"] == kind
    assert run_health(kind, obj) == case["healthStatus"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_testdata_file_is_a_case(kind: str) -> None:
    referenced = [case["inputPath"] for case in health_cases(kind)]
    assert len(referenced) == len(set(referenced)), "a testdata file is listed twice"
    on_disk = {f"testdata/{path.name}" for path in data_files(kind)}
    assert set(referenced) == on_disk


@pytest.mark.parametrize("kind", KINDS)
def test_cases_cover_every_phase(kind: str) -> None:
    """A phase added to the status model must get a health case (and maybe a rule)."""
    phases = set()
    for path in data_files(kind):
        phases.add((load_yaml(path).get("status") or {}).get("phase"))
    missing = set(get_args(Phase)) - phases
    assert not missing, f"no {kind} test case has phase {sorted(missing)}"


@pytest.mark.parametrize("kind", KINDS)
def test_cases_cover_every_health_status(kind: str) -> None:
    seen = {case["healthStatus"]["status"] for case in health_cases(kind)}
    assert seen >= REQUIRED_STATUSES
    assert seen <= ARGO_STATUSES


@pytest.mark.parametrize(("kind", "path"), all_data_files())
def test_testdata_is_what_the_operator_writes(kind: str, path: pathlib.Path) -> None:
    """Each test object is a valid CR whose status has only fields of the status model."""
    obj = load_yaml(path)
    spec_model, status_model = MODELS[kind]
    assert obj["apiVersion"] == f"{GROUP}/v1alpha1"
    spec_model.model_validate(obj["spec"])
    if "status" in obj:
        status = status_model.model_validate(obj["status"])
        # The status model ignores unknown fields; a round trip shows any misspelled one.
        dumped = status.model_dump(mode="json", by_alias=True, exclude_unset=True)
        assert dumped == obj["status"]


def _degraded_reasons(kind: str) -> set[str]:
    text = script_path(kind).read_text()
    block = re.search(r"local degraded_reasons = \{(.*?)\n\}", text, re.S)
    assert block, "health.lua lost its degraded_reasons table"
    return set(re.findall(r"^\s*(\w+) = true,", block.group(1), re.M))


@pytest.mark.parametrize("kind", KINDS)
def test_degraded_reasons_are_exactly_the_operators(kind: str) -> None:
    """The reasons that need a person (reconcile/reasons.py) are the health check's
    Degraded ones, both ways: a new reason is classified where it is added."""
    assert _degraded_reasons(kind) == {str(reason) for reason in NEEDS_ATTENTION}


def test_both_kinds_share_one_rule_set() -> None:
    """The scripts differ only in their header line, so a fix lands in both."""
    bodies = {kind: script_path(kind).read_text().split("\n", 1)[1] for kind in KINDS}
    assert len(set(bodies.values())) == 1


def _mutilated(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Partial objects: what an older operator, a hand edit or a half-written status leaves."""
    status = obj.get("status")
    if not isinstance(status, dict):
        return
    for key in status:
        variant = copy.deepcopy(obj)
        del variant["status"][key]
        yield variant
    for index, condition in enumerate(status.get("conditions") or []):
        for key in condition:
            if key == "type":
                continue
            variant = copy.deepcopy(obj)
            del variant["status"]["conditions"][index][key]
            yield variant
    variant = copy.deepcopy(obj)
    del variant["metadata"]["generation"]
    yield variant


@pytest.mark.parametrize(("kind", "path"), all_data_files())
def test_partial_status_never_breaks_the_script(kind: str, path: pathlib.Path) -> None:
    """A Lua error shows as a health error in Argo CD; every partial object gets a verdict."""
    for variant in _mutilated(load_yaml(path)):
        run_health(kind, variant)


def test_to_lua_is_faithful() -> None:
    lua = lua51.LuaRuntime()
    table = to_lua(lua, {"a": [{"b": 1}, "x", True], "n": None, "f": 1.5})
    probe = lua.eval(
        "function(t) return t.a[1].b, t.a[2], t.a[3], t.n == nil, #t.a, t.f, t.a[0] == nil end"
    )
    assert probe(table) == (1, "x", True, True, 3, 1.5, True)


# -- Argo CD's sandbox -------------------------------------------------------------------

_PROBE = """
local names = {}
for name in pairs(_G) do names[#names + 1] = name end
local table_functions = {}
for name in pairs(table) do table_functions[#table_functions + 1] = name end
local package_fields = {}
for name in pairs(package) do package_fields[#package_fields + 1] = name end
local loaded = {}
for name in pairs(package.loaded) do loaded[#loaded + 1] = name end
local safe_os = {}
for name in pairs(require("os")) do safe_os[#safe_os + 1] = name end
local method_ok, method_error = pcall(function() return ("x"):lower() end)
return {
  globals = table.concat(names, " "),
  table = table.concat(table_functions, " "),
  package = table.concat(package_fields, " "),
  loaded = table.concat(loaded, " "),
  safe_os = table.concat(safe_os, " "),
  loaders = #package.loaders,
  string_metatable = getmetatable("") == nil and "none" or "present",
  method_ok = method_ok,
  method_error = method_error,
}
"""


def test_the_sandbox_is_argo_cds() -> None:
    """Exactly the globals, table functions and package fields of Argo CD's state; no
    string library and no string methods (tests/argocd/argo_lua.py cites the source)."""
    seen, leaked = ArgoLua().run(_PROBE, {"kind": "Probe"})
    assert leaked == []
    assert set(seen["globals"].split()) == ARGO_GLOBALS | {"obj", "actionParams"}
    for missing in ("string", "math", "os", "io", "debug", "coroutine", "python"):
        assert missing not in seen["globals"].split()
    assert set(seen["table"].split()) == TABLE_FUNCTIONS
    assert set(seen["package"].split()) == PACKAGE_FIELDS
    assert set(seen["loaded"].split()) == {"_G", "table"}
    assert set(seen["safe_os"].split()) == SAFE_OS_FUNCTIONS
    assert seen["loaders"] == 2
    assert seen["string_metatable"] == "none"
    assert seen["method_ok"] is False
    assert "attempt to index a string value" in seen["method_error"]


def test_the_sandbox_refuses_string_functions_and_methods() -> None:
    for source in (
        'return {status = string.lower("Healthy"), message = "m"}',
        'return {status = ("healthy"):upper(), message = "m"}',
        'return {status = "Healthy", message = ("%d"):format(1)}',
        'return {status = "Healthy", message = tostring(math.floor(1.5))}',
    ):
        with pytest.raises(lua51.LuaError, match="attempt to index"):
            ArgoLua().run(source, {})


_PAUSED_LINE = re.compile(r"^local paused = .*$", re.M)
# The annotation check of earlier versions, which works only with the string library.
_OLD_PAUSED_CHECKS = (
    'annotations ~= nil and annotations["nks.nhncloud.com/paused"] ~= nil\n'
    '  and string.lower(annotations["nks.nhncloud.com/paused"]) == "true"',
    'annotations ~= nil and annotations["nks.nhncloud.com/paused"] ~= nil\n'
    '  and annotations["nks.nhncloud.com/paused"]:lower() == "true"',
)


def _with_paused_check(kind: str, expression: str) -> str:
    script = script_path(kind).read_text()
    assert len(_PAUSED_LINE.findall(script)) == 1, "health.lua lost its `local paused =` line"
    return _PAUSED_LINE.sub(lambda _: f"local paused = {expression}", script)


def _run_in_full_lua(source: str, obj: dict[str, Any]) -> Any:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = to_lua(lua, obj)
    return lua.execute(source)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("expression", _OLD_PAUSED_CHECKS, ids=["string.lower", "method"])
def test_the_old_paused_check_fails_in_argo_cds_sandbox(kind: str, expression: str) -> None:
    """The string-library check runs in a full Lua but errors in Argo CD's sandbox - each
    paused resource showed Unknown. The harness must catch that; the current script passes."""
    obj = load_yaml(HEALTH_ROOT / kind / "testdata" / "suspended_paused.yaml")
    old = _with_paused_check(kind, expression)
    assert _run_in_full_lua(old, obj)["status"] == "Suspended"
    with pytest.raises(lua51.LuaError, match="attempt to index"):
        run_health(kind, obj, source=old)
    assert run_health(kind, obj)["status"] == "Suspended"


_LIBRARY_USE = re.compile(
    r"\b(?:string|math|os|io|debug|coroutine)\s*\.|"
    r":\s*(?:byte|find|format|gmatch|gsub|len|lower|match|rep|reverse|sub|upper)\s*\("
)


@pytest.mark.parametrize("kind", KINDS)
def test_scripts_name_no_library_argo_cd_lacks(kind: str) -> None:
    """Also on paths no test object reaches (comments are not code)."""
    code = re.sub(r"--[^\n]*", "", script_path(kind).read_text())
    assert _LIBRARY_USE.findall(code) == []


def _body_with_paused(kind: str, value: str | None) -> dict[str, Any]:
    obj = load_yaml(HEALTH_ROOT / kind / "testdata" / "healthy_ready.yaml")
    annotations = obj["metadata"].setdefault("annotations", {})
    annotations.pop(PAUSED_ANNOTATION, None)
    if value is not None:
        annotations[PAUSED_ANNOTATION] = value
    return obj


def _capitalisations(word: str) -> list[str]:
    spellings = [""]
    for letter in word:
        spellings = [s + c for s in spellings for c in (letter.lower(), letter.upper())]
    return spellings


@pytest.mark.parametrize("kind", KINDS)
def test_paused_spellings_are_the_operators(kind: str) -> None:
    """The script pauses exactly when the operator does (control/reconciler.py `is_paused`)."""
    values: list[str | None] = [None, "", "false", "False", "yes", "1", "on", " true", "true "]
    values += ["truee", "tru", "ttrue", *_capitalisations("true")]
    for value in values:
        body = _body_with_paused(kind, value)
        verdict = run_health(kind, body)["status"]
        assert verdict == ("Suspended" if is_paused(body) else "Healthy"), value
    assert is_paused(_body_with_paused(kind, "tRuE"))


# Every phase (and none) x pause x each condition absent or in each status, with a reason
# a person must fix and one that waiting fixes, written for the current generation or an
# older one. The expected verdict is the table in docs/argocd.md.
_DEGRADED = {"InvalidSpec", "CredentialsRejected"}  # among the script's degraded_reasons
_READY = [None] + [(s, r) for s in ("True", "False", "Unknown") for r in ("InvalidSpec", "Paused")]
_READY += [("False", "Provisioning")]
_SYNCED = [None] + [(s, r) for s in ("True", "False") for r in ("CredentialsRejected", "Observed")]
_PROGRESSING = [None, ("True", "NODEGROUP_UPGRADE"), ("False", "Idle")]
_PAUSED = [None, "true", "TRUE", "false"]


def _combination(
    kind: str,
    phase: str | None,
    paused: str | None,
    conditions: dict[str, tuple[str, str] | None],
    observed: int,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "platform", "generation": 2},
        "spec": {},
    }
    if paused is not None:
        obj["metadata"]["annotations"] = {PAUSED_ANNOTATION: paused}
    status: dict[str, Any] = {"observedGeneration": observed}
    if phase is not None:
        status["phase"] = phase
    listed = [
        {
            "type": type_,
            "status": value[0],
            "reason": value[1],
            "message": f"{type_} says {value[1]}",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
            "observedGeneration": observed,
        }
        for type_, value in conditions.items()
        if value is not None
    ]
    if listed:
        status["conditions"] = listed
    obj["status"] = status
    return obj


def _expected(
    phase: str | None,
    paused: bool,
    conditions: dict[str, tuple[str, str] | None],
    fresh: bool,
) -> str:
    ready, synced, progressing = (conditions[t] for t in ("Ready", "Synced", "Progressing"))
    if (phase is None and not any(conditions.values())) or not fresh:
        return "Suspended" if paused else "Progressing"
    for condition in (ready, synced):
        if condition is not None and condition[0] == "False" and condition[1] in _DEGRADED:
            return "Degraded"
    if phase == "Failed":
        return "Degraded"
    if paused:
        return "Suspended"
    if progressing is not None and progressing[0] == "True":
        return "Progressing"
    if phase == "Ready" and ready is not None and ready[0] == "True":
        return "Healthy"
    return "Progressing"


@pytest.mark.parametrize("kind", KINDS)
def test_every_phase_and_condition_combination(kind: str) -> None:
    """Each combination gets a verdict in Argo CD's sandbox (no Lua error), and the one
    docs/argocd.md's table promises."""
    assert _degraded_reasons(kind) >= _DEGRADED
    phases: list[str | None] = [None, *get_args(Phase)]
    count = 0
    for phase, paused, ready, synced, progressing, observed in itertools.product(
        phases, _PAUSED, _READY, _SYNCED, _PROGRESSING, (2, 1)
    ):
        conditions = {"Ready": ready, "Synced": synced, "Progressing": progressing}
        obj = _combination(kind, phase, paused, conditions, observed)
        want = _expected(phase, is_paused(obj), conditions, fresh=observed == 2)
        assert run_health(kind, obj)["status"] == want, (phase, paused, conditions, observed)
        count += 1
    assert count == len(phases) * len(_PAUSED) * len(_READY) * len(_SYNCED) * 3 * 2


# -- what docs/argocd.md promises about drift --------------------------------------------


def _defaults_in_list_items(schema: Any, path: str, in_list: bool) -> Iterator[str]:
    if not isinstance(schema, dict):
        return
    if in_list and "default" in schema:
        yield path
    for name, child in (schema.get("properties") or {}).items():
        yield from _defaults_in_list_items(child, f"{path}.{name}", in_list)
    if "items" in schema:
        yield from _defaults_in_list_items(schema["items"], f"{path}[]", True)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _defaults_in_list_items(schema["additionalProperties"], f"{path}.*", in_list)


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_crd_writes_cause_no_argo_drift(resource: Any) -> None:
    """No ignoreDifferences needed: status is a subresource, and no default sits in a list
    item (Argo CD's three-way diff replaces lists whole, so such a default would be drift)."""
    crd = load_yaml(REPO / "crds" / f"{resource.crd_name}.yaml")
    for version in crd["spec"]["versions"]:
        assert "status" in version.get("subresources", {}), version["name"]
        spec_schema = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
        assert list(_defaults_in_list_items(spec_schema, "spec", False)) == []


def test_default_finder_finds_list_defaults() -> None:
    schema = {
        "properties": {
            "a": {"default": 1},
            "l": {"items": {"properties": {"x": {"default": "y"}}}},
        }
    }
    assert list(_defaults_in_list_items(schema, "spec", False)) == ["spec.l[].x"]


# -- the argocd-cm snippet in docs/argocd.md ---------------------------------------------


def render_argocd_cm() -> str:
    """The argocd-cm ConfigMap carrying both health checks, as docs/argocd.md shows it."""
    lines = [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: argocd-cm",
        "  namespace: argocd",
        "  labels:",
        "    app.kubernetes.io/name: argocd-cm",
        "    app.kubernetes.io/part-of: argocd",
        "data:",
    ]
    for kind in KINDS:
        lines.append(f"  resource.customizations.health.{GROUP}_{kind}: |")
        script = script_path(kind).read_text()
        lines += [f"    {line}" if line else "" for line in script.split("\n")]
    return "\n".join(lines).rstrip("\n") + "\n"


def test_docs_embed_the_current_health_checks() -> None:
    snippet = render_argocd_cm()
    doc = DOC.read_text()
    assert f"```yaml\n{snippet}```" in doc, (
        "docs/argocd.md is out of date: replace its argocd-cm block with the output of "
        "`python -m tests.argocd.test_health`"
    )
    data = yaml.safe_load(snippet)["data"]
    for kind in KINDS:
        assert data[f"resource.customizations.health.{GROUP}_{kind}"] == (
            script_path(kind).read_text()
        )


if __name__ == "__main__":
    print(render_argocd_cm(), end="")


def _blocked_reasons(kind: str) -> set[str]:
    text = script_path(kind).read_text()
    block = re.search(r"local blocked_reasons = \{(.*?)\n\}", text, re.S)
    assert block, "health.lua lost its blocked_reasons table"
    return set(re.findall(r"^\s*(\w+) = true,", block.group(1), re.M))


@pytest.mark.parametrize("kind", KINDS)
def test_blocked_reasons_are_exactly_the_operators(kind: str) -> None:
    assert _blocked_reasons(kind) == {str(reason) for reason in CANNOT_PROCEED}


def _running_with(kind: str, synced: str, progressing: tuple[str, str]) -> dict[str, Any]:
    return _combination(
        kind,
        "Ready",
        None,
        {
            "Ready": ("True", "ClusterReady" if kind == "NKSCluster" else "NodeGroupReady"),
            "Synced": ("False", synced),
            "Progressing": progressing,
        },
        2,
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reason", sorted(Reason), ids=str)
def test_every_reason_on_a_running_resource(kind: str, reason: Reason) -> None:
    """A Ready resource whose Synced (or Progressing) is False for `reason`: Degraded when a
    person must act, else still Healthy (a transient problem is shown, not judged)."""
    person = reason in NEEDS_ATTENTION or reason in CANNOT_PROCEED
    verdict = run_health(kind, _running_with(kind, str(reason), ("False", "Idle")))
    assert verdict["status"] == ("Degraded" if person else "Healthy"), verdict
    if person:
        assert str(reason) in verdict["message"]
    on_progress = run_health(kind, _running_with(kind, "Observed", ("False", str(reason))))
    expected = "Degraded" if reason in CANNOT_PROCEED else "Healthy"
    assert on_progress["status"] == expected, on_progress
