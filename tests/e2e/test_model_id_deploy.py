"""Issue 9's "done when", first point: a model uploaded through the API (the SmolLM2 GGUF) is
deployed by `model_id` on both runtimes and answers the openai SDK.

A real `modelport server` whose model repository is a real S3-compatible server (moto over
HTTP, auth on), with the local and docker runtimes enabled. The upload goes through the SDK in
chunks; each endpoint names the model only by `model_id`; the controller copies the files from
the object store into its content-keyed cache once, and both the local llama.cpp process and
the llama.cpp container (the cache mounted read-only) serve it. The model's numeric id (what
TIR's integer `model_id` carries) reaches the same model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker import DockerClient
from openai import OpenAI

from modelport.sdk import Client
from tests.support.docker import docker_client, llamacpp_image
from tests.support.s3 import REGION, S3Server, s3_server
from tests.support.server import ServerProcess, wait_until

__all__ = ["docker_client", "llamacpp_image", "s3_server"]  # fixtures used below

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]

MODEL = "smol-repo"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    s3_server: S3Server,
    docker_client: DockerClient,
    llamacpp_image: str,  # also tagged modelport/llamacpp:latest, the engine's default image
) -> Iterator[ServerProcess]:
    options = {
        "endpoint_url": s3_server.endpoint_url,
        "key": s3_server.key,
        "secret": s3_server.secret,
        "client_kwargs": {"region_name": REGION},
    }
    srv = ServerProcess(
        tmp_path_factory.mktemp("mp-home"),
        extra_env={
            "MODELPORT_RUNTIMES": "local,docker",
            "MODELPORT_MODEL_OBJECTS_URL": f"s3://{s3_server.new_bucket()}/repo",
            "MODELPORT_MODEL_OBJECTS_OPTIONS": json.dumps(options),
        },
    )
    srv.start()
    try:
        yield srv
    finally:
        with srv.api() as api:
            for name in ("by-id-local", "by-id-docker", "by-id-tir"):
                api.delete(f"/api/v1/endpoints/{name}")
        wait_until(lambda: not srv.replica_handles(), timeout=60)
        srv.stop()
        install = (srv.home / "install-id").read_text().strip()
        leftovers = docker_client.containers.list(
            all=True, filters={"label": f"modelport.install={install}"}
        )
        for container in leftovers:  # a failed test's leftovers
            container.remove(force=True)


@pytest.fixture(scope="module")
def uploaded(server: ServerProcess, smollm2_path: Path) -> dict[str, Any]:
    with Client(server.base_url, server.admin_token) as client:
        client.create_model(MODEL, "SmolLM2-135M-Instruct Q4_1")
        client.upload_file(MODEL, smollm2_path, chunk_bytes=4 * 1024 * 1024)
        return client.mark_model_ready(MODEL).model_dump(mode="json")


def _deploy(server: ServerProcess, name: str, runtime: str) -> None:
    spec = {
        "framework": "llamacpp",
        "runtime": runtime,
        "model": {"model_id": MODEL},
        "engine_args": {"n_ctx": 512},
    }
    with server.api() as api:
        created = api.post("/api/v1/endpoints", json={"name": name, "spec": spec})
    assert created.status_code == 201, created.text


def _ready(server: ServerProcess, name: str) -> list[dict[str, Any]] | None:
    with server.api() as api:
        reps = api.get(f"/api/v1/endpoints/{name}/replicas").json()["items"]
    return reps if reps and all(r["state"] == "ready" for r in reps) else None


def _events(server: ServerProcess, name: str) -> list[dict[str, Any]]:
    with server.api() as api:
        return list(api.get(f"/api/v1/endpoints/{name}/events").json()["items"])


def _chat(server: ServerProcess, name: str) -> str:
    client = OpenAI(base_url=f"{server.base_url}/v1", api_key=server.admin_token, max_retries=0)
    reply = client.chat.completions.create(
        model=name, messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
    )
    return reply.choices[0].message.content or ""


def test_an_uploaded_model_serves_by_model_id_on_both_runtimes(
    server: ServerProcess, uploaded: dict[str, Any]
) -> None:
    assert uploaded["status"] == "ready"
    _deploy(server, "by-id-local", "local")
    _deploy(server, "by-id-docker", "docker")
    for name in ("by-id-local", "by-id-docker"):
        ready = wait_until(lambda: _ready(server, name) is not None, timeout=180)  # noqa: B023
        assert ready, _events(server, name)
        assert _chat(server, name)

    local = _ready(server, "by-id-local")
    docker = _ready(server, "by-id-docker")
    assert local is not None and docker is not None
    assert {r["handle"]["backend"] for r in local} == {"local"}
    assert {r["handle"]["backend"] for r in docker} == {"docker"}
    assert all(r["handle"]["container_id"] for r in docker)

    # The files came from the object store once: the first endpoint's replica fetched them,
    # the second found them in the content-keyed cache.
    reasons = [
        e["reason"] for e in _events(server, "by-id-local") + _events(server, "by-id-docker")
    ]
    assert reasons.count("ModelReady") >= 1
    cached = list(Path(server.env["MODELPORT_MODEL_CACHE"]).rglob("*.gguf"))
    assert len(cached) == 1, cached


def test_the_model_is_also_found_by_its_numeric_id_as_tir_sends_it(
    server: ServerProcess, uploaded: dict[str, Any]
) -> None:
    with server.api() as api:
        models = api.get("/api/v1/models").json()["items"]
    (model,) = [m for m in models if m["name"] == MODEL]
    _deploy(server, "by-id-tir", "local")  # native first, to compare specs
    with server.api() as api:
        spec = api.get("/api/v1/endpoints/by-id-tir").json()["spec"]
        patched = api.patch(
            "/api/v1/endpoints/by-id-tir", json={"spec": {"model": {"model_id": str(model["id"])}}}
        )
    assert spec["model"]["model_id"] == MODEL
    assert patched.status_code == 200, patched.text
    assert wait_until(lambda: _ready(server, "by-id-tir") is not None, timeout=180)
    assert _chat(server, "by-id-tir")


def test_a_model_in_use_cannot_be_deleted(server: ServerProcess, uploaded: dict[str, Any]) -> None:
    with server.api() as api:
        refused = api.delete(f"/api/v1/models/{MODEL}")
    assert refused.status_code == 409, refused.text
    assert "by-id-local" in refused.text
