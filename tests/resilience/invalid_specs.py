"""Hypothesis strategies for invalid NKSCluster / NKSNodeGroup specs.

Schema-invalid specs are derived from the generated CRDs themselves: every field of
`spec` with its type, required-ness, enum, pattern, length, range, item and entry limits, and
for each constraint values that break it, set into an otherwise valid manifest. A field
the CRD gains later is covered without touching this file.

Semantically invalid specs pass the schema but break an NKS rule the operator must check
before any call: CIDR overlaps, link-local and NKS-internal ranges, pod subnet sizes,
names, versions, autoscaler bounds, encryption keys without their appkey.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.e2e.helpers import ROOT, cluster_manifest, example

REMOVE = object()
"""Marker value: delete the field instead of setting it."""
SUPPORTED = {
    "v1.17.6": False,
    "v1.18.19": False,
    "v1.19.13": False,
    "v1.20.12": False,
    "v1.21.6": False,
    "v1.22.3": False,
    "v1.23.3": False,
    "v1.24.3": False,
    "v1.25.4": False,
    "v1.26.3": False,
    "v1.27.3": True,
    "v1.28.3": True,
    "v1.29.3": True,
    "v1.30.3": True,
    "v1.31.4": True,
}
"""The simulator's default version list: only the True ones may create a cluster."""

# Text without surrogates (they cannot be sent as UTF-8).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_CANDIDATES = (
    "a",
    "a1",
    "v1.29.3",
    "10.0.0.0/24",
    "kr2",
    "/data",
    "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
    "https://storage.example/v1/AUTH_t/logs",
)


@dataclass(frozen=True)
class Site:
    """One field of `spec`: its path ("[]" an array item, "*" a map value) and schema."""

    path: tuple[str, ...]
    schema: dict[str, Any]
    required: bool

    @property
    def dotted(self) -> str:
        return "spec." + ".".join(self.path)


