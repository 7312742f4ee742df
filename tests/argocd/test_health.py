"""Argo CD health checks (argocd/health/<group>/<kind>/health.lua), run the way Argo CD does.

Argo CD runs each health.lua in gopher-lua (Lua 5.1) with the live object, decoded from
JSON, as the global `obj`, and its own tests replay `health_test.yaml`. We do the same with
lupa's Lua 5.1, in a sandbox holding only the base, string, table and math libraries, so a
script that passes here cannot lean on anything Argo CD lacks.

`python -m tests.argocd.test_health` prints the argocd-cm snippet that docs/argocd.md embeds.
"""

from __future__ import annotations

import copy
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

REPO = pathlib.Path(__file__).resolve().parents[2]
HEALTH_ROOT = REPO / "argocd" / "health" / GROUP
DOC = REPO / "docs" / "argocd.md"
OPERATOR_SOURCE = REPO / "operator" / "nks_operator"

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

# Loads the script as a chunk whose only globals are `obj` and the libraries Argo CD opens;
# returns its result and the names of any globals it left behind (a typo'd local).
_SANDBOX = """
function(source, obj)
  local chunk, err = loadstring(source, "=health.lua")
  if chunk == nil then error(err, 0) end
  local env = {string = string, table = table, math = math, obj = obj}
  for _, name in ipairs({"assert", "error", "ipairs", "next", "pairs", "pcall", "select",
                         "tonumber", "tostring", "type", "unpack", "xpcall"}) do
    env[name] = _G[name]
  end
  local before = {}
  for name in pairs(env) do before[name] = true end
  setfenv(chunk, env)
  local hs = chunk()
  local leaked = {}
  for name in pairs(env) do
    if not before[name] then leaked[#leaked + 1] = name end
  end
  return hs, leaked
end
"""


def to_lua(lua: Any, value: Any) -> Any:
    """A JSON-like value as gopher-lua sees it: objects and arrays become tables (arrays
    1-based), null becomes nil, numbers are numbers, strings and booleans stay."""
    if isinstance(value, dict):
        table = lua.table()
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"non-string object key {key!r}: JSON has none")
            if item is not None:
                table[key] = to_lua(lua, item)
        return table
    if isinstance(value, list):
        table = lua.table()
        for index, item in enumerate(value, start=1):
            if item is not None:
                table[index] = to_lua(lua, item)
        return table
    if isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{type(value).__name__} cannot come from JSON: {value!r}")


def run_health(kind: str, obj: dict[str, Any]) -> dict[str, str]:
    """Run `kind`'s health.lua on `obj`; returns {"status", "message"} as Argo CD reads it."""
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    assert lua.eval("_VERSION") == "Lua 5.1"
    run = lua.eval(_SANDBOX)
    hs, leaked = run(script_path(kind).read_text(), to_lua(lua, obj))
    assert list(leaked.values()) == [], "health.lua set globals: declare them local"
    assert lua.eval("type")(hs) == "table", "health.lua must return a table"
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


def _operator_problem_reasons() -> set[str]:
    """Reasons the operator gives for problems that need a person (see control/base.py)."""
    pattern = re.compile(
        r"(?:\._problem|\._credentials_problem|CredentialsProblem)\(\s*\"([A-Za-z]+)\""
    )
    reasons = set()
    for path in OPERATOR_SOURCE.rglob("*.py"):
        reasons |= set(pattern.findall(path.read_text()))
    return reasons


@pytest.mark.parametrize("kind", KINDS)
def test_every_problem_reason_is_degraded(kind: str) -> None:
    """A new `_problem(...)` reason in the operator must be classified by the health check."""
    reasons = _operator_problem_reasons()
    assert {"InvalidSpec", "CredentialsSecretNotFound", "ClusterNotFound"} <= reasons
    missing = reasons - _degraded_reasons(kind)
    assert not missing, f"{kind} health.lua does not treat {sorted(missing)} as Degraded"
    assert "NKSFailed" in _degraded_reasons(kind)


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
