"""The plan catalog: the shipped default, resolving what clients send, and broken operator files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelport.catalog import (
    Currency,
    PlanCatalog,
    PlanCatalogError,
    SkuType,
    to_resources,
)
from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import Resources

DOCS = Path(__file__).parents[3] / "docs" / "catalog.md"


@pytest.fixture(scope="module")
def catalog() -> PlanCatalog:
    return PlanCatalog.load(None)


def test_the_default_catalog_offers_cpu_and_the_common_gpu_plans(catalog: PlanCatalog) -> None:
    assert [loc.name for loc in catalog.locations()] == ["Delhi", "Chennai"]
    assert {loc.runtime for loc in catalog.locations()} == {"local"}
    gpu_types = {plan.gpu_type for plan in catalog.plans()}
    assert {"A100-80GB", "H100-80GB", "H200-141GB", "L4-24GB", "L40S-48GB", None} <= gpu_types


@pytest.mark.parametrize(
    ("location", "sku_id", "price_id"), [("Delhi", 162, 755), ("Chennai", 40, 1628)]
)
def test_seed_000_location_examples_resolve(
    catalog: PlanCatalog, location: str, sku_id: int, price_id: int
) -> None:
    chosen = catalog.resolve(sku_id=sku_id, sku_item_price_id=price_id, location=location)
    assert (chosen.sku_id, chosen.sku_item_price_id) == (sku_id, price_id)
    assert chosen.location.name == location
    assert chosen.location.runtime == "local"
    assert chosen.sku_type is SkuType.HOURLY
    assert to_resources(chosen).gpu_count == 1


def test_the_terraform_example_resolves_to_a_two_cpu_plan(catalog: PlanCatalog) -> None:
    chosen = catalog.resolve(
        sku_name="C3.2", sku_type="hourly", committed_days=0, location="Delhi", currency="INR"
    )
    assert chosen.sku_name == "C3.2"
    assert chosen.price.currency is Currency.INR
    assert to_resources(chosen) == Resources(cpu=2, memory_mb=8192, gpu_count=0, gpu_type=None)


def test_names_and_locations_match_case_insensitively(catalog: PlanCatalog) -> None:
    chosen = catalog.resolve(sku_name="c3.2", location="delhi")
    assert (chosen.sku_name, chosen.location.name) == ("C3.2", "Delhi")


def test_a_committed_price_is_picked_by_type_and_days(catalog: PlanCatalog) -> None:
    chosen = catalog.resolve(sku_id=162, sku_type="committed", committed_days=365)
    assert chosen.sku_item_price_id == 757
    assert chosen.price.committed_days == 365


def test_without_filters_the_hourly_price_is_chosen(catalog: PlanCatalog) -> None:
    assert catalog.resolve(sku_id=162).sku_item_price_id == 755
    assert catalog.resolve(sku_id=101, currency="USD").sku_item_price_id == 1003


@pytest.mark.parametrize(
    ("request_fields", "field", "mentions"),
    [
        ({"sku_id": 9999}, "sku_id", "9999"),
        ({"sku_id": 162, "sku_item_price_id": 1628}, "sku_item_price_id", "belongs to sku_id 40"),
        ({"sku_item_price_id": 4242}, "sku_item_price_id", "4242"),
        ({"sku_id": 162, "location": "Chennai"}, "sku_id", "not offered in Chennai"),
        ({"sku_id": 162, "location": "Atlantis"}, "location", "Delhi, Chennai"),
        ({"sku_name": "C9.99"}, "sku_name", "C3.2"),
        ({"sku_id": 162, "sku_name": "C3.2"}, "sku_name", "GDC3.A10080-16.115GB"),
        ({"sku_name": "GDC3.A10080-16.115GB"}, "location", "Delhi, Chennai"),
        ({"sku_id": 162, "sku_type": "spot"}, "sku_type", "hourly, committed"),
        ({"sku_id": 162, "sku_type": "committed", "committed_days": 90}, "committed_days", "30d"),
        ({"sku_id": 162, "currency": "USD"}, "currency", "755"),
        ({"sku_item_price_id": 755, "sku_type": "committed"}, "sku_type", "755"),
        ({"location": "Delhi"}, "sku_id", "sku_id or sku_name"),
    ],
)
def test_bad_plan_fields_are_rejected_naming_the_field(
    catalog: PlanCatalog, request_fields: dict[str, object], field: str, mentions: str
) -> None:
    with pytest.raises(InvalidSpec) as caught:
        catalog.resolve(**request_fields)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert mentions in caught.value.message


def test_every_default_plan_converts_to_valid_resources(catalog: PlanCatalog) -> None:
    for plan in catalog.plans():
        resources = to_resources(plan)
        assert (resources.gpu_count, resources.gpu_type) == (plan.gpu_count, plan.gpu_type)
        assert resources.memory_mb == plan.memory_mb


def test_the_documented_example_file_loads(tmp_path: Path) -> None:
    example = re.search(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert example is not None
    path = tmp_path / "plans.yaml"
    path.write_text(example.group(1), encoding="utf-8")
    catalog = PlanCatalog.load(path)
    assert catalog.source == str(path)
    chosen = catalog.resolve(sku_name="C3.2", location="Mumbai", sku_type="committed")
    assert (chosen.sku_item_price_id, chosen.location.runtime) == (1002, "docker")
    assert to_resources(catalog.resolve(sku_id=180)).disk_gb == 200


GOOD_PLAN = """
locations:
  Delhi: {runtime: local}
