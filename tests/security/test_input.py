"""Issue 6's input findings as attacks, against a real server and its real SQLite store.

- ids past int64 (or zero / negative where invalid) in paths and queries: a 4xx naming the
  parameter in that API's envelope, never a 500;
- NUL and other control characters in spec strings: refused with the field named, nothing
  stored (before, the spec was accepted and the endpoint never started);
- credential-named env variables and engine_args: sealed in the database, masked in every
  answer, never in events or the server log, yet handed to the engine in plaintext;
- a repeated create answers the same whether or not a guessed secret matches the stored one;
- every dialect's unknown route and wrong method in its own envelope; a TIR PUT that changes
  nothing is 403 for a viewer and an inference key, as a real change is;
- TIR's relative `path` lies under `disk_path`, and cannot climb out of it with `..`.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.security.conftest import Site, site_server
from tests.support.server import wait_until
from tests.unit.dialects.tir.conftest import llamacpp_request, set_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PAST_INT64 = 2**63
HF_TOKEN = "hf_input-attack-s3cret-0001"
API_KEY = "sk-input-attack-s3cret-0002"
USER_ID = "6f1b2c9e-1111-4a4a-9b9b-123456789abc"

# A custom engine that answers every GET with its argv and the env variable HF_TOKEN: what the
# controller really handed it.
ECHO = textwrap.dedent(
    """
    import http.server, json, os, sys

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"argv": sys.argv, "hf_token": os.environ.get("HF_TOKEN")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    address = (os.environ["HOST"], int(os.environ["PORT"]))
    http.server.ThreadingHTTPServer(address, Handler).serve_forever()
    """
)


@dataclass
class World(Site):
    project_id: int  # team-b
    admin: str  # team-b's admin token
    member: str
    viewer: str

    def tir(self, token: str, method: str, path: str = "", **kwargs: Any) -> httpx.Response:
        query = f"?project_id={self.project_id}&location=Delhi"
        return self.call(token, method, f"/tir/serving/inference/{path}{query}", **kwargs)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with site_server("mp-input-") as (srv, models):
        team = Site(srv, models).team("team-b", roles=("member", "viewer"))
        tokens = team.tokens
        yield World(srv, models, team.project_id, team.admin, tokens["member"], tokens["viewer"])


# --- ids ------------------------------------------------------------------------------------

# (method, path with {big} and {project}, body, field the 4xx names, status): every integer id
# in a path or query of the native API and TIR (DeepInfra and Tensormesh ids are strings).
ONE = "/tir/serving/inference/{big}/?project_id={project}"
LIST = "/tir/serving/inference/?project_id={project}"
ID_ATTACKS: list[tuple[str, str, dict[str, Any] | None, str, int]] = [
    ("GET", "/api/v1/endpoints/ids/events?after_id={big}", None, "after_id", 422),
    ("GET", "/api/v1/endpoints/ids/events?after_id=-1", None, "after_id", 422),
    ("GET", "/api/v1/endpoints/ids/events?limit={big}", None, "limit", 422),
    ("GET", "/api/v1/endpoints/ids/logs?tail_bytes={big}", None, "tail_bytes", 422),
    ("DELETE", "/api/v1/tokens/{big}", None, "token_id", 422),
    ("DELETE", f"/api/v1/tokens/{10**30}", None, "token_id", 422),
    ("DELETE", "/api/v1/tokens/0", None, "token_id", 422),
    ("DELETE", "/api/v1/tokens/-3", None, "token_id", 422),
    ("PATCH", "/api/v1/endpoints/ids", {"spec": {}, "generation": PAST_INT64}, "generation", 422),
    ("GET", ONE, None, "inference_id", 400),
    ("GET", "/tir/serving/inference/0/?project_id={project}", None, "inference_id", 400),
    ("PUT", ONE, {}, "inference_id", 400),
    ("DELETE", ONE, None, "inference_id", 400),
    ("GET", "/tir/serving/inference/?project_id={big}", None, "project_id", 400),
    ("GET", "/tir/serving/inference/?project_id=-1", None, "project_id", 400),
    ("GET", LIST + "&active_iam={big}", None, "active_iam", 400),
    ("GET", "/tir/serving/plans/?project_id={big}", None, "project_id", 400),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "status"),
    ID_ATTACKS,
    ids=[f"{a[0]} {a[1]}" for a in ID_ATTACKS],
)
def test_ids_out_of_range_are_4xx_naming_the_parameter(
    world: World, method: str, path: str, body: dict[str, Any] | None, field: str, status: int
) -> None:
    if "ids" not in world.endpoint_names(world.admin):
        assert world.create(world.admin, "ids", world.llama()).status_code == 201
    path = path.format(big=PAST_INT64, project=world.project_id)
    resp = world.call(world.admin, method, path, json=body)
    assert resp.status_code == status, resp.text
    if path.startswith("/tir/"):
        assert resp.json()["code"] == status and field in resp.json()["errors"], resp.text
    else:
        assert resp.json()["error"]["field"] == field, resp.text


@pytest.mark.parametrize(
    "path", [f"/deepinfra/deploy/{PAST_INT64}", f"/tensormesh/v1/models/{PAST_INT64}"]
)
def test_string_ids_of_other_dialects_past_int64_are_not_found(world: World, path: str) -> None:
    resp = world.call(world.admin, "GET", path)
    assert resp.status_code in (400, 404), resp.text
    assert "error" not in resp.json()  # the dialect's envelope, not the native one


# --- control characters ---------------------------------------------------------------------

# (spec fields over World.llama, the field the 422 names). Each reached argv, env, a path, a
# probe or a label unchecked before.
CONTROL_ATTACKS: list[tuple[str, dict[str, Any], str]] = [
    ("env-value", {"env": [{"name": "A", "value": "x\x00y"}]}, "spec.env.0.value"),
    ("extra-args", {"extra_args": ["--alias", "a\x00b"]}, "spec.extra_args.1"),
    ("engine-arg", {"engine_args": {"chat_format": "chatml\x00"}}, "spec.engine_args.chat_format"),
    ("engine-arg-key", {"engine_args": {"chat\x00format": "chatml"}}, "spec.engine_args"),
    ("model-path", {"model": {"path": "/models/m\x00.gguf"}}, "spec.model.path"),
    ("model-hf-id", {"model": {"path": "/x.gguf", "hf_id": "a/b\n"}}, "spec.model.hf_id"),
    ("label", {"labels": {"team": "a\x1b[31m"}}, "spec.labels.team"),
    ("probe-path", {"readiness": {"path": "/health\r\nX-Evil: 1"}}, "spec.readiness.path"),
    (
        "probe-command",
        {"liveness": {"protocol": "exec", "commands": ["true\x00"]}},
        "spec.liveness.commands.0",
    ),
    ("mount", {"mounts": [{"path": "/data\x00"}]}, "spec.mounts.0.path"),
    ("description", {"description": "fine\x00"}, "spec.description"),
]


@pytest.mark.parametrize(
    ("fields", "field"), [a[1:] for a in CONTROL_ATTACKS], ids=[a[0] for a in CONTROL_ATTACKS]
)
def test_control_characters_in_a_spec_are_refused_with_the_field_named(
    world: World, fields: dict[str, Any], field: str
) -> None:
    resp = world.create(world.member, "ctl", world.llama(**fields))
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["field"].startswith(field), error
    assert "control characters" in error["message"]
    assert "ctl" not in world.endpoint_names(world.admin)


def test_control_characters_in_names_are_refused(world: World) -> None:
    created = world.create(world.member, "web\n", world.llama())
    assert created.status_code == 422 and created.json()["error"]["field"] == "name"
    env = world.create(world.member, "web", world.llama(env=[{"name": "A\n", "value": "x"}]))
    assert env.status_code == 422 and env.json()["error"]["field"] == "spec.env.0.name"
    looked_up = world.call(world.member, "GET", "/api/v1/endpoints/web%00")
    assert looked_up.status_code == 422 and looked_up.json()["error"]["field"] == "name"
    token = world.call(world.admin, "POST", "/api/v1/tokens", json={"name": "ci\x00"})
    assert token.status_code == 422 and token.json()["error"]["field"] == "name", token.text
    project = world.call(world.operator, "GET", "/api/v1/projects/team-b%00")
    assert project.status_code == 422 and project.json()["error"]["field"] == "name"
    minted = world.call(
        world.operator, "POST", "/api/v1/projects/team-b/tokens", json={"name": "ops\n"}
    )
    assert minted.status_code == 422 and minted.json()["error"]["field"] == "name", minted.text


def test_control_characters_are_refused_by_every_dialect(world: World) -> None:
    env = "custom_endpoint_details.resource_details.env_variables"
    for field, value in [
        (f"{env}", [{"key": "A", "value": "x\x00"}]),
        ("detailed_info.args", '["--alias", "a\\u0000"]'),
        ("path", "m\x00.gguf"),
        ("disk_path", "/mnt\x00"),
    ]:
        body = set_in(llamacpp_request(world.gguf, name="tir-ctl"), field, value)
        resp = world.tir(world.member, "POST", json=body)
        assert resp.status_code == 400, (field, resp.text)
        assert any(key.startswith(field) for key in resp.json()["errors"]), resp.text

    deepinfra = world.call(
        world.member,
        "POST",
        "/deepinfra/deploy/llm",
        json={"model_name": "acme/ctl", "gpu": "A100-80GB", "extra_args": ["--x\x00"]},
    )
    assert deepinfra.status_code == 422, deepinfra.text
    assert deepinfra.json()["detail"][0]["loc"] == ["body", "extra_args", 0]

    tensormesh = world.call(
        world.member,
        "POST",
        "/tensormesh/v1/models",
        json={
            "modelName": "tm-ctl",
            "userId": USER_ID,
            "modelPath": str(world.gguf),
            "modelSpec": {"engineArgs": {"chat_format": "a\x00"}},
        },
    )
    assert tensormesh.status_code == 400, tensormesh.text
    assert tensormesh.json()["message"].startswith("modelSpec.engineArgs.chat_format:")
    assert not {"tir-ctl", "acme--ctl", "tm-ctl"} & set(world.endpoint_names(world.admin))


# --- secrets --------------------------------------------------------------------------------


def test_credential_env_and_engine_args_are_secret_everywhere_but_in_the_engine(
    world: World,
) -> None:
    """Neither value is marked secret by the client: their names make them secret."""
    spec = {
        "framework": "custom",
        "command": [sys.executable, "-c", ECHO],
        "engine_args": {"api_key": API_KEY, "max_tokens": 7},
        "env": [{"name": "HF_TOKEN", "value": HF_TOKEN}],
    }
    created = world.create(world.operator, "echo", spec)
    assert created.status_code == 201, created.text
    shown = created.json()["spec"]
    assert shown["env"][0]["secret"] is True and shown["env"][0]["value"] == "********"
    assert shown["engine_args"] == {"api_key": "********", "max_tokens": 7}

    url = created.json()["url"]
    key = created.json()["api_key"]

    def answered() -> bool:
        resp = httpx.get(url + "/", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        return resp.status_code == 200

    assert wait_until(answered, 60), world.srv.log_path.read_text()[-3000:]
    engine = httpx.get(url + "/", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
    assert engine["hf_token"] == HF_TOKEN
    assert engine["argv"][-4:] == ["--api-key", API_KEY, "--max-tokens", "7"]

    whoami = world.call(world.operator, "GET", "/api/v1/whoami").json()
    tir_path = f"/tir/serving/inference/{created.json()['id']}/?project_id={whoami['project_id']}"
    answers = [
        world.create(world.operator, "echo", spec),
        world.call(world.operator, "GET", "/api/v1/endpoints/echo"),
        world.call(world.operator, "GET", "/api/v1/endpoints"),
        world.call(world.operator, "GET", "/api/v1/endpoints/echo/events"),
        world.call(world.operator, "GET", tir_path),
        world.call(
            world.operator,
            "PATCH",
            "/api/v1/endpoints/echo",
            json={"spec": {"engine_args": {"api_key": "********", "max_tokens": 8}}},
        ),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert HF_TOKEN not in answer.text and API_KEY not in answer.text
    stored = (world.srv.home / "modelport.db").read_bytes()
    stored += b"".join(p.read_bytes() for p in world.srv.home.glob("modelport.db-*"))
    assert HF_TOKEN.encode() not in stored and API_KEY.encode() not in stored
    assert HF_TOKEN not in world.srv.log_path.read_text()
    assert API_KEY not in world.srv.log_path.read_text()
    world.call(world.operator, "DELETE", "/api/v1/endpoints/echo")


def test_a_repeated_create_does_not_tell_whether_a_guessed_secret_matches(world: World) -> None:
    """Before, the same secret answered 200 and any other 409: an oracle on the stored value."""
    env = [{"name": "HF_TOKEN", "value": HF_TOKEN}]
    assert world.create(world.admin, "guarded", world.llama(env=env)).status_code == 201
    answers = [
        world.create(world.member, "guarded", world.llama(env=[{**env[0], "value": guess}]))
        for guess in (HF_TOKEN, "hf_wrong-guess", HF_TOKEN[:-1])
    ]
    assert {a.status_code for a in answers} == {200}
    assert same_but_live_state(*(a.json() for a in answers))
    # What does differ is still a conflict.
    other = world.create(world.member, "guarded", world.llama(env=env, replicas=1))
    assert other.status_code == 409, other.text

    body = llamacpp_request(world.gguf, name="tir-guarded")
    secret_env = [{"key": "HF_TOKEN", "value": HF_TOKEN}]
    tir_env = "custom_endpoint_details.resource_details.env_variables"
    assert world.tir(world.admin, "POST", json=set_in(body, tir_env, secret_env)).status_code == 201
    tir_answers = [
        world.tir(world.member, "POST", json=set_in(body, tir_env, [{**secret_env[0], "value": g}]))
        for g in (HF_TOKEN, "hf_wrong-guess")
    ]
    assert [a.status_code for a in tir_answers] == [200, 200], tir_answers[1].text

    deploy = {"modelName": "tm-guarded", "userId": USER_ID, "modelPath": str(world.gguf)}
    first = world.call(
        world.admin, "POST", "/tensormesh/v1/models", json=deploy | {"hfToken": HF_TOKEN}
    )
    assert first.status_code == 200, first.text
    tm_answers = [
        world.call(world.member, "POST", "/tensormesh/v1/models", json=deploy | {"hfToken": g})
        for g in (HF_TOKEN, "hf_wrong-guess")
    ]
    assert [a.status_code for a in tm_answers] == [200, 200], tm_answers[1].text
    assert same_but_live_state(*(a.json() for a in tm_answers))


# What the controller changes between two calls (phase, replica counts, events, status): the
# answers are compared for what the create could reveal, not for the endpoint's progress.
_LIVE_STATE = frozenset({"phase", "replicas", "events", "status"})


def _without_live_state(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _without_live_state(v) for k, v in body.items() if k not in _LIVE_STATE}
    if isinstance(body, list):
        return [_without_live_state(v) for v in body]
    return body


def same_but_live_state(*bodies: Any) -> bool:
    first, *rest = [_without_live_state(b) for b in bodies]
    return all(other == first for other in rest)


# --- dialect envelopes and TIR PUT ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "envelope"),
    [
        ("GET", "/tir/serving/no-such-route/", 404, "tir"),
        ("PATCH", "/tir/serving/inference/", 405, "tir"),
        ("GET", "/deepinfra/no-such-route", 404, "deepinfra"),
        ("PATCH", "/deepinfra/deploy/llm", 405, "deepinfra"),
        ("GET", "/tensormesh/v1/no-such-route", 404, "tensormesh"),
        ("PUT", "/tensormesh/v1/models", 405, "tensormesh"),
    ],
)
def test_unknown_routes_and_methods_answer_in_the_dialects_envelope(
    world: World, method: str, path: str, status: int, envelope: str
) -> None:
    resp = world.call(world.member, method, path)
    assert resp.status_code == status, resp.text
    body = resp.json()
    if envelope == "tir":
        assert body["code"] == status and set(body) == {"code", "data", "errors", "message"}
    elif envelope == "deepinfra":
        assert set(body) == {"detail"}
    else:
        assert set(body) == {"code", "message", "details"}  # a gRPC status code
        assert body["code"] in (5, 12)  # NOT_FOUND, UNIMPLEMENTED


def test_a_tir_put_that_changes_nothing_is_refused_like_a_real_change(world: World) -> None:
    created = world.tir(world.member, "POST", json=llamacpp_request(world.gguf, name="tir-put"))
    assert created.status_code == 201, created.text
    inference_id, key = created.json()["data"]["id"], created.json()["data"]["api_key"]
    for token in (world.viewer, key):
        for body in ({}, {"action": "patch"}, {"replica": 1, "action": "update"}):
            resp = world.tir(token, "PUT", f"{inference_id}/", json=body)
            assert resp.status_code == 403, (body, resp.text)
            assert resp.json()["code"] == 403
    assert world.tir(world.member, "PUT", f"{inference_id}/", json={}).status_code == 200


def test_a_boolean_is_not_a_number_in_any_api(world: World) -> None:
    """Lax validation read `true` as 1: `{"replicas": true}` scaled to one replica and a TIR
    stop carried `async_concurrent_workers: true` through (found by schemathesis)."""
    native = world.create(world.member, "bool", world.llama(replicas=True))
    assert native.status_code == 422, native.text
    assert native.json()["error"]["field"] == "spec.replicas", native.text
    scaled = world.create(
        world.member, "bool", world.llama(autoscale={"max_replicas": True, "enabled": True})
    )
    assert (
        scaled.status_code == 422
        and scaled.json()["error"]["field"] == "spec.autoscale.max_replicas"
    )
    assert "bool" not in world.endpoint_names(world.admin)

    created = world.tir(world.member, "POST", json=llamacpp_request(world.gguf, name="tir-bool"))
    assert created.status_code == 201, created.text
    inference_id = created.json()["data"]["id"]
    for body, field in [
        ({"action": "stop", "async_concurrent_workers": True}, "async_concurrent_workers"),
        ({"action": "disable_auto_scale", "replicas": False}, "replicas"),
    ]:
        resp = world.tir(world.member, "PUT", f"{inference_id}/", json=body)
        assert resp.status_code == 400, (body, resp.text)
        assert field in resp.json()["errors"], resp.text
    assert world.tir(world.member, "GET", f"{inference_id}/").json()["data"]["status"] != "stopped"
    resp = world.tir(
        world.member, "POST", json=llamacpp_request(world.gguf, name="tir-b2", replica=True)
    )
    assert resp.status_code == 400 and "replica" in resp.json()["errors"], resp.text

    deepinfra = world.call(
        world.member,
        "POST",
        "/deepinfra/deploy/llm",
        json={"model_name": "acme/b", "gpu": "A100-80GB", "settings": {"min_instances": True}},
    )
    assert deepinfra.status_code == 422, deepinfra.text
    assert deepinfra.json()["detail"][0]["loc"] == ["body", "settings", "min_instances"]


def test_a_tir_relative_path_lies_under_disk_path_and_cannot_climb_out(world: World) -> None:
    body = llamacpp_request(Path("m.gguf"), name="tir-relative")
    body["disk_path"] = str(world.models)
    created = world.tir(world.member, "POST", json=body)
    assert created.status_code == 201, created.text
    spec = world.call(world.member, "GET", "/api/v1/endpoints/tir-relative").json()["spec"]
    assert spec["model"]["path"] == str(world.gguf)

    climbing = {**body, "name": "tir-climb", "path": "../home/modelport.db"}
    refused = world.tir(world.member, "POST", json=climbing)
    assert refused.status_code in (400, 403), refused.text
    assert "path" in json.dumps(refused.json()["errors"])
    assert "tir-climb" not in world.endpoint_names(world.admin)
