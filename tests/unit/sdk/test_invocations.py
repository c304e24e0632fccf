"""SDK async invocations against the real API, gateway intake and workers (async_live_server):
submit through the gateway, wait for the worker's answer from a real HTTP replica, list with
filters, cancel, and the errors a caller must be able to act on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelport.domain.invocations import InvocationStatus
from modelport.sdk import AsyncClient, Client, ConflictError, NotFoundError, ValidationError
from modelport.sdk.invocations import InvocationWaitTimeoutError
from tests.unit.sdk.async_live_server import AsyncLiveServer, echo_replica, with_chat_endpoints

CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[AsyncLiveServer]:
    with with_chat_endpoints(tmp_path) as running:
        yield running


def test_queued_without_a_replica_then_canceled(srv: AsyncLiveServer) -> None:
    with Client(srv.url, srv.admin_token) as client:
        accepted = client.submit_invocation("chat", "v1/chat/completions", CHAT)
        assert accepted.status is InvocationStatus.QUEUED
        assert accepted.request_id == accepted.id
        assert accepted.result_url == f"/api/v1/endpoints/chat/invocations/{accepted.id}"

        with pytest.raises(InvocationWaitTimeoutError) as waited:
            client.wait_invocation("chat", accepted.id, timeout=0.3, poll=0.05)
        assert waited.value.invocation.status is InvocationStatus.QUEUED
        assert accepted.id in str(waited.value)

        canceled = client.cancel_invocation("chat", accepted.id)
        assert canceled.status is InvocationStatus.CANCELED
        with pytest.raises(ConflictError) as again:
            client.cancel_invocation("chat", accepted.id)
        assert again.value.field == "status"
        # Canceled is final: the wait returns at once.
        assert client.wait_invocation("chat", accepted.id, timeout=5).status == "canceled"


def test_completed_with_the_replicas_answer(srv: AsyncLiveServer) -> None:
    with echo_replica() as port, Client(srv.url, srv.admin_token) as client:
        srv.ready_replica("chat", port)
        first = client.submit_invocation("chat", "/v1/chat/completions", CHAT, "order-1")
        repeat = client.submit_invocation("chat", "v1/chat/completions", {"other": 1}, "order-1")
        assert repeat.id == first.id  # the same key: the same invocation
        bad = client.submit_invocation("chat", "v1/bad", CHAT)

        done = client.wait_invocation("chat", first.id, timeout=30, poll=0.05)
        assert done.status is InvocationStatus.COMPLETED
        assert done.response_status == 200
        assert done.result == {"path": "/v1/chat/completions", "echo": CHAT}
        assert client.get_invocation("chat", first.id).result == done.result

        failed = client.wait_invocation("chat", bad.id, timeout=30, poll=0.05)
        assert (failed.status, failed.response_status) == (InvocationStatus.FAILED, 400)

        everything = client.list_invocations("chat")
        assert [i.id for i in everything.items] == [bad.id, first.id]  # newest first
        completed = client.list_invocations("chat", statuses=["completed"])
        assert [i.id for i in completed.items] == [first.id] and completed.total == 1
        either = client.list_invocations("chat", statuses=["completed", "failed"], limit=1)
        assert len(either.items) == 1 and either.total == 2
        future = datetime.now(UTC) + timedelta(hours=1)
        assert client.list_invocations("chat", since=future).total == 0


def test_errors_name_what_to_fix(srv: AsyncLiveServer) -> None:
    with Client(srv.url, srv.admin_token) as client:
        with pytest.raises(ConflictError) as off:
            client.submit_invocation("sync", "v1/chat/completions", CHAT)
        assert off.value.field == "spec.async_config.enabled"
        with pytest.raises(ValidationError) as key:
            client.submit_invocation("chat", "v1/chat/completions", CHAT, "k" * 256)
        assert key.value.field == "Idempotency-Key"
        with pytest.raises(NotFoundError) as missing:
            client.get_invocation("chat", "inv-nope")
        assert missing.value.field == "invocation_id"
        with pytest.raises(NotFoundError):
            client.submit_invocation("nope", "v1/chat/completions", CHAT)
        with pytest.raises(ValidationError):
            client.list_invocations("chat", statuses=["sleeping"])


async def test_async_client_submits_waits_lists_and_cancels(srv: AsyncLiveServer) -> None:
    async with AsyncClient(srv.url, srv.admin_token) as client:
        queued = await client.submit_invocation("chat", "v1/chat/completions", CHAT)
        assert (await client.cancel_invocation("chat", queued.id)).status == "canceled"
        with echo_replica() as port:
            srv.ready_replica("chat", port)
            accepted = await client.submit_invocation("chat", "v1/chat/completions", CHAT)
            done = await client.wait_invocation("chat", accepted.id, timeout=30, poll=0.05)
        assert done.status is InvocationStatus.COMPLETED
        assert done.result == {"path": "/v1/chat/completions", "echo": CHAT}
        listed = await client.list_invocations("chat", statuses=["canceled"])
        assert [i.id for i in listed.items] == [queued.id]
        assert (await client.get_invocation("chat", accepted.id)).attempts == 1