plans:
  - sku_id: 1
    sku_name: C3.2
    cpu: 2
    memory_mb: 8192
    locations: [Delhi]
    prices:
      - {sku_item_price_id: 10, sku_type: hourly, price_per_hour: 1}
"""


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        (GOOD_PLAN.replace("cpu: 2", "cpu: two"), "plans.0.cpu"),
        (GOOD_PLAN.replace("    cpu: 2\n", ""), "plans.0.cpu"),
        (GOOD_PLAN.replace("cpu: 2", "cpu: 2\n    gpus: 1"), "plans.0.gpus"),
        (GOOD_PLAN.replace("cpu: 2", "cpu: 2\n    gpu_type: H100-80GB"), "plans.0.gpu_type"),
        (GOOD_PLAN.replace("sku_type: hourly", "sku_type: monthly"), "plans.0.prices.0.sku_type"),
        (
            GOOD_PLAN.replace("sku_type: hourly", "sku_type: committed"),
            "plans.0.prices.0.committed_days",
        ),
        (GOOD_PLAN.replace("[Delhi]", "[Pune]"), "locations"),
        (GOOD_PLAN.replace("runtime: local", "runtime: Local Box"), "locations.Delhi.runtime"),
        (GOOD_PLAN + GOOD_PLAN.split("plans:\n")[1], "sku_id"),
        (
            GOOD_PLAN + GOOD_PLAN.split("plans:\n")[1].replace("sku_id: 1", "sku_id: 2"),
            "sku_item_price_id",
        ),
        (
            GOOD_PLAN
            + GOOD_PLAN.split("plans:\n")[1]
            .replace("sku_id: 1", "sku_id: 2")
            .replace("price_id: 10", "price_id: 11"),
            "sku_name",
        ),
        ("plans: []\nlocations: {Delhi: {runtime: local}}\n", "plans"),
    ],
)
def test_a_broken_plan_file_fails_at_load_naming_file_and_field(
    tmp_path: Path, broken: str, field: str
) -> None:
    path = tmp_path / "plans.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(PlanCatalogError) as caught:
        PlanCatalog.load(path)
    assert caught.value.field == field
    assert str(path) in caught.value.message
    assert f": {field}: " in caught.value.message


def test_a_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "plans.yaml"
    path.write_text(GOOD_PLAN, encoding="utf-8")
    assert PlanCatalog.load(path).resolve(sku_id=1).sku_item_price_id == 10


def test_a_file_that_is_not_yaml_or_missing_fails_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "plans.yaml"
    path.write_text("plans: [unclosed\n", encoding="utf-8")
    with pytest.raises(PlanCatalogError, match="not valid YAML") as caught:
        PlanCatalog.load(path)
    assert str(path) in caught.value.message
    missing = tmp_path / "absent.yaml"
    with pytest.raises(PlanCatalogError, match="cannot read it") as caught:
        PlanCatalog.load(missing)
    assert str(missing) in caught.value.message
