"""GET /api/v1/usage and GET /api/v1/endpoints/{name}/series: shared by the API and the SDK."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class GroupBy(StrEnum):
    """How usage rows are keyed."""

    ENDPOINT = "endpoint"  # one row per endpoint name
    DAY = "day"  # one row per UTC day


class PlanUsage(BaseModel):
    plan: str  # a sku_name, "<sku_name> x<gpus>" (DeepInfra), or "none"
    replica_seconds: float
    price_per_hour: float  # what the seconds cost per replica-hour (their average)
    cost: float
    currency: str = "INR"


class UsageTotals(BaseModel):
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    replica_seconds: float = 0.0
    cost: float = 0.0
    estimated_requests: int = 0  # streamed answers whose tokens were counted, not reported


class UsageRow(UsageTotals):
    key: str  # the endpoint name, or the day "2026-11-29"
    endpoint: str | None = None
    day: str | None = None
    plans: list[PlanUsage] = []


class UsageReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: str = Field(alias="from")  # ISO 8601 UTC "...Z", a whole hour (usage is hourly)
    to: str
    group_by: GroupBy
    currency: str
    rows: list[UsageRow]
    totals: UsageTotals


class Series(BaseModel):
    """One entry per step, oldest first; None where nothing was recorded."""

    step: int
    t: list[int]  # each step's start, unix seconds
    requests_per_s: list[float | None]
    errors_per_s: list[float | None]
    p50_ms: list[float | None]
    p95_ms: list[float | None]
    in_flight: list[int | None]
    replicas_ready: list[int | None]
    replicas_desired: list[int | None]
