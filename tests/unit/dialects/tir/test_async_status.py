"""TIR's async_status over real SQLite: requests queued through the invocation service (the
seam the gateway's intake uses) seen by request_id and in pages, in TIR's envelope; and the
dataset an async configuration names must exist in the project (TIR and native)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modelport.api.app import ApiServices, create_app
from modelport.catalog import PlanCatalog
from modelport.dialects.tir import app as tir_app
from modelport.domain.invocations import Invocation, InvocationStatus
from modelport.services.datasets import DatasetService
from modelport.services.endpoints import EndpointService
from modelport.services.invocations import AsyncRequest, InvocationService, QueueLimits, results_in
from modelport.settings import Settings
from tests.unit.dialects.tir.conftest import GATEWAY, Tir, request
from tests.unit.dialects.tir.test_bad_input import assert_field_error
from tests.unit.services.harness import make_world

CHAT = {"route_name": "chat", "route_value": "/v1/chat/completions"}
EMBED = {"route_name": "embed", "route_value": "v1/embeddings"}


class AsyncTir(Tir):
    invocations: InvocationService

    def enable(self, inference_id: int, dataset_id: int, **extra: Any) -> Any:
        body = {
            "action": "update_async_configuration",
            "async_enabled": True,
            "async_concurrent_workers": 2,
            "async_dataset_id": dataset_id,
            "async_target_routes": [CHAT, EMBED],
            **extra,
        }
        return self.put(inference_id, body)

    def dataset(self, name: str = "results") -> int:
        resp = self.native("POST", "/datasets", json={"name": name})
        assert resp.status_code == 201, resp.text
        return int(resp.json()["id"])

    def submit(self, inference_id: int, path: str = "/v1/chat/completions") -> Invocation:
        """Queued, then a second passes (so the order of submissions is the order of time)."""
        principal = self.world.principal("admin")
        request = AsyncRequest("POST", path, b'{"max_tokens": 4}', ())
        invocation = self.invocations.submit(principal, inference_id, request)[1]
        self.world.clock.advance(1)
        return invocation

    def status(self, inference_id: int, **params: Any) -> Any:
        return self.call("GET", f"/serving/inference/{inference_id}/async_status/", params=params)

    def items(self, inference_id: int, **params: Any) -> list[dict[str, Any]]:
        resp = self.status(inference_id, **params)
        assert resp.status_code == 200, resp.text
        data: list[dict[str, Any]] = resp.json()["data"]
        return data


@pytest.fixture
def tir(tmp_path: Path) -> Iterator[AsyncTir]:
    world = make_world(tmp_path)
    settings = Settings(home=tmp_path / "home", port=8080)
    datasets = DatasetService(world.store, world.box, tmp_path / "home" / "datasets")
    invocations = InvocationService(
        world.store, world.clock, QueueLimits(6 * 3600, 100), results_in(datasets)
    )
    endpoints = EndpointService(world.store, world.box, world.clock, GATEWAY, datasets=datasets)
    services = ApiServices(
        endpoints, world.tokens, world.projects, PlanCatalog.load(), GATEWAY, invocations, datasets
    )
    app = create_app(services, world.authenticator, settings)
    app.mount("/tir", tir_app.create_app(services, world.authenticator, settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        tir = AsyncTir(world, client)
        tir.invocations = invocations
        yield tir
    world.store.close()


def _work(tir: AsyncTir, endpoint_id: int, status: InvocationStatus, code: int) -> Invocation:
    """A worker's claim and finish of the oldest queued invocation, as workers.py does it."""
    store, now = tir.world.store, tir.world.clock.now()
    (claimed,) = store.claim_invocations(endpoint_id, "w1", 1, lease_seconds=30, now=now)
    tir.world.clock.advance(2)
    location = f"/data/{claimed.result_key}"
    assert store.finish_invocation(
        claimed.id, "w1", status=status, now=tir.world.clock.now(), response_status=code,
        result_location=location, error=None if code < 400 else "the engine answered 404",
    )  # fmt: skip
    return store.get_invocation(endpoint_id, claimed.id)


def test_a_request_is_found_by_id_with_its_status_timings_and_location(tir: AsyncTir) -> None:
    ep = tir.created(request())["id"]
    resp = tir.enable(ep, tir.dataset())
    assert resp.status_code == 200, resp.text
    first, second = tir.submit(ep), tir.submit(ep, "/v1/embeddings?x=1")
    tir.world.clock.advance(0.5)
    done = _work(tir, ep, InvocationStatus.COMPLETED, 200)
    assert done.id == first.id

    (item,) = tir.items(ep, request_id=first.id)
    assert item == {
        "request_id": first.id,
        "inference_id": ep,
        "status": "completed",
        "queue_name": "chat",
        "route": "/v1/chat/completions",
        "created_at": first.created_at.isoformat(),
        "started_at": done.started_at.isoformat() if done.started_at else None,
        "finished_at": done.finished_at.isoformat() if done.finished_at else None,
        "expires_at": first.expires_at.isoformat(),
        "queued_seconds": 2.5,
        "processing_seconds": 2.0,
        "attempts": 1,
        "response_status": 200,
        "response_location": f"api/is-{ep}/response/{first.id}.json",
        "error": None,
    }
    (waiting,) = tir.items(ep, request_id=second.id)
    assert (waiting["status"], waiting["queue_name"]) == ("queued", "embed")
    assert waiting["response_location"] is None and waiting["started_at"] is None

    failed = tir.submit(ep)
    _work(tir, ep, InvocationStatus.FAILED, 404)  # the embeddings one, oldest
    (item,) = tir.items(ep, request_id=second.id)
    assert (item["status"], item["response_status"]) == ("failed", 404)
    assert item["error"] == "the engine answered 404"
    tir.invocations.cancel(tir.world.principal("admin"), tir.world.store.get_endpoint(
        tir.project_id, ep), failed.id)  # fmt: skip
    assert tir.items(ep, request_id=failed.id)[0]["status"] == "canceled"


