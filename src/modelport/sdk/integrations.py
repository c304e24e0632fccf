"""Integration calls (named credentials) as data, shared by Client and AsyncClient.

A secret is sent (create, rotate) and never answered back: IntegrationPublic says only
`secret_set`, `version` and `rotated_at`. A ref is the integration's name or numeric id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from modelport.schemas.integrations import (
    IntegrationCreate,
    IntegrationList,
    IntegrationPublic,
)
from modelport.sdk.calls import API, ApiCall

PATH = f"{API}/integrations"


def _public(response: httpx.Response) -> IntegrationPublic:
    return IntegrationPublic.model_validate_json(response.content)


def _one(ref: str | int) -> str:
    return f"{PATH}/{quote(str(ref), safe='')}"


def create(body: IntegrationCreate | Mapping[str, Any]) -> ApiCall[IntegrationPublic]:
    data = (
        body.model_dump(mode="json", exclude_none=True)
        if isinstance(body, IntegrationCreate)
        else dict(body)
    )
    return ApiCall("POST", PATH, _public, body=data)


def list_all() -> ApiCall[IntegrationList]:
    return ApiCall(
        "GET", PATH, lambda response: IntegrationList.model_validate_json(response.content)
    )


def get(ref: str | int) -> ApiCall[IntegrationPublic]:
    return ApiCall("GET", _one(ref), _public)


def patch(ref: str | int, changes: Mapping[str, Any]) -> ApiCall[IntegrationPublic]:
    return ApiCall("PATCH", _one(ref), _public, body=dict(changes))


def rotate(ref: str | int, secret: Mapping[str, str]) -> ApiCall[IntegrationPublic]:
    return ApiCall("PUT", f"{_one(ref)}/secret", _public, body=dict(secret))


def delete(ref: str | int) -> ApiCall[None]:
    return ApiCall("DELETE", _one(ref), lambda _response: None)
