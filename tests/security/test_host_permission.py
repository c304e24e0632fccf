"""Issue 6 as attacks: a project member makes the host run or read what it names.

Against a real server: a member of project B (no host access) tries each way the issue found
(custom command, exec probe, loader env, extra_args, model paths outside the model dirs and
`..`/symlink tricks, a mount of /, a probe of port 22) through the native API and every
dialect. Each is 403 naming the field, in that API's envelope, and nothing is stored. The same
specs are accepted for the server admin and, once the server admin grants it, for project B.
Only the server admin creates projects. Accepted specs ask for 0 replicas: nothing runs.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.security.conftest import Site, site_server
from tests.unit.dialects.tir.conftest import llamacpp_request, set_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@dataclass
class World(Site):
    project_id: int  # team-b
    member: str  # a member token of team-b (not granted host access)

    def grant(self, host_access: bool) -> None:
        body = {"host_access": host_access}
        resp = self.call(self.operator, "PATCH", "/api/v1/projects/team-b", json=body)
        assert resp.status_code == 200, resp.text


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with site_server("mp-host-permission-") as (srv, models):
        os.symlink("/etc/hostname", models / "escape.gguf")  # inside by name, outside in fact
        site = Site(srv, models)
        team = site.team("team-b")
        yield World(srv, models, team.project_id, team.tokens["member"])


# (name, spec fields over World.llama, the field the 403 names). Each is one of the issue's ways.
ATTACKS: list[tuple[str, dict[str, Any], str]] = [
    (
        "custom-command",
        {"framework": "custom", "command": ["sh", "-c", "cat $MODELPORT_HOME/admin-token"]},
        "spec.command",
    ),
    (
        "exec-probe",
        {"readiness": {"protocol": "exec", "commands": ["cat", "/proc/1/environ"]}},
        "spec.readiness.commands",
    ),
    (
        "exec-liveness",
        {"liveness": {"protocol": "exec", "commands": ["sh", "-c", "id"]}},
        "spec.liveness.commands",
    ),
    ("ld-preload", {"env": [{"name": "LD_PRELOAD", "value": "/tmp/evil.so"}]}, "spec.env.0.name"),
    (
        "pythonpath",
        {"env": [{"name": "A", "value": "1"}, {"name": "PYTHONPATH", "value": "/tmp"}]},
        "spec.env.1.name",
    ),
    ("pythonstartup", {"env": [{"name": "PYTHONSTARTUP", "value": "/x.py"}]}, "spec.env.0.name"),
    ("extra-args", {"extra_args": ["--model", "/etc/hostname"]}, "spec.extra_args"),
    ("etc-hostname", {"model": {"path": "/etc/hostname"}}, "spec.model.path"),
    ("missing-file", {"model": {"path": "/etc/no-such-file.gguf"}}, "spec.model.path"),
    ("dot-dot", {"model": {"path": "{models}/../home/admin-token"}}, "spec.model.path"),
    ("symlink-out", {"model": {"path": "{models}/escape.gguf"}}, "spec.model.path"),
    ("relative", {"model": {"path": "../admin-token"}}, "spec.model.path"),
    (
        "engine-arg-file",
        {"engine_args": {"ssl_keyfile": "/root/.ssh/id_rsa"}},
        "spec.engine_args.ssl_keyfile",
    ),
    ("mount-root", {"mounts": [{"path": "/host", "source": "/"}]}, "spec.mounts.0.source"),
    ("probe-port-22", {"readiness": {"protocol": "tcp", "port": 22}}, "spec.readiness.port"),
]


def _attack_spec(world: World, fields: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(fields).replace("{models}", str(world.models))
    return world.llama(**json.loads(text))


@pytest.mark.parametrize(("name", "fields", "field"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_a_member_cannot_reach_the_host_through_the_native_api(
    world: World, name: str, fields: dict[str, Any], field: str
) -> None:
    resp = world.create(world.member, name, _attack_spec(world, fields))
    assert resp.status_code == 403, resp.text
    error = resp.json()["error"]
    assert (error["type"], error["field"]) == ("forbidden", field)
    assert "host access" in error["message"]
    assert "modelport projects set" in error["message"]  # and what to do about it
    assert "GGUF" not in error["message"]  # no hint whether the file exists
    assert name not in world.endpoint_names(world.member)


def test_refusals_do_not_tell_whether_a_host_file_exists(world: World) -> None:
    answers = [
        world.create(world.member, "probe", world.llama(model={"path": path})).json()
        for path in ("/etc/hostname", "/etc/no-such-file")
    ]
    messages = [
        a["error"]["message"].replace(p, "P")
        for a, p in zip(answers, ("/etc/hostname", "/etc/no-such-file"), strict=True)
    ]
    assert messages[0] == messages[1]


# Accepted for whoever may use the host; `--model` stays reserved whoever asks (another test).
_ACCEPTED = [(n, f) for n, f, _ in ATTACKS if n not in ("extra-args", "missing-file", "relative")]
_ACCEPTED.append(("extra-args", {"extra_args": ["--verbose", "false"]}))


def test_the_server_admin_may_do_all_of_it(world: World) -> None:
    for name, fields in _ACCEPTED:
        resp = world.create(world.operator, f"op-{name}", _attack_spec(world, fields))
        assert resp.status_code == 201, (name, resp.text)


def test_a_granted_project_may_and_a_revoked_one_keeps_what_it_has(world: World) -> None:
    world.grant(True)
    try:
        for name, fields in _ACCEPTED:
            resp = world.create(world.member, f"granted-{name}", _attack_spec(world, fields))
            assert resp.status_code == 201, (name, resp.text)
    finally:
        world.grant(False)
    # Revoked: the member still scales and restarts what exists, but adds nothing new.
    path = "/api/v1/endpoints/granted-custom-command"
    scaled = world.call(world.member, "PATCH", path, json={"spec": {"labels": {"a": "b"}}})
    assert scaled.status_code == 200, scaled.text
    assert world.call(world.member, "POST", f"{path}/restart").status_code == 200
    changed = world.call(
        world.member, "PATCH", path, json={"spec": {"command": ["sh", "-c", "id"]}}
    )
    assert changed.status_code == 403, changed.text
    assert changed.json()["error"]["field"] == "spec.command"
    env = {"spec": {"env": [{"name": "LD_PRELOAD", "value": "/tmp/evil.so"}]}}
    added = world.call(world.member, "PATCH", "/api/v1/endpoints/granted-etc-hostname", json=env)
    assert added.status_code == 403, added.text
    assert added.json()["error"]["field"] == "spec.env.0.name"


def test_only_the_server_admin_creates_projects_or_grants_access(world: World) -> None:
    team_admin = world.call(
        world.operator, "POST", "/api/v1/projects/team-b/tokens", json={"name": "a2"}
    ).json()["token"]
    for token in (team_admin, world.member):
        made = world.call(token, "POST", "/api/v1/projects", json={"name": "team-z"})
        assert made.status_code == 403, made.text
        assert "server admin" in made.json()["error"]["message"]
        grant = world.call(token, "PATCH", "/api/v1/projects/team-b", json={"host_access": True})
        assert grant.status_code == 403, grant.text
    assert world.call(world.member, "GET", "/api/v1/whoami").json()["host_access"] is False


# --- the dialects: same service, same refusal, each in its own envelope ----------------------


def _tir(world: World, name: str, **changes: Any) -> dict[str, Any]:
    """TIR's own create body (llama.cpp over the allowed model file), fields set by a__b paths."""
    body = llamacpp_request(world.gguf, name=name)
    for dotted, value in changes.items():
        set_in(body, dotted.replace("__", "."), value)
    return body


