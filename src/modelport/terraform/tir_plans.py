"""The data source `tir_model_endpoint_plans`, as TIR's Go provider has it
(datasource_modelEndpoint.go): `framework` and `active_iam` in; out `id` = "plans" and `plans`,
one object per price of every plan the server's catalog offers that framework, CPU plans first.

It reads `GET {api_endpoint}/gpu_service/sku/?service=inference_service&framework=...`, the TIR
dialect's plan listing (`data.CPU` / `data.GPU`, each plan with its `plans` = prices). `apikey`
is not sent: Modelport authorises by the token, and a key in a URL ends up in logs.
"""

from __future__ import annotations

from typing import Any

from modelport.terraform.calls import ApiError, Path, call, report
from modelport.terraform.tfcompat import (
    Attribute,
    DataSource,
    ListType,
    Number,
    Object,
    ReadDataContext,
    Schema,
    String,
)

SKUS = "/gpu_service/sku/"
SERVICE = "inference_service"
GROUPS = ("CPU", "GPU")  # the order the Go provider flattens them in

# A plan's attribute -> (where in the answer it comes from: the plan entry or its price, key).
PLAN_FIELDS: dict[str, tuple[str, str, Any]] = {
    "sku_name": ("entry", "name", String()),
    "cpu": ("entry", "cpu", String()),
    "gpu": ("entry", "gpu", String()),
    "memory": ("entry", "memory", String()),
    "sku_type": ("price", "sku_type", String()),
    "committed_days": ("price", "committed_days", Number()),
    "unit_price": ("price", "unit_price", Number()),
    "currency": ("price", "currency", String()),
}
# The API fields a refusal may name -> the attribute to show it on.
FIELDS: dict[str, Path] = {"framework": ["framework"], "active_iam": ["active_iam"]}


class TirModelEndpointPlans(DataSource):  # type: ignore[misc]
    def __init__(self, provider: Any) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "tir_model_endpoint_plans"

    @classmethod
    def get_schema(cls) -> Schema:
        plan = Object({name: kind for name, (_, _, kind) in PLAN_FIELDS.items()})
        return Schema(
            version=0,
            attributes=[
                Attribute(
                    "active_iam",
                    String(),
                    required=True,
                    description="This is IAM number for a particular user.",
                ),
                Attribute(
                    "framework",
                    String(),
                    required=True,
                    description="There are different frameworks for which you want to run "
                    "inference.",
                ),
                Attribute("id", String(), computed=True, description='always "plans"'),
                Attribute(
                    "plans",
                    ListType(plan),
                    computed=True,
                    description="one entry per price of each plan that runs the framework",
                ),
            ],
        )

    def read(self, ctx: ReadDataContext, config: dict[str, Any]) -> dict[str, Any] | None:
        connection = self.provider.connection
        params = {
            "service": SERVICE,
            "framework": config["framework"],
            "active_iam": config["active_iam"],
        }
        try:
            with connection.http() as client:
                url = connection.api_endpoint + SKUS
                resp = call(client, "GET", url, "listing plans", params=params)
        except ApiError as error:
            report(ctx.diagnostics, error, FIELDS.get)
            return None
        data = resp.json().get("data")
        return {**config, "id": "plans", "plans": flatten(data if isinstance(data, dict) else {})}


def flatten(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The Go provider's flattening: for each CPU then GPU plan entry, one row per price."""
    rows: list[dict[str, Any]] = []
    for group in GROUPS:
        for entry in data.get(group) or []:
            for price in entry.get("plans") or []:
                source = {"entry": entry, "price": price}
                rows.append(
                    {name: source[where].get(key) for name, (where, key, _) in PLAN_FIELDS.items()}
                )
    return rows
