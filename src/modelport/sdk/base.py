"""What the sync and async clients share: configuration, headers and URLs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx

from modelport import __version__
from modelport.sdk.config import ClientConfig, resolve_config
from modelport.sdk.errors import unavailable


class ClientBase:
    def __init__(self, base_url: str | None, token: str | None) -> None:
        self.config: ClientConfig = resolve_config(base_url, token)

    @property
    def base_url(self) -> str:
        return self.config.base_url

    @property
    def token(self) -> str | None:
        return self.config.token

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"modelport-sdk/{__version__}", "Accept": "application/json"}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        return headers

    def openai_base_url(self, name: str) -> str:
        """The OpenAI-compatible base URL of endpoint `name` on the gateway (no request made)."""
        return f"{self.config.base_url}/endpoints/{quote(name, safe='')}/v1"

    def gateway_base_url(self) -> str:
        """The gateway's OpenAI base URL where `model` is the endpoint name."""
        return f"{self.config.base_url}/v1"

    @contextmanager
    def _transport_errors(self) -> Iterator[None]:
        """Network failures become ServerUnavailableError naming the server."""
        try:
            yield
        except httpx.TransportError as exc:
            raise unavailable(self.config.base_url, exc) from exc
