"""The provider: its block (TIR's `api_endpoint`, `auth_token`, `api_key`), the connection it
configures, and the resources and data sources it offers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from modelport import __version__
from modelport.terraform.tfcompat import (
    Attribute,
    DataSource,
    Diagnostics,
    Guarded,
    Provider,
    Resource,
    Schema,
    String,
    Unknown,
)

# Where TIR's own provider is published; a configuration that names this source needs no change
# but its provider block (docs/terraform.md).
TIR_SOURCE = "registry.terraform.io/e2eterraformprovider/tir"
# The same binary under Modelport's own name, for configurations that use only the native
# resources (`modelport_endpoint`, `modelport_token`).
NATIVE_SOURCE = "modelport.local/modelport/modelport"
TIMEOUT_SECONDS = 60.0

# Provider attribute -> the environment variables read when the block leaves it unset.
ENV_FALLBACK: dict[str, tuple[str, ...]] = {
    "api_endpoint": ("TIR_API_ENDPOINT",),
    "auth_token": ("TIR_AUTH_TOKEN", "MODELPORT_TOKEN"),
    "api_key": ("TIR_API_KEY",),
}


@dataclass(frozen=True)
class Connection:
    """Where and as whom the provider calls. `api_endpoint` is TIR's base (the routes TIR's
    provider calls hang under it: `http://HOST:8080/tir/terraform`); the native API is at
    `native_url`, the same server's origin."""

    api_endpoint: str
    auth_token: str
    api_key: str

    @property
    def native_url(self) -> str:
        parts = urlsplit(self.api_endpoint)
        return f"{parts.scheme}://{parts.netloc}"

    def http(self) -> httpx.Client:
        """A client for one operation (the caller closes it). The token is a header, never
        part of a URL, so it reaches no log."""
        return httpx.Client(
            headers={
                "Authorization": f"Bearer {self.auth_token}",
                "User-Agent": f"terraform-provider-tir (modelport {__version__})",
            },
            timeout=TIMEOUT_SECONDS,
        )


class ModelportProvider(Provider):  # type: ignore[misc]
    def __init__(self) -> None:
        self._connection: Connection | None = None

    def get_model_prefix(self) -> str:
        return ""  # resources carry their full names: tir_... and modelport_...

    def full_name(self) -> str:
        return TIR_SOURCE

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute(
                    "api_endpoint",
                    String(),
                    optional=True,
                    description="Modelport's TIR base, e.g. http://HOST:8080/tir/terraform "
                    "(env TIR_API_ENDPOINT)",
                ),
                Attribute(
                    "auth_token",
                    String(),
                    optional=True,
                    sensitive=True,
                    description="a Modelport API token (env TIR_AUTH_TOKEN or MODELPORT_TOKEN)",
                ),
                Attribute(
                    "api_key",
                    String(),
                    optional=True,
                    sensitive=True,
                    description="TIR's API key: accepted and sent as TIR's provider does; "
                    "Modelport authorises by auth_token (env TIR_API_KEY)",
                ),
            ],
        )

    def validate_config(self, diags: Diagnostics, config: dict[str, Any]) -> None:
        endpoint = config.get("api_endpoint")
        if isinstance(endpoint, str) and urlsplit(endpoint).scheme not in ("http", "https"):
            diags.add_error(
                "api_endpoint must be an http(s) URL",
                f"got {endpoint!r}; e.g. http://127.0.0.1:8080/tir/terraform",
                path=["api_endpoint"],
            )

    def configure_provider(self, diags: Diagnostics, config: dict[str, Any]) -> None:
        values = {name: _setting(config, name) for name in ENV_FALLBACK}
        for name in ("api_endpoint", "auth_token"):
            if not values[name]:
                env = " or ".join(ENV_FALLBACK[name])
                diags.add_error(
                    f"{name} is required",
                    f"set {name} in the provider block (or {env})",
                    path=[name],
                )
        if diags.has_errors():
            return
        self._connection = Connection(
            api_endpoint=values["api_endpoint"].rstrip("/"),
            auth_token=values["auth_token"],
            api_key=values["api_key"],
        )

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the provider is not configured (no provider block?)")
        return self._connection

    def get_data_sources(self) -> list[type[DataSource]]:
        from modelport.terraform.tir_plans import TirModelEndpointPlans

        return [TirModelEndpointPlans]

    def get_resources(self) -> list[type[Resource]]:
        from modelport.terraform.native import ModelportEndpoint, ModelportToken
        from modelport.terraform.tir_endpoint import TirModelEndpoint

        return [TirModelEndpoint, ModelportEndpoint, ModelportToken]

    def new_resource(self, klass: type[Resource]) -> Resource:
        return Guarded(klass(self))

    def new_data_source(self, klass: type[DataSource]) -> DataSource:
        return Guarded(klass(self))


def _setting(config: dict[str, Any], name: str) -> str:
    value = config.get(name)
    if isinstance(value, str) and value:
        return value
    if value is Unknown:
        return ""
    for env in ENV_FALLBACK[name]:
        if os.environ.get(env):
            return os.environ[env]
    return ""
