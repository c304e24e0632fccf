"""Datasets end to end: a real `modelport server` subprocess, a real S3-compatible server
(moto's server mode over HTTP, authentication on), the native API and the CLI. Local and S3
datasets list and read their objects; credentials never appear in an answer or the server log;
bad input is a 4xx naming the field; a dataset an endpoint's async_config uses cannot go."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.s3 import S3Server, s3_server
from tests.support.server import ServerProcess

__all__ = ["s3_server"]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SECRET_MARK = "do-not-show"  # part of no answer or log line


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("mp-home"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def team(server: ServerProcess) -> str:
    """A project's admin token: no host access until a test grants it."""
    with server.api() as admin:
        created = admin.post("/api/v1/projects", json={"name": "team"})
    assert created.status_code == 201, created.text
    return str(created.json()["admin_token"])


def as_team(server: ServerProcess, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.base_url}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def grant_host_access(server: ServerProcess, grant: bool) -> None:
    with server.api() as admin:
        resp = admin.patch("/api/v1/projects/team", json={"host_access": grant})
    assert resp.status_code == 200, resp.text


def assert_error(resp: httpx.Response, status: int, field: str) -> str:
    assert resp.status_code == status, resp.text
    error: dict[str, Any] = resp.json()["error"]
    assert error["field"] == field, error
    return str(error["message"])


def test_local_dataset_lists_and_reads_objects(server: ServerProcess, team: str) -> None:
    with as_team(server, team) as api:
        created = api.post("/datasets", json={"name": "results"})
        assert created.status_code == 201, created.text
        dataset = created.json()
        assert dataset["kind"] == "local" and dataset["has_credentials"] is False
        directory = Path(dataset["url"])
        assert directory == server.home / "datasets" / "team" / "results"

        # Results as async workers write them (the storage seam's layout).
        (directory / "api/is-3/response").mkdir(parents=True)
        (directory / "api/is-3/response/a1.json").write_text('{"status": 200}')
        (directory / "api/is-3/response/a2.json").write_text('{"status": 500}')

        listed = api.get("/datasets/results/objects", params={"prefix": "api/is-3/"}).json()
        assert listed["keys"] == ["api/is-3/response/a1.json", "api/is-3/response/a2.json"]
        assert listed["truncated"] is False
        one = api.get("/datasets/results/objects", params={"limit": 1}).json()
        assert one["keys"] == ["api/is-3/response/a1.json"] and one["truncated"] is True
        body = api.get("/datasets/results/objects/api/is-3/response/a1.json")
        assert body.status_code == 200 and body.json() == {"status": 200}
        assert body.headers["content-type"].startswith("application/json")
        assert_error(api.get("/datasets/results/objects/api/none.json"), 404, "key")
        # Keys cannot leave the dataset's directory.
        assert_error(api.get("/datasets/results/objects/a/%2e%2e/x"), 422, "key")
        assert_error(api.get("/datasets/results/objects", params={"prefix": "../"}), 422, "prefix")

        names = [d["name"] for d in api.get("/datasets").json()["items"]]
        assert names == ["results"]

    # Another project does not see it.
    with server.api() as admin:
        assert admin.get("/api/v1/datasets/results").status_code == 404


def test_bad_input_is_a_4xx_naming_the_field(server: ServerProcess, team: str) -> None:
    grant_host_access(server, False)
    with as_team(server, team) as api:
        cases: list[tuple[dict[str, Any], int, str]] = [
            ({"name": "Bad_Name"}, 422, "name"),
            ({"name": "x", "url": "../escape"}, 422, "url"),
            ({"name": "x", "url": "/etc"}, 403, "url"),
            ({"name": "x", "url": "file:///etc"}, 403, "url"),
            ({"name": "x", "url": "s3://b", "kind": "local"}, 422, "kind"),
            ({"name": "x", "url": "s3://b", "options": {"endpoint_url": "ftp://h"}}, 422,
             "options.endpoint_url"),
            ({"name": "x", "url": "s3://b", "options": {"endpoint_url": "http://127.0.0.1:9"}},
             403, "options.endpoint_url"),
            ({"name": "x", "url": "s3://b", "credentials": {"key": "k"}}, 422,
             "credentials.secret"),
            ({"name": "x", "url": "s3://b", "bogus": 1}, 422, "bogus"),
            ({"name": "x", "credentials": {"key": "k", "secret": SECRET_MARK}}, 422,
             "credentials"),
        ]  # fmt: skip
        for body, status, field in cases:
            assert_error(api.post("/datasets", json=body), status, field)
        assert_error(api.post("/datasets", json={"name": "results"}), 409, "name")
        assert api.get("/datasets/nope").status_code == 404


