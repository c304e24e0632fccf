"""/api/v1/integrations request and answer models, shared by the API and the SDK.

Requests are flat: the secret fields (token, password, access_key_id, secret_access_key) and
the non-secret ones (server, username, endpoint_url, region) side by side; which of them a kind
takes is domain/integrations.KIND_RULES. Answers never carry a secret.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from modelport.domain.integrations import IntegrationFields, IntegrationKind, SecretFields
from modelport.domain.numbers import RequestModel


class IntegrationSecret(SecretFields, RequestModel):
    """PUT /integrations/{ref}/secret: every secret field of the integration's kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class IntegrationPatch(IntegrationFields, RequestModel):
    """PATCH /integrations/{ref}: non-secret fields to change (null or absent: unchanged)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class IntegrationCreate(IntegrationFields, SecretFields, RequestModel):
    """POST /integrations. `name` is a DNS label with a letter (digits alone are ids)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=63)
    kind: IntegrationKind

    def fields_part(self) -> IntegrationFields:
        return IntegrationFields.model_validate(
            self.model_dump(include=set(IntegrationFields.model_fields))
        )

    def secret_part(self) -> SecretFields:
        return SecretFields.model_validate(self.model_dump(include=set(SecretFields.model_fields)))


class IntegrationPublic(BaseModel):
    """An integration as answers show it: never the secret, only that one is set and when."""

    id: int
    name: str
    kind: IntegrationKind
    server: str | None = None
    username: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    secret_set: bool = True
    version: int
    rotated_at: datetime
    created_at: datetime


class IntegrationList(BaseModel):
    items: list[IntegrationPublic]
