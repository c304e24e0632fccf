"""CLI endpoint commands against the real API over HTTP."""

from __future__ import annotations

import json
import threading

from modelport.domain.states import ReplicaState
from tests.unit.cli.helpers import json_out, run
from tests.unit.sdk.live_server import LiveServer

CUSTOM = ("--framework", "custom", "--command", "python -m http.server {port}")


def deploy(server: LiveServer, name: str = "web", *extra: str) -> None:
    result = run(server, "deploy", name, *CUSTOM, "--no-wait", "--json", *extra)
    assert result.exit_code == 0, result.output


def test_deploy_no_wait_prints_url_key_and_examples(server: LiveServer) -> None:
    result = run(server, "deploy", "web", *CUSTOM, "--no-wait")
    assert result.exit_code == 0, result.output
    url = f"{server.url}/endpoints/web/v1"
    assert f"URL:     {url}" in result.stdout
    assert "API key: mp_" in result.stdout
    assert "shown once" in result.stdout
    assert f"curl {url}/chat/completions" in result.stdout
    assert f'OpenAI(base_url="{url}"' in result.stdout


def test_deploy_json_is_json_only_with_the_key(server: LiveServer) -> None:
    created = json_out(
        run(server, "deploy", "web", *CUSTOM, "--replicas", "2", "--no-wait", "--json")
    )
    assert created["name"] == "web"
    assert created["api_key"].startswith("mp_")
    assert created["spec"]["replicas"] == 2
    assert created["spec"]["command"] == ["python", "-m", "http.server", "{port}"]


def test_deploy_builds_typed_engine_args_env_and_resources(server: LiveServer) -> None:
    deploy(
        server,
        "web",
        "--engine-arg", "n_ctx=1024",
        "--engine-arg", "flash=true",
        "--engine-arg", "temp=0.5",
        "--engine-arg", "chat_format=chatml",
        "--extra-arg", "--verbose",
        "--env", "MODE=fast",
        "--secret-env", "HF_TOKEN=hf_abc",
        "--cpu", "2",
        "--memory-mb", "2048",
        "--max-concurrency", "8",
    )  # fmt: skip
    spec = json_out(run(server, "get", "web", "--json"))["spec"]
    assert spec["engine_args"] == {
        "n_ctx": 1024,
        "flash": True,
        "temp": 0.5,
        "chat_format": "chatml",
    }
    assert spec["extra_args"] == ["--verbose"]
    assert {"name": "MODE", "value": "fast"}.items() <= spec["env"][0].items()
    assert spec["env"][1]["secret"] is True
    assert spec["env"][1]["value"] != "hf_abc"  # masked by the server
    assert spec["resources"]["cpu"] == 2 and spec["resources"]["memory_mb"] == 2048
    assert spec["max_concurrency"] == 8


def test_deploy_waits_for_ready_with_progress(server: LiveServer) -> None:
    """Stands in for the controller: brings a replica up once the endpoint exists."""

    def controller() -> None:
        while not server.store.list_endpoints():
            threading.Event().wait(0.01)
        replica = server.add_replica("web")
        server.event("web", "engine starting")
        server.move(replica, ReplicaState.STARTING, ReplicaState.READY)

    thread = threading.Thread(target=controller)
    thread.start()
    result = run(server, "deploy", "web", *CUSTOM, "--timeout", "60")
    thread.join()
    assert result.exit_code == 0, result.output
    assert "Endpoint 'web' is ready." in result.stdout
    assert "API key: mp_" in result.stdout
    assert "engine starting" in result.stderr  # progress trail, off stdout


def test_deploy_timeout_fails_with_exit_code_1_but_shows_the_key(server: LiveServer) -> None:
    result = run(server, "deploy", "web", *CUSTOM, "--timeout", "0.01")
    assert result.exit_code == 1
    assert "API key: mp_" in result.stdout  # shown once: not lost when the wait fails
    assert "error: endpoint 'web' not ready after 0.01s" in result.stderr
    assert "EndpointCreated" in result.stderr  # the latest events come with the error