@cache
def spec_schema(plural: str) -> dict[str, Any]:
    crd = yaml.safe_load((ROOT / "crds" / f"{plural}.nks.nhncloud.com.yaml").read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


def sites(schema: dict[str, Any], path: tuple[str, ...] = ()) -> list[Site]:
    found: list[Site] = []
    required = set(schema.get("required") or [])
    for name, sub in (schema.get("properties") or {}).items():
        found.append(Site((*path, name), sub, name in required))
        found += sites(sub, (*path, name))
    if isinstance(schema.get("items"), dict):
        found.append(Site((*path, "[]"), schema["items"], False))
        found += sites(schema["items"], (*path, "[]"))
    if isinstance(schema.get("additionalProperties"), dict):
        found.append(Site((*path, "*"), schema["additionalProperties"], False))
    return found


def _matches(schema: dict[str, Any], text: str) -> bool:
    pattern = schema.get("pattern")
    return (
        (pattern is None or re.search(pattern, text) is not None)
        and len(text) >= schema.get("minLength", 0)
        and len(text) <= schema.get("maxLength", 1 << 30)
    )


def sample_valid(schema: dict[str, Any]) -> Any:
    """A small value the schema accepts (for parents of the field being broken)."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: sample_valid(props[name]) for name in schema.get("required") or []}
    if kind == "array":
        return [sample_valid(schema["items"])] * schema.get("minItems", 0)
    if kind == "string":
        return next(c for c in _CANDIDATES if _matches(schema, c))
    if kind == "integer":
        return max(schema.get("minimum", 1), min(schema.get("maximum", 1), 1))
    if kind == "boolean":
        return False
    raise AssertionError(f"no sample for {schema}")


def _not_matching(pattern: str) -> st.SearchStrategy[str]:
    # Python's `re` is at least as lenient as Go's RE2 here (`\d` matches more digits,
    # `$` also before a final newline), so what Python rejects the apiserver rejects too.
    return TEXT.filter(lambda text: re.search(pattern, text) is None)


def _repeat(low: int, high: int) -> st.SearchStrategy[str]:
    """Strings of `low..high` characters, ASCII or not (limits count characters)."""
    chars = st.sampled_from(["x", "\u00e9", "\u754c", "\U0001f525"])
    return st.builds(lambda n, ch: ch * n, st.integers(low, high), chars)


def violations(site: Site) -> list[tuple[str, st.SearchStrategy[Any]]]:
    """(what is broken, values that break it) for one field."""
    schema, kind = site.schema, site.schema.get("type")
    found: list[tuple[str, st.SearchStrategy[Any]]] = []
    if site.required:
        found += [("missing", st.just(REMOVE)), ("null", st.none())]
    wrong_types: dict[str, st.SearchStrategy[Any]] = {
        "string": st.one_of(st.integers(), st.booleans(), st.lists(st.integers(), max_size=2)),
        "integer": st.one_of(TEXT, st.booleans(), st.integers(-1000, 1000).map(lambda n: n + 0.5)),
        "boolean": st.one_of(TEXT, st.integers()),
        "array": st.one_of(TEXT, st.integers(), st.just({"not": "a list"})),
        "object": st.one_of(TEXT, st.integers(), st.lists(st.integers(), min_size=1)),
    }
    if kind in wrong_types:
        found.append(("type", wrong_types[kind]))
    if "enum" in schema:
        found.append(("enum", TEXT.filter(lambda v: v not in schema["enum"])))
    if "pattern" in schema:
        found.append(("pattern", _not_matching(schema["pattern"])))
    if "maxLength" in schema:
        limit = schema["maxLength"]
        found.append(("maxLength", _repeat(limit + 1, limit + 64)))
    if schema.get("minLength", 0) >= 1 and site.required:
        found.append(("minLength", st.just("")))
    if "minimum" in schema:
        found.append(("minimum", st.integers(-(2**31), schema["minimum"] - 1)))
    if "maximum" in schema:
        found.append(("maximum", st.integers(schema["maximum"] + 1, 2**31)))
    if "maxItems" in schema:
        item = sample_valid(schema["items"])
        high = schema["maxItems"] + 3
        found.append(
            ("maxItems", st.integers(schema["maxItems"] + 1, high).map(lambda n: [item] * n))
        )
    if schema.get("minItems", 0) >= 1:
        found.append(("minItems", st.just([])))
    if "maxProperties" in schema:
        entry = sample_valid(schema["additionalProperties"])
        low, high = schema["maxProperties"] + 1, schema["maxProperties"] + 3
        found.append(
            (
                "maxProperties",
                st.integers(low, high).map(lambda n: {f"k{i}": entry for i in range(n)}),
            )
        )
    return found


def set_path(
    spec: dict[str, Any], schema: dict[str, Any], path: tuple[str, ...], value: Any
) -> None:
    """Set (or with REMOVE delete) `path` in `spec`, creating valid parents on the way."""
    node: Any = spec
    for step in path[:-1]:
        if step == "[]":
            schema = schema["items"]
            if not node:
                node.append(sample_valid(schema))
            node = node[0]
        elif step == "*":
            schema = schema["additionalProperties"]
            node = node.setdefault("k", sample_valid(schema))
        else:
            schema = schema["properties"][step]
            if not isinstance(node.get(step), dict | list):
                node[step] = sample_valid(schema)
            node = node[step]
    last = path[-1]
    if last == "[]":
        node[:] = [] if value is REMOVE else [value]
    elif last == "*":
        if value is not REMOVE:
            node["k"] = value
    elif value is REMOVE:
        node.pop(last, None)
    else:
        node[last] = value


def base_manifest(plural: str) -> dict[str, Any]:
    if plural == "nksclusters":
        return cluster_manifest("schema")
    manifest = example("nksnodegroup.yaml")
    manifest["metadata"]["name"] = "schema"
    return manifest


def constraints(plural: str) -> list[tuple[Site, str, st.SearchStrategy[Any]]]:
    """Every (field, constraint, breaking values) of a kind's spec schema."""
    return [
        (site, kind, values)
        for site in sites(spec_schema(plural))
        for kind, values in violations(site)
    ]


def broken_manifest(plural: str, site: Site, value: Any) -> dict[str, Any]:
    """A valid manifest of `plural` with `value` at `site` (REMOVE: the field deleted)."""
    manifest = copy.deepcopy(base_manifest(plural))
    set_path(manifest["spec"], spec_schema(plural), site.path, value)
    return manifest


# -- semantically invalid ------------------------------------------------------------------

NETWORK = {
    "vpcNetworkID": "eb212079-b6ec-430c-ba57-14280a457bcb",
    "subnetID": "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
}


def _net(first: int, second: int, prefix: int) -> str:
    return str(ipaddress.ip_network(f"{first}.{second}.0.0/{prefix}", strict=False))


@st.composite
def _overlap(draw: st.DrawFn) -> dict[str, Any]:
    prefix = draw(st.integers(12, 24))
    pods = _net(10, draw(st.integers(0, 255)), prefix)
    bigger = draw(st.integers(8, prefix))
    service = str(ipaddress.ip_network(pods).supernet(new_prefix=bigger))
    pair = [pods, service]
    if draw(st.booleans()):
        pair.reverse()
    return {"network": {**NETWORK, "podsNetworkCIDR": pair[0], "serviceClusterIPRange": pair[1]}}


@st.composite
def _reserved_range(draw: st.DrawFn) -> dict[str, Any]:
    """A range overlapping link-local 169.254.0.0/16 or NKS's own 198.18.0.0/19."""
    third = draw(st.integers(0, 31))
    if draw(st.booleans()):
        network = f"169.254.{third}.0/{draw(st.integers(12, 24))}"
    else:
        network = f"198.18.{third}.0/{draw(st.integers(15, 24))}"
    network = str(ipaddress.ip_network(network, strict=False))
    field = draw(st.sampled_from(["podsNetworkCIDR", "serviceClusterIPRange"]))
    return {"network": {**NETWORK, field: network}}


@st.composite
def _bad_cidr(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["small", "octet", "host-bits", "prefix"]))
    a, b = draw(st.integers(1, 223)), draw(st.integers(0, 255))
    if kind == "small":
        value = f"10.{b}.0.0/{draw(st.integers(25, 32))}"
    elif kind == "octet":
        value = f"{draw(st.integers(256, 999))}.{b}.0.0/16"
    elif kind == "host-bits":
        value = f"{a}.{b}.{draw(st.integers(1, 255))}.{draw(st.integers(1, 255))}/16"
    else:
        value = f"10.{b}.0.0/{draw(st.integers(33, 99))}"
    field = draw(st.sampled_from(["podsNetworkCIDR", "serviceClusterIPRange"]))
    return {"network": {**NETWORK, field: value}}


