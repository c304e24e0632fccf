"""`modelport_endpoint`'s spec JSON against the server's: what state keeps after a read, what
an update sends, where an API error lands."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelport.terraform.native_spec import (
    SpecSyntaxError,
    canonical,
    field_path,
    parse,
    patch_body,
    read_back,
)

MASK = "********"
USER = canonical(
    {
        "framework": "llamacpp",
        "model": {"path": "/m.gguf"},
        "replicas": 0,
        "env": [{"name": "HF_TOKEN", "value": "hf_real"}],
        "autoscale": {"min_replica": 0},
    }
)
SERVER: dict[str, Any] = {
    "framework": "llamacpp",
    "model": {"path": "/m.gguf", "hf_id": None},
    "replicas": 0,
    "env": [{"name": "HF_TOKEN", "value": MASK, "secret": True, "required": False}],
    "autoscale": {"min_replicas": 0, "max_replicas": 1, "enabled": False},
    "world_size": 1,
}


def test_server_defaults_aliases_and_masks_keep_the_users_text() -> None:
    assert read_back(USER, SERVER) == USER
    # Not even re-encoded: a heredoc with its own spacing stays as written.
    spaced = json.dumps(json.loads(USER), indent=2)
    assert read_back(spaced, SERVER) == spaced


def test_a_value_changed_on_the_server_replaces_only_that_value() -> None:
    drifted = {**SERVER, "replicas": 2, "model": {"path": "/other.gguf", "hf_id": None}}
    kept = json.loads(read_back(USER, drifted))
    assert kept == {**json.loads(USER), "replicas": 2, "model": {"path": "/other.gguf"}}


def test_a_list_of_another_length_is_the_servers() -> None:
    extra = {"name": "MORE", "value": "x", "secret": False, "required": False}
    drifted = {**SERVER, "env": [*SERVER["env"], extra]}
    assert json.loads(read_back(USER, drifted))["env"] == drifted["env"]


def test_numbers_compare_by_value_and_booleans_by_identity() -> None:
    user = canonical({"autoscale": {"stability_period_seconds": 300, "enabled": True}})
    same = {"autoscale": {"stability_period_seconds": 300.0, "enabled": True}}
    assert read_back(user, same) == user
    off = {"autoscale": {"stability_period_seconds": 300.0, "enabled": 1}}
    assert json.loads(read_back(user, off))["autoscale"]["enabled"] == 1


def test_update_sends_the_whole_spec_so_removed_keys_return_to_defaults() -> None:
    body = patch_body(canonical({"framework": "llamacpp", "model": {"path": "/m.gguf"}}))
    assert body["replicas"] == 1 and body["description"] is None and body["labels"] == {}
    assert body["model"]["hf_id"] is None  # a nested key removed by the user is reset too


def test_update_of_a_spec_the_api_refuses_is_sent_as_written() -> None:
    bad = {"framework": "llamacpp", "model": {"path": "/m.gguf"}, "replicas": -1}
    assert patch_body(canonical(bad)) == bad


@pytest.mark.parametrize("text", ["[1]", "{nope", '"llamacpp"'])
def test_spec_must_be_a_json_object(text: str) -> None:
    with pytest.raises(SpecSyntaxError):
        parse(text)


def test_api_fields_map_to_the_attribute_holding_them() -> None:
    assert field_path("spec.replicas") == ["spec"]
    assert field_path("spec") == ["spec"]
    assert field_path("name") == ["name"]
    assert field_path("generation") is None
