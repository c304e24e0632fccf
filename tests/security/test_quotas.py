"""Issue 6 as attacks: no limits. A member created 300 endpoints in 4.9 s; any project admin
could create projects. Against a real server, the server admin sets a project's quotas; going
over them is 429 with Retry-After in each API's envelope, naming the limit and the use, and
concurrent creates never get past the limit. Specs ask for no host access and no replicas
(nothing runs): what is counted is what the spec asks for, not what is running.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.security.conftest import Site, site_server
from tests.unit.dialects.tir.conftest import llamacpp_request

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


class World(Site):
    timeout = 60

    def project(self, name: str, **limits: int) -> tuple[int, str]:
        """A new project with these limits: its id and a member token."""
        team = self.team(name, **limits)
        return team.project_id, team.tokens["member"]

    def create_llama(self, token: str, name: str, **fields: Any) -> httpx.Response:
        return self.create(token, name, self.llama(**fields))


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with site_server("mp-quotas-") as (srv, models):
        yield World(srv, models)


def _assert_quota(resp: httpx.Response, limit: str, field: str) -> None:
    assert resp.status_code == 429, resp.text
    assert int(resp.headers["retry-after"]) >= 1
    error = resp.json()["error"]
    assert (error["type"], error["field"]) == ("quota_exceeded", field)
    assert limit in error["message"]
    assert "modelport projects set" in error["message"]


def test_concurrent_creates_never_exceed_the_endpoint_quota(world: World) -> None:
    _, member = world.project("burst", max_endpoints=5)

    def create(i: int) -> httpx.Response:
        return world.create_llama(member, f"ep-{i}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(create, range(24)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 5 + [429] * 19, [a.text for a in answers if a.status_code >= 500]
    for refused in (a for a in answers if a.status_code == 429):
        _assert_quota(refused, "max_endpoints", "name")
    listing = world.call(member, "GET", "/api/v1/endpoints").json()["items"]
    assert len(listing) == 5
    # Deleting one frees its place.
    gone = world.call(member, "DELETE", f"/api/v1/endpoints/{listing[0]['name']}")
    assert gone.status_code == 202, gone.text
    assert world.create_llama(member, "after-delete").status_code == 201


def test_replica_and_gpu_quotas(world: World) -> None:
    _, member = world.project("small", max_replicas=2, max_gpus=0)
    _assert_quota(world.create_llama(member, "big", replicas=3), "max_replicas", "spec.replicas")
    autoscaled = {"enabled": True, "min_replicas": 1, "max_replicas": 1000}
    _assert_quota(
        world.create_llama(member, "auto", autoscale=autoscaled), "max_replicas", "spec.replicas"
    )
    gpu = {"gpu_count": 1}
    created = world.create_llama(member, "web", resources={"cpu": 1})
    assert created.status_code == 201, created.text
    stopped = world.call(member, "POST", "/api/v1/endpoints/web/stop")
    assert stopped.status_code == 200, stopped.text
    # Stopped, it runs nothing: scaling it is free until it starts again.
    big = {"spec": {"replicas": 3}}
    assert world.call(member, "PATCH", "/api/v1/endpoints/web", json=big).status_code == 200
    started = world.call(member, "POST", "/api/v1/endpoints/web/start")
    _assert_quota(started, "max_replicas", "spec.replicas")
    one = {"spec": {"replicas": 1}}
    assert world.call(member, "PATCH", "/api/v1/endpoints/web", json=one).status_code == 200
    assert world.call(member, "POST", "/api/v1/endpoints/web/start").status_code == 200
    _assert_quota(
        world.call(member, "PATCH", "/api/v1/endpoints/web", json={"spec": {"resources": gpu}}),
        "max_gpus",
        "spec.resources.gpu_count",
    )
    assert world.call(member, "POST", "/api/v1/endpoints/web/stop").status_code == 200


def test_a_lowered_limit_stops_growth_only(world: World) -> None:
    _, member = world.project("shrink")
    assert world.create_llama(member, "a").status_code == 201
    assert world.create_llama(member, "b").status_code == 201
    lowered = {"limits": {"max_endpoints": 1}}
    assert world.call(world.operator, "PATCH", "/api/v1/projects/shrink", json=lowered).is_success
    _assert_quota(world.create_llama(member, "c"), "max_endpoints", "name")
    label = {"spec": {"labels": {"team": "x"}}}
    assert world.call(member, "PATCH", "/api/v1/endpoints/a", json=label).status_code == 200
    unlimited = {"limits": {"max_endpoints": None}}
    assert world.call(world.operator, "PATCH", "/api/v1/projects/shrink", json=unlimited).is_success
    assert world.create_llama(member, "c").status_code == 201


def test_quota_answers_in_each_dialects_envelope(world: World) -> None:
    project_id, member = world.project("dialects", max_endpoints=0)
    tir = world.call(
        member,
        "POST",
        "/tir/serving/inference/",
        params={"project_id": project_id, "location": "Delhi"},
        json=llamacpp_request(world.gguf, name="tir-ep"),
    )
    assert tir.status_code == 429, tir.text
    assert int(tir.headers["retry-after"]) >= 1
    assert tir.json()["code"] == 429 and "max_endpoints" in tir.json()["message"]

    deepinfra = world.call(
        member,
        "POST",
        "/deepinfra/deploy/llm",
        json={"model_name": "team/di", "gpu": "L4-24GB", "hf": {"repo": "org/model"}},
    )
    assert deepinfra.status_code == 429, deepinfra.text
    assert int(deepinfra.headers["retry-after"]) >= 1
    assert "max_endpoints" in deepinfra.json()["detail"]

    tensormesh = world.call(
        member,
        "POST",
        "/tensormesh/v1/models",
        json={
            "modelName": "tm",
            "userId": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "modelPath": "org/model",
            "gpuCount": 1,
            "gpuType": "GPU_TYPE_H100",
        },
    )
    assert tensormesh.status_code == 429, tensormesh.text
    assert int(tensormesh.headers["retry-after"]) >= 1
    assert tensormesh.json()["code"] == 8  # RESOURCE_EXHAUSTED
    assert "max_endpoints" in tensormesh.json()["message"]


def test_only_the_server_admin_sets_limits(world: World) -> None:
    _, member = world.project("selfish", max_endpoints=1)
    raise_it = {"limits": {"max_endpoints": 1000}}
    resp = world.call(member, "PATCH", "/api/v1/projects/selfish", json=raise_it)
    assert resp.status_code == 403, resp.text
    mine = world.call(member, "GET", "/api/v1/projects/selfish").json()
    assert mine["limits"]["max_endpoints"] == 1
