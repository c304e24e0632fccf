"""TIR's async invocations against a real server and a real llama.cpp replica: turn them on
with update_async_configuration (the dataset must exist), POST to a target route of the TIR
inference URL (202 with request_id and response_location), poll async_status until completed,
read the result through the native datasets objects API; turning async off stops intake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, running_server, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]

DATASET = "tir-results"
CHAT = {"route_name": "chat", "route_value": "/v1/chat/completions"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("mp-home")) as srv:
        yield srv


class Tir:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.headers = {"Authorization": f"Bearer {server.admin_token}"}
        with server.api() as api:
            self.project_id = int(api.get("/api/v1/whoami").json()["project_id"])

    def call(self, method: str, path: str, params: dict[str, Any] | None = None,
             **kwargs: Any) -> httpx.Response:  # fmt: skip
        query = {"project_id": self.project_id, "location": "Delhi", **(params or {})}
        url = f"{self.server.base_url}/tir{path}"
        return httpx.request(method, url, headers=self.headers, params=query, timeout=30, **kwargs)

    def status(self, inference_id: int, **params: Any) -> httpx.Response:
        return self.call("GET", f"/serving/inference/{inference_id}/async_status/", params)

    def post(self, url: str, content: str) -> httpx.Response:
        body = {"messages": [{"role": "user", "content": content}], "max_tokens": 6}
        return httpx.post(f"{url}v1/chat/completions", json=body, headers=self.headers, timeout=60)


@pytest.fixture(scope="module")
def endpoint(server: ServerProcess, smollm2_path: Path) -> dict[str, Any]:
    tir = Tir(server)
    body = {
        "name": "async-chat",
        "path": str(smollm2_path),
        "framework": "llamacpp",
        "custom_endpoint_details": {
            "container": {"container_name": "", "container_type": "public"}
        },
        "replica": 1,
        "is_auto_scale_enabled": False,
        "detailed_info": {"engine_args": {"n_ctx": 512}},
        "model_load_integration_id": None,
        "cluster_type": "tir-cluster",
        "sku_id": 101,
        "sku_item_price_id": 1001,
    }
    resp = tir.call("POST", "/serving/inference/", json=body)
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()["data"]
    with server.api() as api:
        ready = lambda: api.get("/api/v1/endpoints/async-chat").json()["phase"] == "ready"  # noqa: E731
        assert wait_until(ready, timeout=180)
    return data


def test_async_requests_through_tir_land_in_the_dataset(
    server: ServerProcess, endpoint: dict[str, Any]
) -> None:
    tir, ep, url = Tir(server), endpoint["id"], endpoint["inference_url"]
    with server.api() as api:
        created = api.post("/api/v1/datasets", json={"name": DATASET})
        assert created.status_code == 201, created.text
    dataset_id = created.json()["id"]
    enable = {"action": "update_async_configuration", "async_enabled": True,
              "async_concurrent_workers": 2, "async_dataset_id": dataset_id + 1000,
              "async_destination_type": "dataset", "async_target_routes": [CHAT]}  # fmt: skip
    refused = tir.call("PUT", f"/serving/inference/{ep}/", json=enable)
    assert refused.status_code == 400, refused.text
    assert "async_dataset_id" in refused.json()["errors"]
    enable["async_dataset_id"] = dataset_id
    assert tir.call("PUT", f"/serving/inference/{ep}/", json=enable).status_code == 200
    shown = tir.call("GET", f"/serving/inference/{ep}/").json()["data"]
    assert (shown["async_enabled"], shown["async_dataset_id"]) == (True, dataset_id)

    # The gateway's route table takes the change within its refresh interval.
    answers: list[httpx.Response] = []
    assert wait_until(lambda: answers.append(tir.post(url, "Say 0")) or
                      answers[-1].status_code == 202, timeout=15, interval=0.2)  # fmt: skip
    ids = [answers[-1].json()["request_id"]]
    ids += [tir.post(url, f"Say {n}").json()["request_id"] for n in (1, 2)]
    first = answers[-1].json()
    assert first["response_location"] == f"api/is-{ep}/response/{ids[0]}.json"

    def completed() -> bool:
        items = [tir.status(ep, request_id=i).json()["data"][0] for i in ids]
        return all(item["status"] == "completed" for item in items)

    assert wait_until(completed, timeout=120), [tir.status(ep, request_id=i).text for i in ids]
    (item,) = tir.status(ep, request_id=ids[0]).json()["data"]
    assert (item["queue_name"], item["response_status"]) == ("chat", 200)
    assert item["response_location"] == first["response_location"]
    # The e2enetworks SDK's form of the same call (team and project in the path).
    sdk_path = f"/api/v1/gpu/teams/1/projects/{tir.project_id}/serving/inference/{ep}/async_status/"
    listed = tir.call("GET", sdk_path, {"date_filter": "last_hour", "page_no": 1, "per_page": 10})
    assert listed.status_code == 200, listed.text
    assert {i["request_id"] for i in listed.json()["data"]} == set(ids)
    assert len(tir.status(ep, per_page=2, queue_name="chat").json()["data"]) == 2
    missing = tir.status(ep, request_id="inv-nope")
    assert missing.status_code == 404 and "request_id" in missing.json()["errors"]

    with server.api() as api:
        stored = api.get(f"/api/v1/datasets/{DATASET}/objects/{item['response_location']}")
    assert stored.status_code == 200, stored.text
    document = json.loads(stored.content)
    assert (document["id"], document["response"]["status"]) == (ids[0], 200)
    assert document["response"]["body"]["choices"][0]["message"]["content"] is not None

    # Off: the target route is answered by the replica again, nothing more is queued.
    off = {"action": "update_async_configuration", "async_enabled": False}
    assert tir.call("PUT", f"/serving/inference/{ep}/", json=off).status_code == 200
    answers.clear()
    assert wait_until(lambda: answers.append(tir.post(url, "Hi")) or
                      answers[-1].status_code == 200, timeout=15, interval=0.2)  # fmt: skip
    assert answers[-1].json()["choices"][0]["message"]["content"] is not None
    total = len(tir.status(ep, per_page=100).json()["data"])
    tir.post(url, "Hi again")
    assert len(tir.status(ep, per_page=100).json()["data"]) == total
