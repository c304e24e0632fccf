"""A real llama.cpp server, planned by the llamacpp adapter and run by LocalRuntime."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest

from modelport.domain.launch import LaunchContext
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import EndpointSpec
from modelport.engines.llamacpp import LlamaCppAdapter
from modelport.runtime.base import ProcessState
from modelport.runtime.local import LocalRuntime
from tests.conftest import need

pytestmark = pytest.mark.engine


async def test_llamacpp_replica_serves_a_chat_and_stops(smollm2_path: Path, tmp_path: Path) -> None:
    adapter = LlamaCppAdapter()
    need(adapter.available() is None, "llama-cpp-python[server] is not installed")
    runtime = LocalRuntime(tmp_path / "logs")
    host, port = runtime.address()
    spec = EndpointSpec.model_validate(
        {"framework": "llamacpp", "model": {"path": str(smollm2_path)}}
    )
    plan = adapter.plan(spec, LaunchContext(host=host, port=port, env={}, name="smol"))

    handle = await runtime.start("smol-r1-g1", plan)
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30) as client:
            models = await _wait_for_models(client, runtime, handle, timeout=60)
            assert [m["id"] for m in models["data"]] == ["smol"]
            assert plan.readiness.path is not None
            assert (await client.get(plan.readiness.path)).status_code == 200

            reply = await client.post(
                "/v1/chat/completions",
                json={
                    "model": "smol",
                    "messages": [{"role": "user", "content": "Say hello."}],
                    "max_tokens": 8,
                },
            )
            assert reply.status_code == 200
            message = reply.json()["choices"][0]["message"]
            assert message["role"] == "assistant" and message["content"].strip()
    finally:
        await runtime.stop(handle, grace_seconds=10)

    assert (await runtime.status(handle)).state is not ProcessState.RUNNING
    assert handle.pid is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(handle.pid, 0)  # the whole process group is gone
    assert "llama" in (await runtime.read_logs(handle)).lower()


async def _wait_for_models(
    client: httpx.AsyncClient, runtime: LocalRuntime, handle: ReplicaHandle, timeout: float
) -> dict[str, list[dict[str, str]]]:
    deadline = time.monotonic() + timeout
    while True:
        status = await runtime.status(handle)
        assert status.state is ProcessState.RUNNING, await runtime.read_logs(handle, 4000)
        try:
            response = await client.get("/v1/models")
            if response.status_code == 200:
                body: dict[str, list[dict[str, str]]] = response.json()
                return body
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, await runtime.read_logs(handle, 4000)
        await asyncio.sleep(0.25)
