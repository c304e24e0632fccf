"""The async client shares calls and error mapping with the sync one; check it end to end."""

from __future__ import annotations

import pytest

from modelport.sdk import AsyncClient, AuthError, NotFoundError, ServerUnavailableError
from modelport.sdk import ValidationError as SpecError
from tests.unit.sdk.live_server import WEB_SPEC, LiveServer, free_port


async def test_lifecycle(server: LiveServer) -> None:
    async with AsyncClient(server.url, server.admin_token) as client:
        created = await client.create_endpoint("web", WEB_SPEC)
        assert (await client.get_endpoint("web")).id == created.id
        assert [e.name for e in (await client.list_endpoints()).items] == ["web"]
        patched = await client.patch_endpoint("web", {"engine_args": {"n_ctx": 1024}})
        assert patched.spec.engine_args == {"n_ctx": 1024}
        assert (await client.restart_endpoint("web")).endpoint.generation == 3
        assert (await client.whoami()).project == "default"
        assert (await client.delete_endpoint("web")).endpoint.name == "web"


async def test_errors(server: LiveServer) -> None:
    async with AsyncClient(server.url, server.admin_token) as client:
        with pytest.raises(NotFoundError):
            await client.events("nope")
        with pytest.raises(SpecError) as caught:
            await client.create_endpoint("web", {**WEB_SPEC, "replicas": -1})
        assert caught.value.field == "spec.replicas"
    async with AsyncClient(server.url, "mp_wrong") as client:
        with pytest.raises(AuthError):
            await client.list_tokens()


async def test_no_server() -> None:
    async with AsyncClient(f"http://127.0.0.1:{free_port()}", "t") as client:
        with pytest.raises(ServerUnavailableError, match="modelport server"):
            await client.whoami()