@st.composite
def _pods_subnet(draw: st.DrawFn) -> dict[str, Any]:
    prefix = draw(st.integers(19, 24))
    subnet = draw(st.integers(20, min(28, prefix + 1)))
    pods = _net(10, draw(st.integers(0, 255)), prefix)
    return {"network": {**NETWORK, "podsNetworkCIDR": pods, "podsNetworkSubnet": subnet}}


def _version_strategy() -> st.SearchStrategy[str]:
    unknown = st.builds(
        "v{}.{}.{}".format, st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)
    ).filter(lambda v: v not in SUPPORTED)
    retired = st.sampled_from([v for v, usable in SUPPORTED.items() if not usable])
    return st.one_of(unknown, retired)


@st.composite
def _autoscaler(draw: st.DrawFn) -> dict[str, Any]:
    """minNodes above maxNodes, or an enabled autoscaler whose range excludes nodeCount."""
    low = draw(st.integers(1, 99))
    high = draw(st.integers(low + 1, 100))
    if draw(st.booleans()):
        return {"autoscaler": {"enabled": draw(st.booleans()), "minNodes": high, "maxNodes": low}}
    outside = [n for n in (low - 1, high + 1) if 1 <= n <= 100] or [low]
    if outside == [low]:  # 1..100 holds every count: narrow it
        low, high = 2, 100
        outside = [1]
    scaler = {"enabled": True, "minNodes": low, "maxNodes": high}
    return {"autoscaler": scaler, "nodeCount": draw(st.sampled_from(outside))}