def test_an_unknown_or_foreign_request_id_is_a_404_naming_it(tir: AsyncTir) -> None:
    ep = tir.created(request())["id"]
    other = tir.created(request(name="other-chat"))["id"]
    dataset = tir.dataset()
    for inference_id in (ep, other):
        assert tir.enable(inference_id, dataset).status_code == 200
    mine = tir.submit(ep)
    assert_field_error(tir.status(ep, request_id="inv-nope"), 404, "request_id")
    # Another endpoint's request is not found through this one.
    assert_field_error(tir.status(other, request_id=mine.id), 404, "request_id")
    # Another project's token does not see the endpoint at all.
    params = {"project_id": tir.world.other_project.id, "request_id": mine.id}
    resp = tir.call("GET", f"/serving/inference/{ep}/async_status/", "other_admin", params)
    assert_field_error(resp, 404, "inference_id")


def test_the_list_pages_newest_first_and_filters_by_date_and_queue(tir: AsyncTir) -> None:
    ep = tir.created(request())["id"]
    assert tir.enable(ep, tir.dataset()).status_code == 200
    clock = tir.world.clock  # starts 2026-01-01T00:00Z
    january = [tir.submit(ep) for _ in range(3)]
    clock.advance(40 * 86400)  # 2026-02-10
    february = [tir.submit(ep, "/v1/embeddings"), tir.submit(ep)]
    clock.advance(2 * 3600)
    latest = tir.submit(ep)

    def ids(**params: Any) -> list[str]:
        return [item["request_id"] for item in tir.items(ep, **params)]

    everything = [latest.id, *reversed([i.id for i in january + february])]
    assert ids(per_page=100) == everything
    assert ids(page_no=2, per_page=2) == everything[2:4]
    assert ids(page_no=4, per_page=2) == []
    assert ids(date_filter="last_hour") == [latest.id]
    assert ids(date_filter="last_24_hours") == [latest.id, february[1].id, february[0].id]
    assert ids(date_filter="current_month", per_page=100) == ids(date_filter="last_7_days")
    assert ids(date_filter="previous_month") == [i.id for i in reversed(january)]
    assert ids(date_filter="previous_month", page_no=2, per_page=2) == [january[0].id]
    assert ids(queue_name="embed") == [february[0].id]
    assert ids(queue_name="chat", date_filter="current_month", per_page=1) == [latest.id]
    assert ids(queue_name="chat", page_no=2, per_page=2) == [january[2].id, january[1].id]

    assert_field_error(tir.status(ep, queue_name="nope"), 400, "queue_name")
    assert_field_error(tir.status(ep, date_filter="yesterday"), 400, "date_filter")
    assert_field_error(tir.status(ep, per_page=0), 400, "per_page")
    # A page far past any integer offset the database takes: a 400, never a 500.
    assert_field_error(tir.status(ep, page_no=2**62, per_page=1000), 400, "page_no")


def test_async_configuration_must_name_a_dataset_of_the_project(tir: AsyncTir) -> None:
    ep = tir.created(request())["id"]
    resp = tir.enable(ep, 999)
    answer = assert_field_error(resp, 400, "async_dataset_id")
    assert "999" in answer["message"]
    assert tir.get(ep)["async_enabled"] is False  # nothing changed

    # Another project's dataset is not one of this project's.
    theirs = tir.client.post(
        "/api/v1/datasets",
        json={"name": "theirs"},
        headers={"Authorization": f"Bearer {tir.world.keys['other_admin']}"},
    )
    assert theirs.status_code == 201, theirs.text
    assert_field_error(tir.enable(ep, theirs.json()["id"]), 400, "async_dataset_id")

    mine = tir.dataset()
    assert tir.enable(ep, mine).status_code == 200
    data = tir.get(ep)
    assert (data["async_enabled"], data["async_dataset_id"]) == (True, mine)
    # Turning async off needs no dataset and keeps the reference.
    off = tir.put(ep, {"action": "update_async_configuration", "async_enabled": False})
    assert off.status_code == 200, off.text


@pytest.mark.parametrize("ref", ["missing", "123456", "99999999999999999999999"])
def test_native_create_and_patch_check_the_dataset_reference(tir: AsyncTir, ref: str) -> None:
    tir.dataset("results")
    spec: dict[str, Any] = {
        "framework": "custom",
        "command": ["python", "-m", "http.server", "{port}"],
        "async_config": {"enabled": True, "dataset_id": ref},
    }
    resp = tir.native("POST", "/endpoints", json={"name": "web", "spec": spec})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["field"] == "spec.async_config.dataset_id"
    assert ref in resp.json()["error"]["message"]

    spec["async_config"]["dataset_id"] = "results"
    created = tir.native("POST", "/endpoints", json={"name": "web", "spec": spec})
    assert created.status_code == 201, created.text
    patch = {"spec": {"async_config": {"dataset_id": ref}}}
    resp = tir.native("PATCH", "/endpoints/web", json=patch)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["field"] == "spec.async_config.dataset_id"
    # A patch of something else keeps the (still existing) reference without a fuss.
    assert tir.native("PATCH", "/endpoints/web", json={"spec": {"replicas": 2}}).status_code == 200
