"""The metric-based autoscaler of a node group: its scale-out and scale-in policies, the
`PATCH ... type: metric_base_autoscale` body, and the `mba_scale_out` / `mba_scale_in`
labels (JSON objects as text) that show them.

Fields and ranges (docs/nks-api-notes.md, "Metric-based autoscaler"): `delay` 1-60 min,
`adjustment_count` 1-10 and a rule's `duration` 2-60 min (the current edition);
`max_node_count` / `min_node_count` 1-10 (the user guide; the 10 is the default per-group
node quota, so only the lower bound is checked here, like `node_count`); a rule's
`threshold` has no documented range (% for CPU and memory, bytes/s otherwise). An enabled
policy needs at least one rule. `enable` is typed Boolean but the example sends `"True"`
(contested): we send a JSON boolean and read either.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from nks_operator.nks.models.base import (
    JsonObjectText,
    JsonTextSerializer,
    LooseBool,
    NKSAnswer,
    NKSModel,
    OptLooseBool,
    OptLooseInt,
    shared_by_text,
)

MetricName = Literal[
    "GROUP_CPU_USAGE",
    "GROUP_MEMORY_USAGE",
    "GROUP_DISK_READ_BYTES",
    "GROUP_DISK_WRITE_BYTES",
    "GROUP_NETWORK_SENT_BYTES",
    "GROUP_NETWORK_RECV_BYTES",
]
RulesOperator = Literal["AND", "OR"]

DELAY_MINUTES = (1, 60)
ADJUSTMENT_COUNT = (1, 10)
DURATION_MINUTES = (2, 60)
NODE_COUNT = (1, 10)  # the user guide's; the upper bound follows the node quota


class MetricRule(NKSModel):
    """Scale when `metric` crosses `threshold` for `duration` minutes."""

    metric: MetricName  # typed Integer in the table, but the values are these names
    threshold: Annotated[int, Field(ge=0)]
    duration: Annotated[int, Field(ge=DURATION_MINUTES[0], le=DURATION_MINUTES[1])]


class _ScalePolicy(NKSModel):
    enable: LooseBool
    rules_operator: RulesOperator | None = None  # NKS's default: OR
    delay: Annotated[int | None, Field(ge=DELAY_MINUTES[0], le=DELAY_MINUTES[1])] = None
    adjustment_count: Annotated[
        int | None, Field(ge=ADJUSTMENT_COUNT[0], le=ADJUSTMENT_COUNT[1])
    ] = None
    rules: list[MetricRule] | None = None

    @model_validator(mode="after")
    def _rules_when_enabled(self) -> Self:
        if self.enable and not self.rules:
            raise ValueError("an enabled policy needs at least one rule")
        return self


class ScaleOutPolicy(_ScalePolicy):
    """`mba_scale_out`: add `adjustment_count` nodes, up to `max_node_count`."""

    max_node_count: Annotated[int | None, Field(ge=NODE_COUNT[0])] = None


class ScaleInPolicy(_ScalePolicy):
    """`mba_scale_in`: remove `adjustment_count` nodes (newest first), down to
    `min_node_count`."""

    min_node_count: Annotated[int | None, Field(ge=NODE_COUNT[0])] = None


class MetricAutoscalerUpdate(NKSModel):
    """The body of "Change Metric-Based Autoscaler Configuration of a Node Group"; the answer
    is `{"uuid": <node group>}`. Whether omitted fields keep their stored values is unknown:
    send whole policies. Disable with `enable=False` policies."""

    type: Literal["metric_base_autoscale"] = "metric_base_autoscale"
    mba_scale_out: ScaleOutPolicy | None = None
    mba_scale_in: ScaleInPolicy | None = None


# Create-time labels: the same policies, as JSON text (the format is not stated; Live
# labels hold this JSON: docs/nks-api-notes.md, "Create").
ScaleOutLabel = Annotated[ScaleOutPolicy | None, JsonObjectText, JsonTextSerializer]
ScaleInLabel = Annotated[ScaleInPolicy | None, JsonObjectText, JsonTextSerializer]


class MetricRuleState(NKSAnswer):
    """A rule as a label shows it; an unknown metric name is kept as text."""

    metric: str | None = None
    threshold: OptLooseInt = None
    duration: OptLooseInt = None


class MetricPolicyState(NKSAnswer):
    """A policy as the `mba_scale_out` / `mba_scale_in` label shows it (Live, while off:
    `enable` false, node count 10 / 1, `"OR"`, delay 10, adjustment 1, no rules)."""

    enable: OptLooseBool = None  # JSON boolean or "True"/"true": both read
    max_node_count: OptLooseInt = None  # scale-out only
    min_node_count: OptLooseInt = None  # scale-in only
    rules_operator: str | None = None
    delay: OptLooseInt = None
    adjustment_count: OptLooseInt = None
    rules: list[MetricRuleState] | None = None


# Answers: a JSON object or its text; unreadable text makes the label unknown (None).
MetricPolicyLabel = Annotated[
    MetricPolicyState | None, JsonObjectText, shared_by_text(), JsonTextSerializer
]
