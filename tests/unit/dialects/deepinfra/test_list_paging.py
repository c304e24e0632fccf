"""DeepInfra's /deploy/list stays a plain list; `limit` / `offset` (Modelport's extension) page
it, oldest first, and a `Link: <...>; rel="next"` header names the next page while there is
one. The status filter applies before paging. Bad paging input is a 422 naming the parameter."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from modelport.dialects import listing
from tests.unit.dialects.deepinfra.conftest import DeepInfra, body
from tests.unit.dialects.deepinfra.test_bad_input import assert_names


def models(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [d["model_name"] for d in resp.json()]


def next_page(resp: httpx.Response) -> str | None:
    """The path and query of the Link header's next page, None without one."""
    link = resp.headers.get("link")
    if link is None:
        return None
    found = re.fullmatch(r'<http://[^/]+/deepinfra(/[^>]*)>; rel="next"', link)
    assert found, link
    return found.group(1)


@pytest.fixture
def five(di: DeepInfra) -> list[dict[str, Any]]:
    """Five deployments, the 2nd and 4th stopped, plus a native endpoint (not a deployment)."""
    made = [di.deployed(body(f"acme/model-{i}")) for i in range(5)]
    for out in made[1::2]:
        assert di.call("POST", f"/deploy/{out['deploy_id']}/stop").status_code == 200
    native = {"name": "web", "spec": {"framework": "custom", "command": ["serve", "{port}"]}}
    assert di.native("POST", "/endpoints", json=native).status_code == 201
    return made


def test_the_list_pages_with_a_link_to_the_next_page(di: DeepInfra, five: list[dict[str, Any]]):
    wanted = [d["model_name"] for d in five]
    seen: list[str] = []
    path: str | None = "/deploy/list?limit=2"
    pages = 0
    while path is not None:
        resp = di.call("GET", path)
        seen += models(resp)
        path = next_page(resp)
        pages += 1
    assert (seen, pages) == (wanted, 3)
    everything = di.call("GET", "/deploy/list")  # the default page (100) holds them all
    assert (models(everything), next_page(everything)) == (wanted, None)
    assert models(di.call("GET", "/deploy/list?offset=4&limit=10")) == wanted[4:]
    assert models(di.call("GET", "/deploy/list?offset=5")) == []


def test_the_status_filter_applies_before_paging(di: DeepInfra, five: list[dict[str, Any]]):
    stopped = [d["model_name"] for d in five[1::2]]
    first = di.call("GET", "/deploy/list?status=stopped&limit=1")
    assert models(first) == stopped[:1]
    second = next_page(first)
    assert second is not None and "status=stopped" in second
    last = di.call("GET", second)
    assert (models(last), next_page(last)) == (stopped[1:], None)
    others = models(di.call("GET", "/deploy/list?status=initializing,running&offset=1&limit=5"))
    assert others == [d["model_name"] for d in five[2::2]]


def test_a_deployment_is_found_by_id_and_by_model_name(di: DeepInfra, five: list[dict[str, Any]]):
    third = five[2]
    assert di.call("GET", f"/deploy/{third['deploy_id']}").json()["model_name"] == "acme/model-2"
    again = di.deploy(body("acme/model-2"))  # the same model_name and config: the same one
    assert (again.status_code, again.json()["deploy_id"]) == (200, third["deploy_id"])
    assert di.call("GET", f"/deploy/{third['deploy_id']}", who="other_admin").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=many", "limit"),
        ("offset=-1", "offset"),
        ("offset=1000000001", "offset"),
    ],
)
def test_bad_paging_is_a_422_naming_the_parameter(di: DeepInfra, query: str, field: str):
    assert_names(di.call("GET", f"/deploy/list?{query}"), ["query", field])


def test_a_list_without_paging_is_whole_as_deepinfra_answers_it(
    di: DeepInfra, five: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DeepInfra's /deploy/list has no paging of its own: a client that sends none gets every
    deployment (here past a default page of 2), while either parameter alone pages."""
    monkeypatch.setattr(listing, "DEFAULT_PAGE", 2)
    wanted = [d["model_name"] for d in five]
    everything = di.call("GET", "/deploy/list")
    assert (models(everything), next_page(everything)) == (wanted, None)
    assert models(di.call("GET", "/deploy/list?status=stopped")) == wanted[1::2]
    assert models(di.call("GET", "/deploy/list?offset=1")) == wanted[1:3]
    assert next_page(di.call("GET", "/deploy/list?limit=4")) == "/deploy/list?limit=4&offset=4"
