"""Tensormesh's model lists page as Tensormesh pages (`page` from 1, `size`, 0: the default):
/v1/models and :search-by-infra keep their `{models}` shape (a short page is the last),
/v1/admin/models answers `{models, page, size, total}`; filters narrow before paging; bad
paging input is INVALID_ARGUMENT naming the parameter."""

from __future__ import annotations

from typing import Any

import pytest

from modelport.dialects import listing
from tests.unit.dialects.tensormesh.conftest import (
    OTHER_USER_ID,
    Tm,
    assert_rpc_error,
    body,
)

NEBIUS = {"cloudProvider": "CLOUD_PROVIDER_NEBIUS"}


def names(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [m["modelName"] for m in resp.json()["models"]]


@pytest.fixture
def six(tm: Tm) -> list[str]:
    """Six models, every other one of another userId and on Nebius, plus a native endpoint
    (not a model)."""
    made = []
    for i in range(6):
        extra = {"userId": OTHER_USER_ID, "infra": NEBIUS} if i % 2 else {}
        made.append(tm.deployed(body(f"m{i}", **extra))["modelName"])
    native = {"name": "web", "spec": {"framework": "custom", "command": ["serve", "{port}"]}}
    headers = {"Authorization": f"Bearer {tm.world.keys['admin']}"}
    assert tm.client.post("/api/v1/endpoints", headers=headers, json=native).status_code == 201
    return made


def test_models_are_listed_a_page_at_a_time(tm: Tm, six: list[str]):
    assert names(tm.call("member", "GET", "/models?page=1&size=4")) == six[:4]
    assert names(tm.call("member", "GET", "/models?page=2&size=4")) == six[4:]  # short: last
    assert names(tm.call("member", "GET", "/models?page=3&size=4")) == []
    assert names(tm.call("member", "GET", "/models")) == six  # the default page holds them all
    assert tm.call("member", "GET", "/models").json().keys() == {"models"}


def test_the_user_filter_applies_before_paging(tm: Tm, six: list[str]):
    theirs = six[1::2]
    path = f"/models?userId={OTHER_USER_ID}&size=2"
    assert names(tm.call("member", "GET", path)) == theirs[:2]
    assert names(tm.call("member", "GET", path + "&page=2")) == theirs[2:]


def test_search_by_infra_pages_its_matches(tm: Tm, six: list[str]):
    query = {"infra": NEBIUS}
    first = tm.call("member", "POST", "/models:search-by-infra?size=2", json=query)
    second = tm.call("member", "POST", "/models:search-by-infra?size=2&page=2", json=query)
    assert (names(first), names(second)) == (six[1:4:2], six[5:])


def test_the_admin_listing_says_the_total(tm: Tm, six: list[str]):
    page = tm.call("admin", "GET", "/admin/models?page=2&size=4").json()
    assert ([m["modelName"] for m in page["models"]], page["total"]) == (six[4:], 6)
    assert (page["page"], page["size"]) == (2, 4)
    default = tm.call("admin", "GET", "/admin/models").json()
    assert (default["size"], default["total"], len(default["models"])) == (100, 6, 6)
    theirs = tm.call("admin", "GET", f"/admin/models?userId={OTHER_USER_ID}&size=1").json()
    assert ([m["modelName"] for m in theirs["models"]], theirs["total"]) == (six[1:2], 3)


def test_an_api_key_lists_only_its_model(tm: Tm, six: list[str]):
    key = tm.deployed(body("keyed", apiKey="tm-key-for-paging-0123456789"))["apiKey"]
    assert names(tm.call(key, "GET", "/models")) == ["keyed"]
    assert names(tm.call(key, "GET", "/models?page=2&size=1")) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=1000001", "page"),
        ("size=-1", "size"),
        ("size=1001", "size"),
        ("size=ten", "size"),
        ("page=first", "page"),
    ],
)
def test_bad_paging_is_invalid_argument_naming_it(tm: Tm, query: str, field: str):
    for path in ("/models", "/admin/models"):
        assert_rpc_error(tm.call("admin", "GET", f"{path}?{query}"), 400, 3, field)
    search = tm.call("admin", "POST", f"/models:search-by-infra?{query}", json={"infra": {}})
    assert_rpc_error(search, 400, 3, field)


def test_a_list_the_sdk_does_not_page_is_whole(
    tm: Tm, six: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK's models.list() and search_by_infra send no page and read one `{models}`: they
    get every model (here past a default page of 2); `page` or `size` alone pages."""
    monkeypatch.setattr(listing, "DEFAULT_PAGE", 2)
    assert names(tm.call("member", "GET", "/models")) == six
    assert names(tm.call("member", "GET", f"/models?userId={OTHER_USER_ID}")) == six[1::2]
    query = {"infra": NEBIUS}
    assert names(tm.call("member", "POST", "/models:search-by-infra", json=query)) == six[1::2]
    assert names(tm.call("member", "GET", "/models?page=2")) == six[2:4]
    assert names(tm.call("member", "GET", "/models?size=0")) == six[:2]