def test_deploy_json_timeout_still_prints_the_created_endpoint(server: LiveServer) -> None:
    result = run(server, "deploy", "web", *CUSTOM, "--timeout", "0.01", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["api_key"].startswith("mp_")
    assert "error: endpoint 'web' not ready" in result.stderr


def test_ls_json_is_valid_json(server: LiveServer) -> None:
    deploy(server, "web")
    deploy(server, "api")
    listed = json_out(run(server, "ls", "--json"))
    assert sorted(e["name"] for e in listed["items"]) == ["api", "web"]
    assert listed["items"][0]["phase"] == "deploying"


def test_ls_and_get_render_tables(server: LiveServer) -> None:
    deploy(server, "web")
    server.move(server.add_replica("web"), ReplicaState.STARTING)
    table = run(server, "ls")
    assert table.exit_code == 0, table.output
    header, row = table.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "PHASE", "READY", "FRAMEWORK", "NODES", "GEN", "URL", "AGE"]
    assert row.split()[:6] == ["web", "deploying", "0/1", "custom", "-", "1"]

    details = run(server, "get", "web")
    assert details.exit_code == 0, details.output
    for text in ("deploying", "0/1 ready (1 starting)", "custom", "starting", "python -m"):
        assert text in details.stdout

    replicas = run(server, "replicas", "web")
    assert "starting" in replicas.stdout
    assert json_out(run(server, "replicas", "web", "--json"))["items"][0]["state"] == "starting"


def test_patch_merges_engine_args(server: LiveServer) -> None:
    deploy(server, "web", "--engine-arg", "a=1")
    result = run(server, "patch", "web", "--engine-arg", "b=two", "--replicas", "3", "--no-wait")
    assert result.exit_code == 0, result.output
    spec = json_out(run(server, "get", "web", "--json"))["spec"]
    assert spec["engine_args"] == {"a": 1, "b": "two"}
    assert spec["replicas"] == 3


def test_api_error_exits_1_with_the_field(server: LiveServer) -> None:
    deploy(server, "web")
    result = run(server, "patch", "web", "--replicas", "-1", "--no-wait")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: spec.replicas: ")
    assert "Traceback" not in result.output


def test_stale_generation_exits_1(server: LiveServer) -> None:
    deploy(server, "web")
    run(server, "patch", "web", "--replicas", "2", "--no-wait")
    result = run(server, "patch", "web", "--replicas", "3", "--generation", "1", "--no-wait")
    assert result.exit_code == 1
    assert "error: generation" in result.stderr


def test_not_found_exits_1(server: LiveServer) -> None:
    result = run(server, "get", "nope")
    assert result.exit_code == 1
    assert "error:" in result.stderr and "modelport ls" in result.stderr


def test_actions_and_delete(server: LiveServer) -> None:
    deploy(server, "web")
    assert "web: stopping" in run(server, "stop", "web").stdout
    assert "web: starting" in run(server, "start", "web").stdout
    assert json_out(run(server, "restart", "web", "--json"))["endpoint"]["generation"] == 2
    deleted = run(server, "delete", "web")  # stdin is not a TTY: no prompt
    assert deleted.exit_code == 0, deleted.output
    assert json_out(run(server, "get", "web", "--json"))["desired_state"] == "deleted"


def test_events_and_logs(server: LiveServer) -> None:
    deploy(server, "web")
    events = json_out(run(server, "events", "web", "--json"))
    assert [e["reason"] for e in events["items"]] == ["EndpointCreated"]
    assert "EndpointCreated" in run(server, "events", "web").stdout
    logs = run(server, "logs", "web", "--tail", "5")
    assert logs.exit_code == 0, logs.output


def test_replicas_restart_prints_the_replica_and_json(server: LiveServer) -> None:
    deploy(server, "web", "--replicas", "2")
    first = server.move(server.add_replica("web"), ReplicaState.STARTING, ReplicaState.READY)
    second = server.move(server.add_replica("web"), ReplicaState.STARTING)

    table = run(server, "replicas", "restart", "web", str(first.id))
    assert table.exit_code == 0, table.output
    header, row = table.stdout.splitlines()[:2]
    assert header.split()[:3] == ["ID", "GEN", "STATE"]
    assert row.split()[:3] == [str(first.id), "1", "ready"]
    assert "restart requested" in table.stdout
    assert f"replica {first.id} is replaced" in table.stdout

    answered = json_out(run(server, "replicas", "restart", "web", str(second.id), "--json"))
    assert (answered["id"], answered["state"]) == (second.id, "starting")
    assert answered["restart_requested_at"]
    # Listing still works as before, with or without the `ls` subcommand.
    listed = json_out(run(server, "replicas", "web", "--json"))["items"]
    assert all(r["restart_requested_at"] for r in listed)
    assert json_out(run(server, "replicas", "ls", "web", "--json"))["items"] == listed

    missing = run(server, "replicas", "restart", "web", "424242")
    assert missing.exit_code == 1
    assert missing.stderr.splitlines() == [
        "error: replica 424242 not found on endpoint 'web'",
        "hint: list the endpoint's replicas with `modelport replicas NAME`",
    ]