_PROBES = "custom_endpoint_details__container__advance_config"

TIR_ATTACKS: list[tuple[str, dict[str, Any], str]] = [
    (
        "tir-custom",
        {
            "framework": "custom",
            "detailed_info__commands": base64.b64encode(b'["sh", "-c", "id"]').decode(),
        },
        "detailed_info.commands",
    ),
    ("tir-path", {"path": "/etc/hostname"}, "path"),
    (
        "tir-env",
        {
            "custom_endpoint_details__resource_details__env_variables": [
                {"key": "LD_PRELOAD", "value": "/tmp/evil.so"}
            ]
        },
        "custom_endpoint_details.resource_details.env_variables.0.name",
    ),
    ("tir-args", {"detailed_info__args": '["--model", "/etc/hostname"]'}, "detailed_info.args"),
    (
        "tir-exec-probe",
        {
            f"{_PROBES}__is_readiness_probe_enabled": True,
            f"{_PROBES}__readiness_probe__protocol": "exec",
            f"{_PROBES}__readiness_probe__commands": '["cat", "/etc/shadow"]',
        },
        "custom_endpoint_details.container.advance_config.readiness_probe.commands",
    ),
    (
        "tir-port-22",
        {
            f"{_PROBES}__is_readiness_probe_enabled": True,
            f"{_PROBES}__readiness_probe__protocol": "tcp",
            f"{_PROBES}__readiness_probe__port": 22,
        },
        "custom_endpoint_details.container.advance_config.readiness_probe.port",
    ),
]


@pytest.mark.parametrize(("name", "changes", "field"), TIR_ATTACKS, ids=[a[0] for a in TIR_ATTACKS])
def test_a_member_cannot_reach_the_host_through_tir(
    world: World, name: str, changes: dict[str, Any], field: str
) -> None:
    resp = world.call(
        world.member,
        "POST",
        "/tir/serving/inference/",
        params={"project_id": world.project_id, "location": "Delhi"},
        json=_tir(world, name, **changes),
    )
    assert resp.status_code == 403, resp.text
    body = resp.json()
    assert body["code"] == 403 and body["data"] == {}
    assert list(body["errors"]) == [field], body
    assert "host access" in body["message"]
    assert name not in world.endpoint_names(world.member)


def test_a_member_cannot_reach_the_host_through_deepinfra(world: World) -> None:
    base = {"gpu": "L4-24GB", "hf": {"repo": str(world.gguf)}}
    args = world.call(
        world.member,
        "POST",
        "/deepinfra/deploy/llm",
        json=base | {"model_name": "team-b/di-args", "extra_args": ["--model", "/etc/hostname"]},
    )
    assert args.status_code == 403, args.text
    assert args.json()["detail"].startswith("extra_args: ")
    path = world.call(
        world.member,
        "POST",
        "/deepinfra/deploy/llm",
        json={"model_name": "team-b/di-path", "gpu": "L4-24GB", "hf": {"repo": "/etc/passwd.gguf"}},
    )
    assert path.status_code == 403, path.text
    assert path.json()["detail"].startswith("hf.repo: ")


def test_a_member_cannot_reach_the_host_through_tensormesh(world: World) -> None:
    resp = world.call(
        world.member,
        "POST",
        "/tensormesh/v1/models",
        json={
            "modelName": "tm-path",
            "userId": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "modelPath": "/etc/hostname",
            "gpuCount": 1,
            "gpuType": "GPU_TYPE_H100",
        },
    )
    assert resp.status_code == 403, resp.text
    error = resp.json()
    assert error["code"] == 7  # PERMISSION_DENIED
    assert error["message"].startswith("modelPath: ")
    assert "host access" in error["message"]
