"""Answers in every shape NKS may send: an odd value makes one field unknown, not the object.

Labels are a string map (docs/nks-api-notes.md, "Labels"): any label may be missing, `""`,
JSON text, `"null"` or another JSON type. Each case checks the field's value, what
`unreadable` records (and that it records no input value), and that the rest of the
object is intact.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
import respx

from nks_operator.nks import IPACL, Cluster, NKSClient, NodeGroup, TaskEvent

from .conftest import NKS_URL
from .test_models import GUIDE_CLUSTER

SECRET = "s3cr3t-appkey-value"
VOLUME = {"volume_type": "General SSD", "volume_size": "30", "volume_appkey": SECRET}

GUIDE_NODEGROUP: dict[str, Any] = {
    "cluster_id": "96742ac4-02e7-4b1d-a242-02876c0bd3f8",
    "flavor_id": "069bdcff-e9b6-42c8-83ce-4c743ea30394",
    "id": 2697,
    "image_id": "96aff4ab-d221-4688-8364-2fcf02d50547",
    "is_default": False,
    "labels": {
        "availability_zone": "",
        "boot_volume_size": "20",
        "ca_enable": "True",
        "kube_tag": "v1.19.13",
        "user_script_v2": "",
    },
    "max_node_count": 10,
    "min_node_count": 2,
    "name": "default-worker",
    "node_addresses": ["192.168.0.40", "192.168.0.19"],
    "node_count": 2,
    "role": "worker",
    "status": "UPDATE_COMPLETE",
    "status_reason": "Stack UPDATE completed successfully",
    "uuid": "018b06c5-1293-4081-8242-167a1cb9f262",
    "version": None,
}

GUIDE_EVENT: dict[str, Any] = {
    "id": 3683,
    "uuid": "868f218a-9446-4500-b6b3-8c1a95e3d7c3",
    "cluster_uuid": "388794e6-14dc-48ee-9a4f-9c40df5d97ec",
    "resource_type": "cluster",
    "type": "CLUSTER_CREATE",
    "state": "SUCCESS",
    "contents": None,
    "created_at": "2024-01-30T01:31:06+00:00",
    "updated_at": "2024-01-30T01:42:39+00:00",
}


def with_label(base: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    answer = copy.deepcopy(base)
    if value is _MISSING:
        answer["labels"].pop(key, None)
    else:
        answer["labels"][key] = value
    return answer


_MISSING = object()

# (label value as answered, expected field value, recorded as unreadable?)
LIST_LABEL_SHAPES = [
    pytest.param(_MISSING, None, False, id="missing"),
    pytest.param("", [], False, id="empty-text-means-none"),
    pytest.param("[]", [], False, id="json-text-empty"),
    pytest.param("null", None, False, id="json-text-null"),
    pytest.param(None, None, False, id="null"),
    pytest.param([], [], False, id="json-array"),
    pytest.param("[{", None, True, id="broken-json-text"),
    pytest.param('{"volume_type": "x"}', None, True, id="json-text-object"),
    pytest.param(7, None, True, id="wrong-type"),
    pytest.param([{"volume_size": 10, "volume_appkey": SECRET}], None, True, id="bad-entry"),
]


@pytest.mark.parametrize(("raw", "expected", "recorded"), LIST_LABEL_SHAPES)
@pytest.mark.parametrize("model", [Cluster, NodeGroup])
@pytest.mark.parametrize("label", ["extra_volumes", "extra_security_groups"])
def test_list_labels_in_every_shape(
    model: type[Cluster | NodeGroup], label: str, raw: Any, expected: Any, recorded: bool
) -> None:
    base = GUIDE_CLUSTER if model is Cluster else GUIDE_NODEGROUP
    parsed = model.model_validate(with_label(base, label, raw))
    assert getattr(parsed.labels, label) == expected
    assert (f"labels.{label}" in parsed.unreadable) is recorded, parsed.unreadable
    assert set(parsed.unreadable) <= {f"labels.{label}"}
    assert parsed.uuid == base["uuid"] and parsed.status == base["status"]
    assert parsed.labels.kube_tag == base["labels"]["kube_tag"]  # the rest is intact
    assert SECRET not in repr(parsed.unreadable)


def test_list_labels_as_json_text_are_read() -> None:
    answer = with_label(GUIDE_CLUSTER, "extra_volumes", '[{"volume_type": "x", "volume_size": 5}]')
    cluster = Cluster.model_validate(answer)
    assert cluster.labels.extra_volumes is not None
    assert cluster.labels.extra_volumes[0].volume_size == 5
    assert cluster.unreadable == {}


def test_the_unreadable_message_names_the_expected_shape() -> None:
    cluster = Cluster.model_validate(with_label(GUIDE_CLUSTER, "extra_volumes", 7))
    assert cluster.unreadable == {"labels.extra_volumes": "expected a list of objects"}


# (label, value as answered, expected field value, recorded as unreadable?)
SCALAR_LABEL_SHAPES = [
    pytest.param("ca_enable", _MISSING, None, False, id="bool-missing"),
    pytest.param("ca_enable", "", None, False, id="bool-empty"),
    pytest.param("ca_enable", "True", True, False, id="bool-text"),
    pytest.param("ca_enable", True, True, False, id="bool-json"),
    pytest.param("ca_enable", "maybe", None, True, id="bool-odd"),
    pytest.param("ca_enable", ["True"], None, True, id="bool-wrong-type"),
    pytest.param("boot_volume_size", "20", 20, False, id="int-text"),
    pytest.param("boot_volume_size", 20, 20, False, id="int-json"),
    pytest.param("boot_volume_size", "twenty", None, True, id="int-odd"),
    pytest.param("boot_volume_size", "null", None, True, id="int-null-text"),
    pytest.param("kube_tag", 1.23, None, True, id="text-wrong-type"),
    pytest.param("kube_tag", "", "", False, id="text-empty"),
    pytest.param("additional_subnet_id_list", "a:b", ["a", "b"], False, id="colon-list"),
    pytest.param("additional_subnet_id_list", "", [], False, id="colon-list-empty"),
    pytest.param("additional_subnet_id_list", {"a": 1}, None, True, id="colon-list-odd"),
    pytest.param("user_script_v2", "", "", False, id="script-empty"),
]


@pytest.mark.parametrize(("label", "raw", "expected", "recorded"), SCALAR_LABEL_SHAPES)
@pytest.mark.parametrize("model", [Cluster, NodeGroup])
def test_scalar_labels_in_every_shape(
    model: type[Cluster | NodeGroup], label: str, raw: Any, expected: Any, recorded: bool
) -> None:
    base = GUIDE_CLUSTER if model is Cluster else GUIDE_NODEGROUP
    parsed = model.model_validate(with_label(base, label, raw))
    field = {"additional_subnet_id_list": "additional_subnet_ids"}.get(label, label)
    assert getattr(parsed.labels, field) == expected
    assert parsed.unreadable == (
        {f"labels.{label}": parsed.unreadable[f"labels.{label}"]} if recorded else {}
    )


@pytest.mark.parametrize("model", [Cluster, NodeGroup])
def test_unknown_fields_and_statuses_are_tolerated(model: type[Cluster | NodeGroup]) -> None:
    base = copy.deepcopy(GUIDE_CLUSTER if model is Cluster else GUIDE_NODEGROUP)
    base.update(status="SOMETHING_NEW_IN_PROGRESS", x_new_field={"nested": [1]})
    base["labels"]["x_new_label"] = "yes"
    parsed = model.model_validate(base)
    assert parsed.status == "SOMETHING_NEW_IN_PROGRESS" and parsed.is_in_progress
    assert parsed.model_extra is None and parsed.labels.model_extra is None  # dropped
    assert parsed.unreadable == {}


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("status", 5),
        ("node_addresses", "192.168.0.5"),
        ("node_count", "two"),
        ("labels", "not an object"),
        ("updated_at", "yesterday"),
    ],
)
@pytest.mark.parametrize("model", [Cluster, NodeGroup])
def test_odd_top_level_fields(model: type[Cluster | NodeGroup], field: str, raw: Any) -> None:
    base = copy.deepcopy(GUIDE_CLUSTER if model is Cluster else GUIDE_NODEGROUP)
    base[field] = raw
    parsed = model.model_validate(base)
    assert set(parsed.unreadable) == {field}
    if field == "labels":
        assert parsed.labels.kube_tag is None  # every label unknown
    else:
        assert getattr(parsed, field) is None  # unknown - not [] or 0
    assert parsed.uuid == base["uuid"]


@pytest.mark.parametrize("model", [Cluster, NodeGroup, TaskEvent])
@pytest.mark.parametrize("uuid", [_MISSING, None, 42, ""])
def test_without_a_readable_uuid_the_object_is_unusable(model: type[Any], uuid: Any) -> None:
    base = copy.deepcopy(
        {Cluster: GUIDE_CLUSTER, NodeGroup: GUIDE_NODEGROUP}.get(model, GUIDE_EVENT)
    )
    if uuid is _MISSING:
        del base["uuid"]
    else:
        base["uuid"] = uuid
    if uuid == "":  # an empty string is a string: readable, if useless
        assert model.model_validate(base).uuid == ""
        return
    with pytest.raises(ValueError):
        model.model_validate(base)


@pytest.mark.parametrize(
    ("field", "raw", "expected", "recorded"),
    [
        pytest.param("state", _MISSING, None, False, id="state-missing"),
        pytest.param("state", "SUCCESS", "SUCCESS", False, id="state"),
        pytest.param("state", "PAUSED", "PAUSED", False, id="state-unknown"),
        pytest.param("state", 1, None, True, id="state-wrong-type"),
        pytest.param("type", "CLUSTER_SOMETHING_NEW", "CLUSTER_SOMETHING_NEW", False, id="type"),
        pytest.param("type", ["CLUSTER_CREATE"], None, True, id="type-wrong-type"),
        pytest.param("id", "3683", 3683, False, id="id-text"),
        pytest.param("id", "n/a", None, True, id="id-odd"),
        pytest.param("contents", "", "", False, id="contents-empty"),
        pytest.param("created_at", "", None, False, id="time-empty"),
        pytest.param("created_at", "null", None, True, id="time-odd"),
        pytest.param("x_new", {"a": 1}, None, False, id="unknown-field"),
    ],
)
def test_event_fields_in_every_shape(field: str, raw: Any, expected: Any, recorded: bool) -> None:
    answer = copy.deepcopy(GUIDE_EVENT)
    if raw is _MISSING:
        answer.pop(field)
    else:
        answer[field] = raw
    event = TaskEvent.model_validate(answer)
    if field != "x_new":
        assert getattr(event, field) == expected
    assert (field in event.unreadable) is recorded, event.unreadable
    assert event.uuid == GUIDE_EVENT["uuid"]


def test_event_with_an_unknown_state_counts_as_in_progress() -> None:
    event = TaskEvent.model_validate({**GUIDE_EVENT, "state": "PAUSED"})
    assert event.in_progress and not event.failed and not event.succeeded


@pytest.mark.parametrize(
    ("answer", "enable", "targets", "unreadable"),
    [
        ({"enable": "false"}, False, [], set()),
        ({"enable": "true", "action": "ALLOW", "ipacl_targets": None}, True, [], set()),
        ({"enable": "perhaps"}, None, [], {"enable"}),
        ({"enable": "true", "ipacl_targets": "10.0.0.0/8"}, True, None, {"ipacl_targets"}),
        (
            {"enable": "true", "ipacl_targets": [{"description": "no cidr"}]},
            True,
            None,
            {"ipacl_targets"},
        ),
    ],
)
def test_ip_acl_in_every_shape(
    answer: dict[str, Any], enable: bool | None, targets: Any, unreadable: set[str]
) -> None:
    acl = IPACL.model_validate({"cluster_uuid": "u", **answer})
    assert acl.enable is enable  # None: unknown, never "open" by mistake
    assert acl.ipacl_targets == targets
    assert set(acl.unreadable) == unreadable


async def test_an_empty_text_label_no_longer_hides_the_account(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    """The issue's case: `extra_volumes: ""` failed the cluster, and the list with it."""
    first = with_label(GUIDE_CLUSTER, "extra_volumes", "")
    first["labels"]["extra_security_groups"] = ""
    second = {**with_label(GUIDE_CLUSTER, "extra_volumes", "[{"), "uuid": "c2", "name": "two"}
    mock_api.get(f"{NKS_URL}/v1/clusters").mock(
        return_value=httpx.Response(200, json={"clusters": [first, second, {"name": "three"}]})
    )
    listing = await client.list_clusters()
    assert [c.uuid for c in listing] == [GUIDE_CLUSTER["uuid"], "c2"]
    assert listing[0].labels.extra_volumes == [] and listing[0].unreadable == {}
    assert listing[1].labels.extra_volumes is None
    assert listing[1].unreadable == {
        "labels.extra_volumes": "expected a list of objects (JSON text)"
    }
    (entry,) = listing.unreadable  # no uuid: unusable, but named
    assert (entry.uuid, entry.name) == (None, "three")
