"""`modelport_token`: an API token of the native API (/api/v1/tokens).

A token cannot change, so every argument forces replacement. The secret is answered once, at
create; it lives in Terraform's state only (sensitive). Destroy revokes it.
"""

from __future__ import annotations

from typing import Any

import httpx

from modelport.domain.records import Role
from modelport.terraform.calls import ApiError, call, report
from modelport.terraform.tfcompat import (
    Attribute,
    CreateContext,
    DeleteContext,
    ImportContext,
    ReadContext,
    Resource,
    Schema,
    String,
    UpdateContext,
)

ROLES = ", ".join(r.value for r in Role)


class ModelportToken(Resource):  # type: ignore[misc]
    def __init__(self, provider: Any) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "modelport_token"

    @classmethod
    def get_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("name", String(), required=True, requires_replace=True),
                Attribute(
                    "role",
                    String(),
                    optional=True,
                    computed=True,
                    requires_replace=True,
                    default=Role.MEMBER.value,
                    description=f"one of {ROLES} (default member)",
                ),
                Attribute(
                    "endpoint",
                    String(),
                    optional=True,
                    requires_replace=True,
                    description="set: an inference key for this endpoint (by name) only",
                ),
                Attribute("id", String(), computed=True),
                Attribute(
                    "token",
                    String(),
                    computed=True,
                    sensitive=True,
                    description="the secret: answered once, at create (null when imported)",
                ),
                Attribute("prefix", String(), computed=True, description="shown in listings"),
                Attribute("endpoint_id", String(), computed=True),
                Attribute("created_at", String(), computed=True),
            ],
        )

    def create(self, ctx: CreateContext, planned: dict[str, Any]) -> dict[str, Any] | None:
        body = {"name": planned["name"], "role": planned["role"]}
        if planned.get("endpoint") is not None:
            body["endpoint"] = planned["endpoint"]
        try:
            with self._http() as client:
                what = f"create token '{planned['name']}'"
                made = call(client, "POST", self._base(), what, json=body).json()
        except ApiError as exc:
            report(ctx.diagnostics, exc, _field_path)
            return None
        return _state(made, planned.get("endpoint"), made["token"])

    def read(self, ctx: ReadContext, current: dict[str, Any]) -> dict[str, Any] | None:
        try:
            found = self._find(current["id"])
        except ApiError as exc:
            report(ctx.diagnostics, exc, _field_path)
            return current
        if found is None:
            return None  # revoked or removed outside Terraform
        return _state(found, current.get("endpoint"), current.get("token"))

    def update(
        self, ctx: UpdateContext, current: dict[str, Any], planned: dict[str, Any]
    ) -> dict[str, Any]:
        return planned  # every argument forces replacement; nothing changes in place

    def delete(self, ctx: DeleteContext, current: dict[str, Any]) -> None:
        url = f"{self._base()}/{current['id']}"
        try:
            with self._http() as client:
                call(client, "DELETE", url, f"revoke token '{current['name']}'")
        except ApiError as exc:
            if exc.status != 404:  # already revoked (also: its endpoint was deleted)
                report(ctx.diagnostics, exc, _field_path)

    def import_(self, ctx: ImportContext, id: str) -> dict[str, Any] | None:
        """By id (`modelport tokens` lists them); the secret is not answered again."""
        try:
            found = self._find(id)
        except ApiError as exc:
            report(ctx.diagnostics, exc, _field_path)
            return None
        if found is None:
            ctx.diagnostics.add_error(f"no live token with id '{id}'", "import takes its id")
            return None
        return _state(found, None, None)

    def _http(self) -> httpx.Client:
        client: httpx.Client = self.provider.connection.http()
        return client

    def _base(self) -> str:
        return f"{self.provider.connection.native_url}/api/v1/tokens"

    def _find(self, token_id: str) -> dict[str, Any] | None:
        """The live token with this id, or None: the API lists live tokens only."""
        with self._http() as client:
            listed = call(client, "GET", self._base(), "list tokens").json()
        return next((t for t in listed["items"] if str(t["id"]) == str(token_id)), None)


def _state(token: dict[str, Any], endpoint: str | None, secret: str | None) -> dict[str, Any]:
    endpoint_id = token.get("endpoint_id")
    return {
        "name": token["name"],
        "role": token["role"],
        "endpoint": endpoint,
        "id": str(token["id"]),
        "token": secret,
        "prefix": token["prefix"],
        "endpoint_id": None if endpoint_id is None else str(endpoint_id),
        "created_at": token["created_at"],
    }


def _field_path(api_field: str) -> list[str | tuple[int]] | None:
    return [api_field] if api_field in ("name", "role", "endpoint") else None
