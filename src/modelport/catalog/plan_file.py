"""The operator's plan (SKU) file: its schema and the checks that make a broken file fail at load.

A plan is a machine shape (CPU, memory, GPUs) with one or more price items (hourly, or committed
for some days) offered in named locations; each location runs on one of our runtimes. TIR clients
pick a plan by sku_id + sku_item_price_id (REST, seed 000) or by sku_name + sku_type +
committed_days + location (Terraform, seed 001).
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SkuType(StrEnum):
    """How a price item is billed."""

    HOURLY = "hourly"  # pay per hour, no commitment
    COMMITTED = "committed"  # a discounted rate for committed_days


class Currency(StrEnum):
    """Currencies a price can be quoted in (seed 001's `currency`)."""

    INR = "INR"
    USD = "USD"


class LocationConfig(BaseModel):
    """A named location (TIR's `location`, e.g. "Delhi") and the runtime its replicas run on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    runtime: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")  # a runtime name: local, docker, ray


class PriceItem(BaseModel):
    """One way to pay for a plan; `sku_item_price_id` is unique across the whole file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sku_item_price_id: int = Field(ge=1)
    sku_type: SkuType = SkuType.HOURLY
    price_per_hour: float = Field(ge=0)
    currency: Currency = Currency.INR
    committed_days: int = Field(default=0, ge=0, le=3650)

    @model_validator(mode="after")
    def _commitment(self) -> PriceItem:
        if self.sku_type is SkuType.COMMITTED and self.committed_days == 0:
            raise ValueError("committed_days: a committed price needs committed_days >= 1")
        if self.sku_type is SkuType.HOURLY and self.committed_days != 0:
            raise ValueError("committed_days: an hourly price has committed_days 0")
        return self


class Plan(BaseModel):
    """A machine shape one replica gets, with its prices and where it is offered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sku_id: int = Field(ge=1)
    sku_name: str = Field(min_length=1, max_length=100)  # e.g. "C3.2", "GDC3.A10080-16.115GB"
    cpu: float = Field(gt=0, le=1024)  # vCPUs
    memory_mb: int = Field(ge=64, le=16 * 1024 * 1024)
    gpu_count: int = Field(default=0, ge=0, le=64)
    gpu_type: str | None = Field(default=None, min_length=1)  # e.g. "H100-80GB"; None: CPU plan
    disk_gb: int | None = Field(default=None, ge=1, le=100_000)
    locations: tuple[str, ...] = Field(min_length=1)
    prices: tuple[PriceItem, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _gpu(self) -> Plan:
        if (self.gpu_type is None) != (self.gpu_count == 0):
            raise ValueError("gpu_type: set gpu_type exactly when gpu_count is at least 1")
        return self


class PlanFile(BaseModel):
    """The whole YAML document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    locations: dict[str, LocationConfig] = Field(min_length=1)
    plans: tuple[Plan, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> PlanFile:
        _no_duplicates("sku_id", [p.sku_id for p in self.plans])
        _no_duplicates(
            "sku_item_price_id", [i.sku_item_price_id for p in self.plans for i in p.prices]
        )
        _no_duplicates("locations", [name.lower() for name in self.locations])
        known = {name.lower() for name in self.locations}
        for plan in self.plans:
            unknown = [name for name in plan.locations if name.lower() not in known]
            if unknown:
                raise ValueError(
                    f"locations: sku_id {plan.sku_id} names undefined location(s) "
                    f"{', '.join(unknown)}; defined: {', '.join(self.locations)}"
                )
        # A (sku_name, location) pair must pick one plan, or Terraform's lookup is ambiguous.
        offers = [(p.sku_name.lower(), loc.lower()) for p in self.plans for loc in p.locations]
        _no_duplicates("sku_name", [f"{name} in {loc}" for name, loc in offers])
        return self


def _no_duplicates(field: str, values: list[object]) -> None:
    repeated = [str(v) for v, n in Counter(values).items() if n > 1]
    if repeated:
        raise ValueError(f"{field}: duplicate value(s) {', '.join(repeated)}")
