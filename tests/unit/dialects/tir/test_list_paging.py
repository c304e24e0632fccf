"""TIR's endpoint list pages as TIR pages (page_no from 1, per_page), oldest first, with the
total beside `data`; bad paging input is a 400 in TIR's envelope naming the parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelport.dialects import listing
from tests.unit.dialects.tir.conftest import Tir, gguf_file, request
from tests.unit.dialects.tir.test_bad_input import assert_field_error

LIST = "/serving/inference/"


def listed(tir: Tir, who: str = "admin", prefix: str = "", **params: Any) -> dict[str, Any]:
    resp = tir.call("GET", prefix + LIST, who, params=params)
    assert resp.status_code == 200, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


def names(answer: dict[str, Any]) -> list[str]:
    return [e["name"] for e in answer["data"]]


@pytest.fixture
def five(tir: Tir, tmp_path: Path) -> list[str]:
    """Four endpoints made through TIR and one natively, in that order of creation."""
    made = [tir.created(request(name=f"tir-{i}"))["name"] for i in range(4)]
    spec = {"framework": "llamacpp", "model": {"path": str(gguf_file(tmp_path))}}
    native = tir.native("POST", "/endpoints", json={"name": "native-one", "spec": spec})
    assert native.status_code == 201, native.text
    return [*made, "native-one"]


def test_pages_hold_per_page_endpoints_oldest_first_with_the_total(tir: Tir, five: list[str]):
    first = listed(tir, page_no=1, per_page=2)
    assert names(first) == five[:2]
    assert (first["total_count"], first["total_page_number"]) == (5, 3)
    assert (first["code"], first["errors"], first["message"]) == (200, {}, "Success")
    assert names(listed(tir, page_no=2, per_page=2)) == five[2:4]
    assert names(listed(tir, page_no=3, per_page=2)) == five[4:]
    past = listed(tir, page_no=4, per_page=2)
    assert (names(past), past["total_count"]) == ([], 5)
    # No paging asked: the first page of the default size (100) holds them all.
    assert names(listed(tir)) == five


def test_the_sdk_path_pages_the_same_way(tir: Tir, five: list[str]):
    sdk = f"/api/v1/gpu/teams/1/projects/{tir.project_id}"
    answer = listed(tir, prefix=sdk, page_no=2, per_page=3)
    assert (names(answer), answer["total_count"]) == (five[3:], 5)


def test_an_inference_key_lists_only_its_endpoint(tir: Tir, five: list[str]):
    key = tir.created(request(name="keyed"))["api_key"]
    answer = listed(tir, who=key)
    assert (names(answer), answer["total_count"], answer["total_page_number"]) == (
        ["keyed"],
        1,
        1,
    )
    # Another project's token, in its own project: none of these.
    other = listed(tir, who="other_admin", project_id=tir.world.other_project.id)
    assert (names(other), other["total_count"], other["total_page_number"]) == ([], 0, 0)


def test_an_endpoint_is_read_by_id_only_in_its_project(tir: Tir, five: list[str]):
    first = listed(tir, per_page=1)["data"][0]
    assert tir.get(first["id"])["name"] == five[0]
    elsewhere = {"project_id": tir.world.other_project.id}
    resp = tir.call("GET", f"{LIST}{first['id']}/", "other_admin", params=elsewhere)
    assert_field_error(resp, 404, "inference_id")  # not in the token's own project


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_no": 0}, "page_no"),
        ({"page_no": "two"}, "page_no"),
        ({"page_no": 1_000_001}, "page_no"),
        ({"per_page": 0}, "per_page"),
        ({"per_page": 1001}, "per_page"),
        ({"per_page": "ten"}, "per_page"),
    ],
)
def test_bad_paging_is_a_400_naming_the_parameter(
    tir: Tir, params: dict[str, Any], field: str
) -> None:
    assert_field_error(tir.call("GET", LIST, params=params), 400, field)


def test_the_sdk_list_without_paging_gets_every_endpoint(
    tir: Tir, five: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """EndPoints().list() sends neither page_no nor per_page and reads only `data`: every
    endpoint is there (here past a default page of 2), as one page; either alone pages."""
    monkeypatch.setattr(listing, "DEFAULT_PAGE", 2)
    whole = listed(tir)
    assert names(whole) == five
    assert (whole["total_count"], whole["total_page_number"]) == (5, 1)
    assert names(listed(tir, page_no=2)) == five[2:4]
    assert names(listed(tir, per_page=3)) == five[:3]
