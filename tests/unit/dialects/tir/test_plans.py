"""GET /tir/serving/plans/: the operator's plans in the shape Terraform's
tir_model_endpoint_plans data source reads (data.CPU / data.GPU, each with its prices)."""

from __future__ import annotations

from typing import Any

from tests.unit.dialects.tir.conftest import Tir, request


def _plans(tir: Tir, **params: Any) -> dict[str, list[dict[str, Any]]]:
    resp = tir.call("GET", "/serving/plans/", params={"location": None, **params})
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert (answer["code"], answer["errors"], answer["message"]) == (200, {}, "Success")
    data: dict[str, list[dict[str, Any]]] = answer["data"]
    return data


def test_plans_are_grouped_with_their_prices(tir: Tir) -> None:
    data = _plans(tir)
    assert set(data) == {"CPU", "GPU"}
    c32 = next(p for p in data["CPU"] if p["name"] == "C3.2")
    assert (c32["sku_id"], c32["cpu"], c32["gpu"], c32["memory"]) == (101, "2", "0", "8GB")
    assert c32["plans"][0] == {
        "sku_item_price_id": 1001,
        "sku_type": "hourly",
        "committed_days": 0,
        "unit_price": 3.1,
        "currency": "INR",
    }
    assert {"committed", "hourly"} == {p["sku_type"] for p in c32["plans"]}
    a100 = next(p for p in data["GPU"] if p["sku_id"] == 162)
    assert (a100["gpu"], a100["gpu_type"]) == ("1", "A100-80GB")
    assert [p["sku_item_price_id"] for p in a100["plans"]] == [755, 756, 757]


def test_plans_by_location(tir: Tir) -> None:
    delhi = {p["sku_id"] for group in _plans(tir, location="Delhi").values() for p in group}
    chennai = {p["sku_id"] for group in _plans(tir, location="chennai").values() for p in group}
    assert 162 in delhi and 162 not in chennai
    assert 40 in chennai and 40 not in delhi


def test_a_gpu_framework_lists_gpu_plans_only(tir: Tir) -> None:
    # The Terraform data source sends the provider's names, e.g. "VLLM".
    assert _plans(tir, framework="VLLM")["CPU"] == []
    assert _plans(tir, framework="VLLM")["GPU"]
    assert _plans(tir, framework="custom")["CPU"]


def test_every_listed_price_can_be_deployed_with_its_ids(tir: Tir) -> None:
    """What the listing offers in a location, create accepts there (ids round-trip)."""
    listed = _plans(tir, location="Chennai")
    offers = [(p["sku_id"], i["sku_item_price_id"]) for g in listed.values() for p in g
              for i in p["plans"]]  # fmt: skip
    assert len(offers) >= 10
    for n, (sku_id, price_id) in enumerate(offers):
        body = request(name=f"ep-{n}", sku_id=sku_id, sku_item_price_id=price_id)
        data = tir.created_in(body, location="Chennai")
        assert data["sku_details"]["plan"]["sku_item_price_id"] == price_id


def test_plans_need_a_token_of_the_project(tir: Tir) -> None:
    assert tir.call("GET", "/serving/plans/", who=None).status_code == 401
    other = tir.world.other_project.id
    resp = tir.call("GET", "/serving/plans/", params={"project_id": other})
    assert resp.status_code == 404
