"""Integrations: a project's named credentials (Hugging Face token, registry login, S3 keys).

The secret part is stored sealed and never shown; consumers resolve a `Credential` by ref at
launch time, so a rotated secret is what the next replica gets without editing endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from modelport.domain.launch import RegistryLogin
from modelport.domain.text import Line


class IntegrationKind(StrEnum):
    HUGGING_FACE = "hugging_face"  # a Hub token (model downloads)
    REGISTRY = "registry"  # a container registry login (private images)
    S3 = "s3"  # object-store keys (model files in a bucket)


class IntegrationFields(BaseModel):
    """The non-secret part, shown in answers. Which fields a kind takes: KIND_RULES."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    server: Line | None = Field(default=None, min_length=1, max_length=255)  # registry host[:port]
    username: Line | None = Field(default=None, min_length=1, max_length=255)
    endpoint_url: Line | None = Field(default=None, min_length=1, max_length=2048)  # S3-compatible
    region: Line | None = Field(default=None, min_length=1, max_length=64)


class SecretFields(BaseModel):
    """The secret part: stored sealed, never shown, never logged (hidden from every repr)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: Line | None = Field(default=None, min_length=1, max_length=8192, repr=False)
    password: Line | None = Field(default=None, min_length=1, max_length=8192, repr=False)
    access_key_id: Line | None = Field(default=None, min_length=1, max_length=1024, repr=False)
    secret_access_key: Line | None = Field(default=None, min_length=1, max_length=4096, repr=False)


@dataclass(frozen=True, slots=True)
class KindRule:
    """What one kind of integration holds: the secret fields it needs (all of them, on create
    and on every rotation) and the non-secret fields it needs or may have."""

    secrets: tuple[str, ...]
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


KIND_RULES: dict[IntegrationKind, KindRule] = {
    IntegrationKind.HUGGING_FACE: KindRule(secrets=("token",)),
    IntegrationKind.REGISTRY: KindRule(secrets=("password",), required=("server", "username")),
    IntegrationKind.S3: KindRule(
        secrets=("access_key_id", "secret_access_key"), optional=("endpoint_url", "region")
    ),
}


class Integration(BaseModel):
    """A stored integration. `version` grows with every change of the credential (a rotation
    or a field change); `rotated_at` is when the secret was last set."""

    model_config = ConfigDict(frozen=True)

    id: int
    project_id: int
    name: str
    kind: IntegrationKind
    fields: IntegrationFields = IntegrationFields()
    version: int = 1
    rotated_at: datetime
    created_at: datetime
    # SecretFields JSON sealed with the server's SecretBox. Excluded from every dump; only
    # services/integrations.py unseals it, into a Credential.
    sealed_secret: str = Field(exclude=True, repr=False)


class Credential(BaseModel):
    """An integration's credential, decrypted: what a consumer uses at launch. Never shown."""

    model_config = ConfigDict(frozen=True)

    integration_id: int
    name: str
    kind: IntegrationKind
    version: int  # with integration_id: which credential this is (e.g. a failure cache key)
    fields: IntegrationFields
    secret: SecretFields = Field(repr=False)

    def registry_login(self) -> RegistryLogin:
        """The login a container runtime pulls with (kind REGISTRY: server, username set)."""
        if self.kind is not IntegrationKind.REGISTRY:
            raise ValueError(f"integration '{self.name}' is not a registry login")
        return RegistryLogin(
            server=self.fields.server or "",
            username=self.fields.username or "",
            password=self.secret.password or "",
        )
