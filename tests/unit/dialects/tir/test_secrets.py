"""Secret env values sent through TIR are encrypted at rest and never answered back."""

from __future__ import annotations

from typing import Any

from tests.unit.dialects.tir.conftest import HF_TOKEN, Tir, request

API_KEY = "sk-tir-another-s3cret-9931"
SECRETS = (HF_TOKEN, API_KEY)


def _secret_request() -> dict[str, Any]:
    body = request()
    body["custom_endpoint_details"]["resource_details"]["env_variables"] = [
        {"key": "HF_HOME", "value": "/mnt/models/.cache", "required": True},
        # A credential by its name, and one marked secret explicitly.
        {"key": "HF_TOKEN", "value": HF_TOKEN, "required": True},
        {"key": "UPSTREAM_AUTH", "value": API_KEY, "secret": True},
    ]
    return body


def _stored_env(tir: Tir) -> dict[str, str]:
    """What the engine will get: the stored spec, decrypted."""
    endpoint = tir.world.store.get_endpoint_by_name(tir.project_id, "vllm-chat")
    return {e.name: tir.world.box.decrypt(e.value) for e in endpoint.spec.env}


def test_secrets_are_never_in_any_answer(tir: Tir) -> None:
    created = tir.create(_secret_request())
    assert created.status_code == 201, created.text
    ep_id = created.json()["data"]["id"]
    answers = [
        created,
        tir.call("GET", "/serving/inference/"),
        tir.call("GET", f"/serving/inference/{ep_id}/"),
        tir.put(ep_id, {"action": "patch", "replica": 2}),
        tir.put(ep_id, {"action": "restart"}),
        tir.native("GET", "/endpoints/vllm-chat"),
        tir.native("GET", "/endpoints"),
        tir.native("GET", "/endpoints/vllm-chat/events"),
    ]
    for resp in answers:
        assert resp.status_code == 200 or resp.status_code == 201, resp.text
        for secret in SECRETS:
            assert secret not in resp.text
    env = {e["key"]: e for e in tir.get(ep_id)["custom_endpoint_details"]["resource_details"][
        "env_variables"]}  # fmt: skip
    assert env["HF_TOKEN"]["value"] == "********" and env["HF_TOKEN"]["secret"] is True
    assert env["UPSTREAM_AUTH"]["value"] == "********" and env["UPSTREAM_AUTH"]["secret"] is True
    assert env["HF_HOME"]["value"] == "/mnt/models/.cache" and env["HF_HOME"]["secret"] is False


def test_secrets_are_encrypted_in_the_database(tir: Tir) -> None:
    assert tir.create(_secret_request()).status_code == 201
    tir.world.store.close()  # flush the WAL into the file before reading its bytes
    files = [tir.world.db_path, *tir.world.db_path.parent.glob("modelport.db-*")]
    raw = b"".join(path.read_bytes() for path in files if path.exists())
    for secret in SECRETS:
        assert secret.encode() not in raw
    assert b"HF_TOKEN" in raw  # the names are there; only the values are sealed


def test_a_patch_keeps_secrets_unless_it_sends_new_ones(tir: Tir) -> None:
    ep_id = tir.created(_secret_request())["id"]
    assert tir.put(ep_id, {"action": "patch", "replica": 2}).status_code == 200
    assert _stored_env(tir)["HF_TOKEN"] == HF_TOKEN
    # Echoing back what GET shows (masks included) changes nothing.
    shown = tir.get(ep_id)["custom_endpoint_details"]
    echo = {"action": "patch", "custom_endpoint_details": {"resource_details": shown[
        "resource_details"]}}  # fmt: skip
    assert tir.put(ep_id, echo).status_code == 200
    assert _stored_env(tir) == {
        "HF_HOME": "/mnt/models/.cache", "HF_TOKEN": HF_TOKEN, "UPSTREAM_AUTH": API_KEY
    }  # fmt: skip
    rotated = "hf_rotated-token-value-7"
    variables = [{"key": "HF_TOKEN", "value": rotated}]
    new = {"action": "patch", "custom_endpoint_details": {"resource_details": {
        "env_variables": variables}}}  # fmt: skip
    resp = tir.put(ep_id, new)
    assert resp.status_code == 200
    assert rotated not in resp.text
    assert _stored_env(tir) == {"HF_TOKEN": rotated}
    assert rotated not in tir.call("GET", f"/serving/inference/{ep_id}/").text
