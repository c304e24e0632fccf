"""GET /api/v1/catalog: what a create form offers, and that what it offers creates endpoints."""

from __future__ import annotations

import dataclasses
from typing import Any

from modelport.catalog import PlanCatalog
from modelport.domain.specs import Framework
from tests.unit.api.conftest import Api, assert_error

OWN_PLANS = """
locations:
  Pune: {runtime: local}
plans:
  - sku_id: 7
    sku_name: tiny
    cpu: 1
    memory_mb: 2048
    locations: [Pune]
    prices:
      - {sku_item_price_id: 70, sku_type: hourly, price_per_hour: 1.5, currency: USD}
      - {sku_item_price_id: 71, sku_type: committed, committed_days: 30, price_per_hour: 1.2}
"""


def _catalog(api: Api, who: str = "member") -> dict[str, Any]:
    resp = api.call(who, "GET", "/catalog")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_every_engine_once_with_its_weights_and_whether_this_host_runs_it(api: Api):
    engines = {e["framework"]: e for e in _catalog(api)["engines"]}
    assert sorted(engines) == sorted(f.value for f in Framework)
    llama = engines["llamacpp"]
    assert llama["weights_from"][0] == "path"  # a GGUF file is the usual source
    assert (llama["installed"], llama["missing"]) == (True, None)  # the test venv has llama_cpp
    custom = engines["custom"]
    assert custom["weights_from"][0] == "image"
    for engine in engines.values():  # an engine not installed says what is missing
        assert engine["installed"] == (engine["missing"] is None)


def test_presets_map_vendor_values_onto_engines_and_models(api: Api):
    presets = {p["value"]: p for p in _catalog(api)["presets"]}
    llama3 = presets["llama-3-8b-instruct"]
    assert (llama3["kind"], llama3["engine"], llama3["task"]) == ("model", "vllm", "chat")
    assert llama3["hf_id"] == "meta-llama/Meta-Llama-3-8B-Instruct"
    assert presets["mixtral-8x7b-instruct"]["gpu_count"] == 2
    vllm_models = [m["hf_id"] for m in presets["vllm"]["supported_models"]]
    assert "meta-llama/Llama-3.2-1B-Instruct" in vllm_models and "custom" in vllm_models
    assert all(m["display_name"] is None for m in presets["vllm"]["supported_models"])
    dynamo = {m["hf_id"]: m["display_name"] for m in presets["dynamo"]["supported_models"]}
    assert dynamo["gpt2"] == "GPT-2"
    assert presets["triton"]["server_versions"][-1] == "custom"
    assert presets["custom"]["supported_models"] is None  # any model


def test_plans_with_their_prices_and_locations(api: Api):
    catalog = _catalog(api)
    c32 = next(p for p in catalog["plans"] if p["sku_name"] == "C3.2")
    assert (c32["cpu"], c32["memory_mb"], c32["gpu_count"]) == (2, 8192, 0)
    hourly = c32["prices"][0]
    assert hourly == {
        "sku_item_price_id": 1001,
        "sku_type": "hourly",
        "committed_days": 0,
        "price_per_hour": 3.1,
        "currency": "INR",
    }
    assert {"name": "Delhi", "runtime": "local"} in catalog["locations"]
    assert "cpu" in catalog["scale_metrics"] and "local" in catalog["runtimes"]


def test_the_operators_plan_file_is_what_the_catalog_shows(api: Api):
    app: Any = api.client.app
    own = PlanCatalog.parse(OWN_PLANS)
    app.state.services = dataclasses.replace(app.state.services, plans=own)
    catalog = _catalog(api)
    assert [p["sku_name"] for p in catalog["plans"]] == ["tiny"]
    assert [(i["price_per_hour"], i["currency"]) for i in catalog["plans"][0]["prices"]] == [
        (1.5, "USD"),
        (1.2, "INR"),
    ]
    assert catalog["locations"] == [{"name": "Pune", "runtime": "local"}]


def test_what_the_catalog_offers_creates_an_endpoint(api: Api):
    """A form filled from the catalog (a GPU plan's shape, a preset's model) is a valid spec."""
    catalog = _catalog(api, "admin")
    gpu_plan = next(p for p in catalog["plans"] if p["gpu_count"])
    preset = next(p for p in catalog["presets"] if p["value"] == "gemma-2b-it")
    spec = {
        "framework": preset["engine"],
        "model": {"hf_id": preset["hf_id"]},
        "resources": {k: gpu_plan[k] for k in ("cpu", "memory_mb", "gpu_count", "gpu_type")},
        "autoscale": {"rules": [{"metric": catalog["scale_metrics"][0], "value": 2}]},
    }
    resp = api.admin("POST", "/endpoints", json={"name": "gemma", "spec": spec})
    assert resp.status_code == 201, resp.text
    assert resp.json()["spec"]["resources"]["gpu_type"] == gpu_plan["gpu_type"]


def test_needs_a_token(api: Api):
    assert_error(api.call(None, "GET", "/catalog"), 401, None)
