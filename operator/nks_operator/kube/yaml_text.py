"""Reading and writing the kubeconfigs NKS answers: libyaml's safe loader and dumper when
PyYAML was built with it, the pure-Python ones otherwise.

Both refuse every tag that would build a Python object. libyaml parses an NKS kubeconfig
about twenty times faster (0.18 against 3.5 ms here), and every NKSCluster's kubeconfig is
parsed when it is fetched (BENCHMARKS.md, issue 21).
"""

from __future__ import annotations

from typing import Any

import yaml

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load(text: str) -> Any:
    """The YAML document `text`; yaml.YAMLError when it is not YAML or holds a Python tag."""
    return yaml.load(text, Loader=_Loader)


def dump(data: Any) -> str:
    """`data` as YAML, keys in their order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False)
