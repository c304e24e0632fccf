"""The plan (SKU) catalog: load the operator's YAML file, resolve what a client asked for.

TIR clients name a plan by ids (REST: sku_id + sku_item_price_id, seed 000) or by name
(Terraform: sku_name + sku_type + committed_days + location, seed 001). `resolve` accepts either,
checks they agree, and names the exact field that does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import ValidationError

from modelport.catalog.plan_file import Currency, Plan, PlanFile, PriceItem, SkuType
from modelport.domain.errors import InvalidSpec, ModelportError
from modelport.domain.specs import Resources

DEFAULT_PLANS_RESOURCE = "default_plans.yaml"

_E = TypeVar("_E", SkuType, Currency)


class PlanCatalogError(ModelportError):
    """The operator's plan file is missing, not YAML, or breaks the schema (`field` says where)."""


@dataclass(frozen=True, slots=True)
class Location:
    name: str  # as the operator spells it, e.g. "Delhi"
    runtime: str  # the runtime its replicas run on, e.g. "local"


@dataclass(frozen=True, slots=True)
class ResolvedPlan:
    """One plan, one of its prices, one location: everything a request's plan fields pick."""

    plan: Plan
    price: PriceItem
    location: Location

    @property
    def sku_id(self) -> int:
        return self.plan.sku_id

    @property
    def sku_item_price_id(self) -> int:
        return self.price.sku_item_price_id

    @property
    def sku_name(self) -> str:
        return self.plan.sku_name

    @property
    def sku_type(self) -> SkuType:
        return self.price.sku_type


class PlanCatalog:
    """The plans an operator offers. Immutable once loaded."""

    def __init__(self, document: PlanFile, source: str) -> None:
        self.source = source
        self._document = document
        self._locations = tuple(Location(n, c.runtime) for n, c in document.locations.items())
        self._by_sku = {plan.sku_id: plan for plan in document.plans}
        self._by_price = {
            item.sku_item_price_id: (plan, item) for plan in document.plans for item in plan.prices
        }

    @classmethod
    def load(cls, path: Path | None = None) -> PlanCatalog:
        """Load a plan file; None loads the catalog shipped with Modelport.

        Raises PlanCatalogError naming the file and the field at fault.
        """
        if path is None:
            shipped = resources.files("modelport.catalog").joinpath(DEFAULT_PLANS_RESOURCE)
            text = shipped.read_text(encoding="utf-8")
            return cls.parse(text, source=f"<built-in {DEFAULT_PLANS_RESOURCE}>")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PlanCatalogError(f"plans file {path}: cannot read it ({exc.strerror})") from exc
        return cls.parse(text, source=str(path))

    @classmethod
    def parse(cls, text: str, *, source: str = "<string>") -> PlanCatalog:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PlanCatalogError(f"plans file {source}: not valid YAML: {exc}") from exc
        try:
            document = PlanFile.model_validate(raw)
        except ValidationError as exc:
            field, message = _first_problem(exc)
            raise PlanCatalogError(f"plans file {source}: {field}: {message}", field=field) from exc
        return cls(document, source)

    def plans(self) -> tuple[Plan, ...]:
        return self._document.plans

    def locations(self) -> tuple[Location, ...]:
        return self._locations

    def resolve(
        self,
        sku_id: int | None = None,
        sku_item_price_id: int | None = None,
        sku_name: str | None = None,
        location: str | None = None,
        *,
        sku_type: str | None = None,
        committed_days: int | None = None,
        currency: str | None = None,
    ) -> ResolvedPlan:
        """The plan, price and location a request names. Any subset may be given; they must agree.

        Raises InvalidSpec naming the field ("sku_id", "sku_item_price_id", "sku_name",
        "location", "sku_type", "committed_days", "currency") that is unknown or disagrees.
        """
        where = self._location(location) if location is not None else None
        plan: Plan | None = None
        price: PriceItem | None = None
        by = "sku_id"  # the field that picked the plan: blamed if the location does not offer it
        if sku_id is not None:
            plan = self._plan_by_id(sku_id, where)
        if sku_item_price_id is not None:
            plan, price = self._price_by_id(sku_item_price_id, plan)
            by = "sku_item_price_id" if sku_id is None else by
        if sku_name is not None:
            plan = self._plan_by_name(sku_name, plan, where)
            by = "sku_name" if sku_id is None and sku_item_price_id is None else by
        if plan is None:
            raise InvalidSpec("a plan is required: give sku_id or sku_name", field="sku_id")
        if where is None:
            where = self._location(plan.locations[0])
        elif not _offers(plan, where):
            raise InvalidSpec(
                f"plan {_describe(plan)}, chosen by {by}, is not offered in {where.name} "
                f"(offered in: {', '.join(plan.locations)}); plans in {where.name}: "
                f"{self._plans_in(where)}",
                field=by,
            )
        candidates = (price,) if price is not None else plan.prices
        chosen = _choose_price(plan, candidates, sku_type, committed_days, currency)
        return ResolvedPlan(plan=plan, price=chosen, location=where)

    def _location(self, name: str) -> Location:
        wanted = name.strip().lower()
        for known in self._locations:
            if known.name.lower() == wanted:
                return known
        valid = ", ".join(loc.name for loc in self._locations)
        raise InvalidSpec(f"unknown location {name!r}; valid: {valid}", field="location")

    def _plan_by_id(self, sku_id: int, where: Location | None) -> Plan:
        plan = self._by_sku.get(sku_id)
        if plan is None:
            scope = f" in {where.name}" if where is not None else ""
            raise InvalidSpec(
                f"unknown sku_id {sku_id}; plans{scope}: {self._plans_in(where)}", field="sku_id"
            )
        return plan

    def _price_by_id(self, price_id: int, plan: Plan | None) -> tuple[Plan, PriceItem]:
        found = self._by_price.get(price_id)
        if found is None:
            known = f"; prices of sku_id {plan.sku_id}: {_prices(plan.prices)}" if plan else ""
            raise InvalidSpec(
                f"unknown sku_item_price_id {price_id}{known}", field="sku_item_price_id"
            )
        owner, item = found
        if plan is not None and owner.sku_id != plan.sku_id:
            raise InvalidSpec(
                f"sku_item_price_id {price_id} belongs to sku_id {owner.sku_id}, not "
                f"{plan.sku_id}; prices of sku_id {plan.sku_id}: {_prices(plan.prices)}",
                field="sku_item_price_id",
            )
        return owner, item

    def _plan_by_name(self, sku_name: str, plan: Plan | None, where: Location | None) -> Plan:
        wanted = sku_name.strip().lower()
        if plan is not None:
            if plan.sku_name.lower() != wanted:
                raise InvalidSpec(
                    f"sku_name {sku_name!r} does not match sku_id {plan.sku_id} "
                    f"({plan.sku_name!r})",
                    field="sku_name",
                )
            return plan
        named = [p for p in self._document.plans if p.sku_name.lower() == wanted]
        if where is not None:
            named = [p for p in named if _offers(p, where)] or named
        if not named:
            raise InvalidSpec(
                f"unknown sku_name {sku_name!r}; plans: {self._plans_in(where)}", field="sku_name"
            )
        if len(named) > 1:
            offered = ", ".join(loc for p in named for loc in p.locations)
            raise InvalidSpec(
                f"sku_name {sku_name!r} is offered in several locations ({offered}); "
                "set location to pick one",
                field="location",
            )
        return named[0]

    def _plans_in(self, where: Location | None) -> str:
        plans = [p for p in self._document.plans if where is None or _offers(p, where)]
        return ", ".join(_describe(p) for p in plans) or "none"