@st.composite
def _encryption(draw: st.DrawFn) -> dict[str, Any]:
    volume: dict[str, Any] = {"type": "General HDD"}
    if draw(st.booleans()):
        volume["keyID"] = draw(st.from_regex(r"\A[a-z0-9]{8,32}\Z"))
    else:
        volume["appKeySecretRef"] = {"name": "appkey", "key": "k"}
    return {"bootVolume": volume}


@st.composite
def _duplicate_subnet(draw: st.DrawFn) -> dict[str, Any]:
    subnet = str(draw(st.uuids()))
    group = {"targetSubnetID": subnet, "securityGroupIDs": [str(uuid.UUID(int=1))]}
    return {"extraSecurityGroups": [group, {**group, "securityGroupIDs": [str(uuid.UUID(int=2))]}]}


def _worker(changes: dict[str, Any]) -> dict[str, Any]:
    worker = copy.deepcopy(cluster_manifest()["spec"]["defaultWorker"])
    worker.update(changes)
    return {"defaultWorker": worker}


def _long_name() -> st.SearchStrategy[str]:
    return st.from_regex(r"\A[a-z][a-z0-9-]{19,61}[a-z0-9]\Z")


def _odd_name() -> st.SearchStrategy[str]:
    """Valid Kubernetes names NKS refuses: a dot, a leading digit, or a UUID."""
    return st.one_of(
        st.from_regex(r"\A[a-z][a-z0-9]{0,8}\.[a-z0-9]{1,8}\Z"),
        st.from_regex(r"\A[0-9][a-z0-9-]{0,17}[a-z0-9]\Z"),
        st.uuids().map(str),
    )


@st.composite
def semantic_cluster(draw: st.DrawFn) -> tuple[str, str | None, dict[str, Any]]:
    """(rule broken, metadata.name or None for "pick one", spec changes)."""
    rule = draw(
        st.sampled_from(
            [
                "cidr-overlap",
                "reserved-range",
                "bad-cidr",
                "pods-subnet",
                "version",
                "long-name",
                "odd-name",
                "autoscaler",
                "encryption",
                "security-groups",
                "ip-acl",
            ]
        )
    )
    name: str | None = None
    spec: dict[str, Any] = {}
    if rule == "cidr-overlap":
        spec = draw(_overlap())
    elif rule == "reserved-range":
        spec = draw(_reserved_range())
    elif rule == "bad-cidr":
        spec = draw(_bad_cidr())
    elif rule == "pods-subnet":
        spec = draw(_pods_subnet())
    elif rule == "version":
        spec = {"kubernetesVersion": draw(_version_strategy())}
    elif rule == "long-name":
        name = draw(_long_name())
    elif rule == "odd-name":
        name = draw(_odd_name())
    elif rule == "autoscaler":
        spec = _worker(draw(_autoscaler()))
    elif rule == "encryption":
        spec = _worker(draw(_encryption()))
    elif rule == "security-groups":
        spec = _worker(draw(_duplicate_subnet()))
    else:
        target = draw(
            st.one_of(
                st.just(None),
                st.builds("{}.{}.{}.{}".format, *[st.integers(256, 999)] * 4),
            )
        )
        targets = [] if target is None else [{"cidr": target}]
        spec = {"apiEndpoint": {"ipAccessControl": {"enabled": True, "targets": targets}}}
    return rule, name, spec


@st.composite
def semantic_nodegroup(draw: st.DrawFn) -> tuple[str, str | None, dict[str, Any]]:
    """(rule broken, metadata.name or None, spec changes) for a node group of a Ready cluster."""
    rule = draw(
        st.sampled_from(["reserved", "long-name", "odd-name", "autoscaler", "version", "stopped"])
    )
    name: str | None = None
    spec: dict[str, Any] = {}
    if rule == "reserved":
        spec = {"nodeGroupName": draw(st.sampled_from(["default-worker", "default-master"]))}
    elif rule == "long-name":
        name = draw(_long_name())
    elif rule == "odd-name":
        name = draw(_odd_name())
    elif rule == "autoscaler":
        spec = draw(_autoscaler())
    elif rule == "version":
        spec = {"kubernetesVersion": draw(_version_strategy().filter(lambda v: v not in SUPPORTED))}
    else:
        node = str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1))))
        spec = {"stoppedNodes": [node, node]}
    return rule, name, spec
