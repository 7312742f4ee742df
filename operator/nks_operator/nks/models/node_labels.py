"""Kubernetes labels of a node group's nodes (`k8s_node_labels`): the syntax NKS takes, the
create-time label and the `PATCH ... type: k8s_node_labels` body.

Rules (docs/nks-api-notes.md, "Kubernetes node labels", from the user guide): at most 20
labels; a key is `[prefix/]name`, the prefix a DNS subdomain of at most 253 characters and
not one of Kubernetes' or Magnum's own (`kubernetes.io`, `k8s.io`,
`magnum.openstack.org`, read here as those domains and their subdomains); the name at
most 63 characters of letters, digits, `-`, `_`, `.`, beginning and ending with a letter
or digit; a value empty or following the name rule. Only nodes created after a change get
the new labels; whether a change replaces or merges is unknown, so send the complete set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator

from nks_operator.nks.models.base import JsonObjectText, JsonTextSerializer, NKSModel

MAX_NODE_LABELS = 20
MAX_NAME_LENGTH = 63
MAX_PREFIX_LENGTH = 253
RESERVED_PREFIX_DOMAINS = ("kubernetes.io", "k8s.io", "magnum.openstack.org")

_NAME = re.compile(r"^[A-Za-z0-9](?:[-_.A-Za-z0-9]*[A-Za-z0-9])?$")
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$")


def _name_problem(text: str, what: str) -> str | None:
    if len(text) > MAX_NAME_LENGTH:
        return f"{what} is longer than {MAX_NAME_LENGTH} characters"
    if not _NAME.match(text):
        return (
            f"{what} must be letters, digits, '-', '_' or '.', beginning and ending with a "
            "letter or digit"
        )
    return None


def _prefix_problem(prefix: str) -> str | None:
    if len(prefix) > MAX_PREFIX_LENGTH:
        return f"the prefix is longer than {MAX_PREFIX_LENGTH} characters"
    if not all(_DNS_LABEL.match(part) for part in prefix.split(".")):
        return "the prefix must be a DNS subdomain (lower case letters, digits, '-', '.')"
    if any(prefix == d or prefix.endswith("." + d) for d in RESERVED_PREFIX_DOMAINS):
        return f"the prefix {prefix!r} is reserved"
    return None


def node_label_problems(labels: Mapping[str, str]) -> list[str]:
    """What NKS would refuse in a set of node labels (empty: acceptable). Keys are named,
    values are not (they are the user's data, but never secrets by design: still, a
    problem says which key, not what value)."""
    problems = []
    if len(labels) > MAX_NODE_LABELS:
        problems.append(f"at most {MAX_NODE_LABELS} node labels, not {len(labels)}")
    for key, value in labels.items():
        prefix, slash, name = key.rpartition("/")
        if slash and (problem := _prefix_problem(prefix)) is not None:
            problems.append(f"label {key!r}: {problem}")
        if (problem := _name_problem(name, "the name")) is not None:
            problems.append(f"label {key!r}: {problem}")
        if not isinstance(value, str):
            problems.append(f"label {key!r}: the value must be a string")
        elif value and (problem := _name_problem(value, "the value")) is not None:
            problems.append(f"label {key!r}: {problem}")
    return problems


def _string_values(value: Any) -> Any:
    """Label values as text: NKS keeps them as strings; numbers and booleans read as text."""
    if isinstance(value, dict):
        return {str(k): (v if isinstance(v, str) else _scalar_text(v)) for k, v in value.items()}
    return value


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value  # anything else fails validation: the map is unreadable


def _checked(labels: dict[str, str] | None) -> dict[str, str] | None:
    if labels is not None and (problems := node_label_problems(labels)):
        raise ValueError("; ".join(problems))
    return labels


# As answers may show them: a JSON object or its text (`""`: unset). How answers show the
# labels is unknown (docs/nks-api-notes.md): absent reads as None, unknown.
# (Before validators run last-declared first: the JSON text is read, then values made text.)
NodeLabelMap = Annotated[
    dict[str, str] | None, BeforeValidator(_string_values), JsonObjectText, JsonTextSerializer
]
# As a create sends them: checked, JSON text on the wire (the format is not stated; a JSON
# object as text, like `skm`, is the likely one).
NodeLabelsToSend = Annotated[
    dict[str, str] | None, JsonObjectText, AfterValidator(_checked), JsonTextSerializer
]


class NodeLabelsUpdate(NKSModel):
    """`PATCH /v1/clusters/{cluster}/nodegroups/{nodegroup}` type `k8s_node_labels`: the
    complete set (an empty map removes them all); the answer is `{"uuid": <node group>}`."""

    type: Literal["k8s_node_labels"] = "k8s_node_labels"
    k8s_node_labels: Annotated[dict[str, str], AfterValidator(_checked)]