def test_s3_dataset_keeps_credentials_sealed(
    server: ServerProcess, team: str, s3_server: S3Server
) -> None:
    bucket = s3_server.new_bucket()
    s3_server.client().put_object(Bucket=bucket, Key="out/api/is-9/response/r1.json", Body=b"{}")
    body = {
        "name": "s3res",
        "url": f"s3://{bucket}/out",
        "options": {"endpoint_url": s3_server.endpoint_url, "region": "us-east-1"},
        "credentials": {"key": s3_server.key, "secret": s3_server.secret},
    }
    answers: list[str] = []
    with as_team(server, team) as api:
        grant_host_access(server, False)
        # An S3 server on this host's loopback is the host's network: host access only.
        assert_error(api.post("/datasets", json=body), 403, "options.endpoint_url")
        grant_host_access(server, True)
        created = api.post("/datasets", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["kind"] == "fsspec" and created.json()["has_credentials"] is True
        listed = api.get("/datasets/s3res/objects", params={"prefix": "api/"})
        assert listed.json()["keys"] == ["api/is-9/response/r1.json"]
        read = api.get("/datasets/s3res/objects/api/is-9/response/r1.json")
        assert read.status_code == 200 and read.content == b"{}"
        wrong = {**body, "name": "s3wrong", "credentials": {"key": s3_server.key,
                                                             "secret": SECRET_MARK}}  # fmt: skip
        assert api.post("/datasets", json=wrong).status_code == 201
        refused = api.get("/datasets/s3wrong/objects")
        assert refused.status_code == 400, refused.text  # S3 refused the key: not a 500
        answers += [created.text, listed.text, refused.text, api.get("/datasets").text]
        answers.append(api.get("/datasets/s3res").text)

    cli_env_token = {"MODELPORT_TOKEN": team}
    cli = _cli(server, cli_env_token, "datasets", "ls", "--json")
    assert cli.returncode == 0, cli.stderr
    assert {d["name"] for d in json.loads(cli.stdout)["items"]} >= {"s3res", "s3wrong"}
    table = _cli(server, cli_env_token, "datasets", "ls")
    assert "sealed" in table.stdout and "s3res" in table.stdout
    cat = _cli(server, cli_env_token, "datasets", "objects", "s3res", "api/is-9/response/r1.json")
    assert cat.returncode == 0 and cat.stdout == "{}"
    keys = _cli(server, cli_env_token, "datasets", "objects", "s3res", "--prefix", "api/is-9/")
    assert keys.stdout.split() == ["api/is-9/response/r1.json"]
    answers += [cli.stdout, table.stdout]

    log = server.log_path.read_text()
    for secret in (s3_server.secret, SECRET_MARK):
        assert secret not in log
        for text in answers:
            assert secret not in text


def test_a_dataset_in_use_cannot_be_deleted(server: ServerProcess, team: str) -> None:
    grant_host_access(server, True)
    with as_team(server, team) as api:
        assert api.post("/datasets", json={"name": "inuse"}).status_code == 201
        dataset_id = api.get("/datasets/inuse").json()["id"]
        spec = {
            "framework": "custom",
            "command": [sys.executable, "-m", "http.server", "{port}"],
            "replicas": 0,
            "async_config": {"dataset_id": str(dataset_id)},  # TIR's way: the id
        }
        created = api.post("/endpoints", json={"name": "user", "spec": spec})
        assert created.status_code == 201, created.text
        message = assert_error(api.delete("/datasets/inuse"), 409, "name")
        assert "user" in message
        assert api.get("/datasets/inuse").status_code == 200

        patched = api.patch(
            "/endpoints/user", json={"spec": {"async_config": {"dataset_id": None}}}
        )
        assert patched.status_code == 200, patched.text
        assert api.delete("/datasets/inuse").status_code == 204
        assert api.get("/datasets/inuse").status_code == 404
        api.delete("/endpoints/user")


def _cli(server: ServerProcess, env: dict[str, str], *args: str) -> Any:
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", *args],
        env={**server.env, "MODELPORT_URL": server.base_url, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
