"""The simulator's add-on catalogue: the types (`cni` and `kube-dns` mandatory) and the
versions NHN's user guide lists, with option schemas shaped like the current edition's.

The type names, add-on names and versions follow the user guide's add-on list
(docs/nks-api-notes.md, "Add-ons"); calico's `mode` option follows the CE example. The
`k8s_min_version` of calico v3.30.2 and metrics-server's `replicas` option are the
simulator's own, so that a version outside a cluster's range and an updatable INTEGER
option can be tested: NHN's catalogue may differ. UUIDs are derived from the names, so
they are the same in every run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from nks_devtools.simulator import versions
from nks_devtools.simulator.errors import NotFound

_NAMESPACE = uuid.UUID("6f1c6a52-31a4-4bb0-9d7f-4f1c2f1ad7a1")


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class AddonType:
    name: str
    mandatory: bool

    @property
    def uuid(self) -> str:
        return _uuid("type", self.name)


@dataclass(frozen=True)
class OptionSchema:
    name: str
    data_type: str  # STRING, INTEGER or SELECT
    default: str | None = None
    updatable: bool = False
    mandatory: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One version of one add-on."""

    type: str
    name: str
    version: str
    description: str
    options: tuple[OptionSchema, ...] = ()
    k8s_min_version: str | None = None
    k8s_max_version: str | None = None
    deploy_target: str = "cluster"

    @property
    def uuid(self) -> str:
        return _uuid("addon", self.name, self.version)

    def option(self, name: str) -> OptionSchema | None:
        return next((o for o in self.options if o.name == name), None)

    def runs_on(self, kube_tag: str) -> bool:
        kube = versions.parse(kube_tag)
        low = versions.parse(self.k8s_min_version) if self.k8s_min_version else None
        high = versions.parse(self.k8s_max_version) if self.k8s_max_version else None
        return kube is None or ((low is None or kube >= low) and (high is None or kube <= high))

    def document(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "type": self.type,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "deploy_target": self.deploy_target,
            "k8s_min_version": self.k8s_min_version,
            "k8s_max_version": self.k8s_max_version,
            "option_schemas": [
                {
                    "name": o.name,
                    "data_type": o.data_type,
                    "default": o.default,
                    "updatable": o.updatable,
                    "mandatory": o.mandatory,
                    "choices": list(o.choices),
                }
                for o in self.options
            ],
        }


TYPES: tuple[AddonType, ...] = (
    AddonType("cni", mandatory=True),
    AddonType("kube-dns", mandatory=True),
    AddonType("cinder-csi-plugin", mandatory=False),
    AddonType("metrics-server", mandatory=False),
    AddonType("snapshot-controller", mandatory=False),
    AddonType("nfs-csi-plugin", mandatory=False),
)

_CALICO_MODE = OptionSchema("mode", "SELECT", "vxlan", updatable=False, choices=("vxlan", "ebpf"))
_REPLICAS = OptionSchema("replicas", "INTEGER", "1", updatable=True)


def _versions(
    type_: str, name: str, what: str, tags: tuple[str, ...], **extra: Any
) -> tuple[Entry, ...]:
    return tuple(Entry(type_, name, tag, f"{what} {tag}", **extra) for tag in tags)


ENTRIES: tuple[Entry, ...] = (
    *_versions(
        "cni", "calico", "Calico CNI", ("v3.28.2-nks1", "v3.28.2-nks2"), options=(_CALICO_MODE,)
    ),
    *_versions(
        "cni",
        "calico",
        "Calico CNI",
        ("v3.30.2-nks1", "v3.30.2-nks2"),
        options=(_CALICO_MODE,),
        k8s_min_version="v1.29.0",
    ),
    *_versions("kube-dns", "coredns", "CoreDNS", ("1.8.4-nks1", "1.8.4-nks2")),
    *_versions(
        "cinder-csi-plugin",
        "cinder-csi-plugin",
        "Cinder CSI plugin",
        ("v1.27.101-nks1", "v1.27.102-nks1"),
    ),
    *_versions(
        "metrics-server",
        "metrics-server",
        "Metrics Server",
        ("v0.4.4-nks1", "v0.4.4-nks2"),
        options=(_REPLICAS,),
    ),
    *_versions(
        "snapshot-controller", "snapshot-controller", "Snapshot controller", ("v4.1.1-nks1",)
    ),
    *_versions("nfs-csi-plugin", "nfs-csi-plugin", "NFS CSI plugin", ("v1.0.1-nks1",)),
)


@dataclass
class Catalogue:
    types: tuple[AddonType, ...] = TYPES
    entries: tuple[Entry, ...] = ENTRIES
    _mandatory: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self._mandatory = frozenset(t.name for t in self.types if t.mandatory)

    def find_type(self, ident: str) -> AddonType:
        for kind in self.types:
            if ident in (kind.uuid, kind.name):
                return kind
        raise NotFound(f"Addon type {ident} could not be found.")

    def find_entry(self, ident: str) -> Entry:
        for entry in self.entries:
            if ident == entry.uuid:
                return entry
        raise NotFound(f"Addon {ident} could not be found.")

    def lookup(self, name: str, version: str) -> Entry | None:
        return next((e for e in self.entries if (e.name, e.version) == (name, version)), None)

    def is_mandatory(self, type_name: str) -> bool:
        return type_name in self._mandatory

    def default_for(self, type_name: str, kube_tag: str) -> Entry | None:
        """The newest entry of a type that runs on `kube_tag` (what a create without that
        type gets: the project's assumption, the provider calls CNI and CoreDNS required)."""
        fitting = [e for e in self.entries if e.type == type_name and e.runs_on(kube_tag)]
        return fitting[-1] if fitting else None


CATALOGUE = Catalogue()
