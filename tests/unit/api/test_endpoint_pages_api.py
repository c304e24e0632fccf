"""GET /api/v1/endpoints: keyset pages, filters, bad paging input named, project scoping."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.conftest import Api, assert_error, web_body


def _names(body: dict[str, Any]) -> list[str]:
    return [item["name"] for item in body["items"]]


@pytest.fixture
def many(api: Api) -> Api:
    for i in range(7):
        assert (
            api.admin("POST", "/endpoints", json=web_body(f"web-{i}", replicas=0)).status_code
            == 201
        )
    assert api.admin("POST", "/endpoints", json=web_body("chat", replicas=0)).status_code == 201
    assert api.admin("POST", "/endpoints/web-3/stop").status_code == 200
    return api


def test_pages_follow_the_cursor_through_every_endpoint_once(many: Api) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        body = many.admin("GET", "/endpoints", params=params).json()
        assert len(body["items"]) <= 3
        seen += _names(body)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"web-{i}" for i in range(7)] + ["chat"]  # oldest first, none twice


def test_filters_narrow_the_list(many: Api) -> None:
    by_prefix = many.admin("GET", "/endpoints", params={"name_prefix": "web-"}).json()
    assert _names(by_prefix) == [f"web-{i}" for i in range(7)]
    assert by_prefix["next_cursor"] is None
    stopped = many.admin("GET", "/endpoints", params={"state": "stopped"}).json()
    assert _names(stopped) == ["web-3"]
    phases = many.admin("GET", "/endpoints", params={"phase": ["stopped"], "limit": 1}).json()
    assert _names(phases) == ["web-3"]
    assert many.admin("GET", "/endpoints", params={"framework": "vllm"}).json()["items"] == []
    both = many.admin("GET", "/endpoints", params={"name_prefix": "web-", "state": "running"})
    assert len(both.json()["items"]) == 6


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "-1"}, "cursor"),
        ({"name_prefix": "Web"}, "name_prefix"),
        ({"state": "asleep"}, "state"),
        ({"phase": "sleepy"}, "phase.0"),  # the first value of a repeatable one
        ({"framework": "nope"}, "framework"),
    ],
)
def test_bad_paging_input_is_a_422_naming_the_parameter(
    many: Api, params: dict[str, Any], field: str
) -> None:
    assert_error(many.admin("GET", "/endpoints", params=params), 422, field)


def test_another_project_sees_none_of_them(many: Api) -> None:
    body = many.call("other_admin", "GET", "/endpoints").json()
    assert body == {"items": [], "next_cursor": None}