def to_resources(plan: Plan | ResolvedPlan) -> Resources:
    """What one replica on this plan gets from its host."""
    shape = plan.plan if isinstance(plan, ResolvedPlan) else plan
    return Resources(
        cpu=shape.cpu,
        memory_mb=shape.memory_mb,
        gpu_count=shape.gpu_count,
        gpu_type=shape.gpu_type,
        disk_gb=shape.disk_gb,
    )


def _choose_price(
    plan: Plan,
    candidates: tuple[PriceItem, ...],
    sku_type: str | None,
    committed_days: int | None,
    currency: str | None,
) -> PriceItem:
    """Narrow by each given filter in turn (blaming the first that empties the set)."""
    wanted_type = _enum(SkuType, sku_type.lower(), "sku_type") if sku_type is not None else None
    wanted_currency = _enum(Currency, currency.upper(), "currency") if currency else None
    filters = (
        ("currency", wanted_currency, lambda item: item.currency is wanted_currency),
        ("sku_type", wanted_type, lambda item: item.sku_type is wanted_type),
        ("committed_days", committed_days, lambda item: item.committed_days == committed_days),
    )
    for field, wanted, keep in filters:
        if wanted is None:
            continue
        matching = tuple(item for item in candidates if keep(item))
        if not matching:
            raise InvalidSpec(
                f"sku_id {plan.sku_id} has no price with {field} {wanted}; "
                f"it offers: {_prices(candidates)}",
                field=field,
            )
        candidates = matching
    hourly = [item for item in candidates if item.sku_type is SkuType.HOURLY]
    return (hourly or list(candidates))[0]


def _enum(kind: type[_E], value: str, field: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        valid = ", ".join(member.value for member in kind)
        raise InvalidSpec(f"{field} {value!r} is not one of {valid}", field=field) from None


def _offers(plan: Plan, where: Location) -> bool:
    return where.name.lower() in (name.lower() for name in plan.locations)


def _describe(plan: Plan) -> str:
    return f"{plan.sku_id} ({plan.sku_name})"


def _prices(items: tuple[PriceItem, ...]) -> str:
    return ", ".join(
        f"{i.sku_item_price_id} ({i.sku_type.value}"
        + (f" {i.committed_days}d" if i.committed_days else "")
        + f", {i.price_per_hour:g} {i.currency.value}/h)"
        for i in items
    )


_FIELD_PREFIX = re.compile(r"^(?:Value error, )?([a-z_]+): (.*)$", re.DOTALL)


def _first_problem(exc: ValidationError) -> tuple[str, str]:
    """("plans.2.gpu_type", "set gpu_type ...") from pydantic's first error."""
    error = exc.errors()[0]
    path = [str(part) for part in error["loc"]]
    message = str(error["msg"])
    named = _FIELD_PREFIX.match(message)
    if named:  # our validators start their message with the field they blame
        path.append(named.group(1))
        message = named.group(2)
    return ".".join(path) or "(document)", message
