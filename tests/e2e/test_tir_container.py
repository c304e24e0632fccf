"""Issue 9's "done when": the TIR seed's container example runs where its image exists locally.

TIR's custom-container shape (framework custom, `container_name`, TIR `args`, shared storage
`sfs_path` mounted at `disk_path`) through a real `modelport server` with the docker runtime:
the image-only endpoint runs on Docker with the image's own entrypoint, the SmolLM2 GGUF's host
directory mounted where TIR's `disk_path` says, and the answer comes through TIR's inference URL
with the `openai` SDK. The same request with TIR's default
`image_pull_policy: Always` cannot pull (no registry is reachable): the endpoint says
ImagePullFailed with the daemon's reason and backs off; it never crash-loops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from docker import DockerClient
from openai import OpenAI

from tests.support.docker import custom_image, docker_client, llamacpp_image
from tests.support.server import ServerProcess, wait_until

__all__ = ["custom_image", "docker_client", "llamacpp_image"]  # fixtures used below

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, docker_client: DockerClient
) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        tmp_path_factory.mktemp("mp-home"), extra_env={"MODELPORT_RUNTIMES": "local,docker"}
    )
    srv.start()
    try:
        yield srv
    finally:
        with srv.api() as api:
            for item in api.get("/api/v1/endpoints").json()["items"]:
                api.delete(f"/api/v1/endpoints/{item['name']}")
        wait_until(lambda: not srv.replica_handles(), timeout=60)
        srv.stop()
        install = (srv.home / "install-id").read_text().strip()
        for container in docker_client.containers.list(
            all=True, filters={"label": f"modelport.install={install}"}
        ):
            container.remove(force=True)  # a failed test's leftovers


class Tir:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        with server.api() as api:
            self.project_id = int(api.get("/api/v1/whoami").json()["project_id"])

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.server.base_url}/tir{path}",
            headers={"Authorization": f"Bearer {self.server.admin_token}"},
            params={"project_id": self.project_id, "location": "Delhi", "active_iam": 1},
            timeout=30,
            **kwargs,
        )

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.call("POST", "/serving/inference/", json=body)
        assert resp.status_code == 201, resp.text
        return dict(resp.json()["data"])

    def get(self, inference_id: int) -> dict[str, Any]:
        resp = self.call("GET", f"/serving/inference/{inference_id}/")
        assert resp.status_code == 200, resp.text
        return dict(resp.json()["data"])


def container_request(name: str, image: str, gguf: Path, pull: str | None) -> dict[str, Any]:
    """TIR's custom container request, as seed 000 shows it, on a local image."""
    container: dict[str, Any] = {"container_name": image, "container_type": "public"}
    if pull is not None:
        container["advance_config"] = {"image_pull_policy": pull}
    return {
        "name": name,
        "framework": "custom",
        "custom_endpoint_details": {
            "container": container,
            "resource_details": {"disk_size": 10, "env_variables": []},
        },
        "replica": 1,
        "is_auto_scale_enabled": False,
        "auto_scale_policy": {"min_replicas": 1, "max_replicas": 1, "rules": []},
        "detailed_info": {"commands": "", "args": f'["--model", "/mnt/models/{gguf.name}"]'},
        "storage_type": "sfs",
        "sfs_path": str(gguf.parent),
        "disk_path": "/mnt/models",
        "cluster_type": "tir-cluster",
        "sku_id": 101,
        "sku_item_price_id": 1001,
    }


def _replicas(server: ServerProcess, name: str) -> list[dict[str, Any]]:
    with server.api() as api:
        return list(api.get(f"/api/v1/endpoints/{name}/replicas").json()["items"])


def test_the_seed_container_example_runs_on_docker_and_answers(
    server: ServerProcess, custom_image: str, smollm2_path: Path
) -> None:
    tir = Tir(server)
    created = tir.create(
        container_request("Boxed Chat", custom_image, smollm2_path, "IfNotPresent")
    )
    assert wait_until(lambda: tir.get(created["id"])["status"] == "Running", timeout=180), (
        tir.get(created["id"]),
        _replicas(server, "boxed-chat"),
    )
    (replica,) = _replicas(server, "boxed-chat")
    assert replica["handle"]["backend"] == "docker" and replica["handle"]["container_id"]

    url = created["inference_url"]
    client = OpenAI(base_url=f"{url}v1", api_key=created["api_key"], max_retries=0)
    reply = client.chat.completions.create(
        model="boxed-chat", messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
    )
    assert reply.choices[0].message.content


def test_an_image_that_cannot_be_pulled_fails_with_the_reason_not_a_crash_loop(
    server: ServerProcess, custom_image: str, smollm2_path: Path
) -> None:
    tir = Tir(server)
    missing = "modelport/not-built-anywhere:1"
    created = tir.create(container_request("Unpullable", missing, smollm2_path, None))  # Always

    def pull_failed() -> bool:
        # FAILED with the reason, or PENDING in its backoff saying what it waits after.
        reps = _replicas(server, "unpullable")
        return bool(reps) and "ImagePullFailed" in f"{reps[0]['reason']} {reps[0]['detail']}"

    assert wait_until(pull_failed, timeout=60), _replicas(server, "unpullable")
    (replica,) = _replicas(server, "unpullable")
    assert missing in replica["detail"]
    assert tir.get(created["id"])["status"] != "Running"

    # Backoff, not a loop: over ~8 s only a few pull attempts (events) happen.
    def pulls() -> int:
        with server.api() as api:
            events = api.get("/api/v1/endpoints/unpullable/events").json()["items"]
        return sum(e["reason"] == "ImagePullFailed" for e in events)

    first = pulls()
    wait_until(lambda: False, timeout=8)
    assert pulls() - first <= 4


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model_load_integration_id": 999}, "model_load_integration_id"),
        ({"model_id": 999}, "model_id"),
        (
            {"container_type": "private", "private_image_details": {"registry_namespace_id": 999}},
            "custom_endpoint_details.container.private_image_details.registry_namespace_id",
        ),
    ],
)
def test_an_unknown_reference_is_a_400_naming_the_tir_field(
    server: ServerProcess, smollm2_path: Path, change: dict[str, Any], field: str
) -> None:
    body = container_request("Bad Ref", "modelport/custom-chat:x", smollm2_path, "IfNotPresent")
    container_change = {k: v for k, v in change.items() if k.startswith(("container", "private"))}
    body["custom_endpoint_details"]["container"].update(container_change)
    body.update({k: v for k, v in change.items() if k not in container_change})
    resp = Tir(server).call("POST", "/serving/inference/", json=body)
    assert resp.status_code == 400, resp.text
    answer = resp.json()
    assert field in answer["errors"], answer
    assert "spec." not in answer["message"], answer
