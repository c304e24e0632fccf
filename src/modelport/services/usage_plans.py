"""Which plan an endpoint's replicas are billed under, and at what hourly price.

- TIR endpoints: the plan their request chose (`spec.extensions["tir"]["sku"]`), priced by its
  `sku_item_price_id` in today's catalog (the price kept with the endpoint if the catalog no
  longer has it).
- DeepInfra deployments: `config.gpu` x `config.num_gpus`, at the hourly price of the catalog's
  one-GPU plan of that GPU type (DeepInfra prices per GPU-hour), in the catalog's currency.
- Native endpoints: `spec.plan.sku_item_price_id`, checked against the catalog when the spec
  is written (`check_plan`).
- Anything else (Tensormesh, private-cluster TIR, native without a plan): plan "none", price 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelport.catalog import PlanCatalog
from modelport.catalog.plan_file import Currency, SkuType
from modelport.domain import dialects
from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import EndpointSpec

NO_PLAN = "none"
PLAN_FIELD = "spec.plan.sku_item_price_id"


@dataclass(frozen=True, slots=True)
class PlanPrice:
    plan: str  # the name shown in usage: a sku_name, "<sku_name> x<gpus>", or "none"
    price_per_hour: float  # per replica
    currency: str


def catalog_currency(catalog: PlanCatalog) -> str:
    """The currency usage is reported in: the catalog's first price's (INR when empty)."""
    for plan in catalog.plans():
        for item in plan.prices:
            return item.currency.value
    return Currency.INR.value


def check_plan(spec: EndpointSpec, catalog: PlanCatalog) -> None:
    """InvalidSpec naming spec.plan.sku_item_price_id when the catalog has no such price."""
    if spec.plan is not None and _price(catalog, spec.plan.sku_item_price_id) is None:
        raise InvalidSpec(
            f"{PLAN_FIELD}: no plan price {spec.plan.sku_item_price_id} in this server's catalog; "
            "GET /api/v1/catalog lists the plans and their sku_item_price_id",
            field=PLAN_FIELD,
        )


def plan_price(spec: EndpointSpec, catalog: PlanCatalog) -> PlanPrice:
    currency = catalog_currency(catalog)
    if spec.plan is not None:
        found = _price(catalog, spec.plan.sku_item_price_id)
        if found is not None:
            return found
    tir = spec.extensions.get(dialects.TIR.name)
    if isinstance(tir, dict) and isinstance(tir.get("sku"), dict):
        return _tir(tir["sku"], catalog, currency)
    deepinfra = spec.extensions.get(dialects.DEEPINFRA.name)
    if isinstance(deepinfra, dict) and isinstance(deepinfra.get("config"), dict):
        found = _deepinfra(deepinfra["config"], catalog, currency)
        if found is not None:
            return found
    return PlanPrice(NO_PLAN, 0.0, currency)


def _price(catalog: PlanCatalog, sku_item_price_id: object) -> PlanPrice | None:
    for plan in catalog.plans():
        for item in plan.prices:
            if item.sku_item_price_id == sku_item_price_id:
                return PlanPrice(plan.sku_name, item.price_per_hour, item.currency.value)
    return None


def _tir(sku: dict[str, Any], catalog: PlanCatalog, currency: str) -> PlanPrice:
    name = str(sku.get("sku_name") or sku.get("sku_id") or NO_PLAN)
    found = _price(catalog, sku.get("sku_item_price_id"))
    if found is not None:
        return found
    price = sku.get("unit_price")
    kept = float(price) if isinstance(price, int | float) else 0.0
    return PlanPrice(name, kept, str(sku.get("currency") or currency))


def _deepinfra(config: dict[str, Any], catalog: PlanCatalog, currency: str) -> PlanPrice | None:
    gpu, count = config.get("gpu"), config.get("num_gpus")
    gpus = count if isinstance(count, int) and count > 0 else 1
    for plan in catalog.plans():
        if plan.gpu_type != gpu or plan.gpu_count != 1:
            continue
        hourly = [i for i in plan.prices if i.sku_type is SkuType.HOURLY]
        priced = [i for i in hourly if i.currency.value == currency] or hourly
        if priced:
            name = plan.sku_name if gpus == 1 else f"{plan.sku_name} x{gpus}"
            item = priced[0]
            return PlanPrice(name, item.price_per_hour * gpus, item.currency.value)
    return None
