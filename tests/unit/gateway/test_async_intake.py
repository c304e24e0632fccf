"""The async intake seam: which requests the gateway hands over instead of proxying, and what
the intake gets (never the caller's credentials)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from modelport.domain.specs import AsyncConfig, AsyncTargetRoute, EndpointSpec, Framework
from modelport.gateway.async_hook import IntakeAnswer
from modelport.gateway.routes import EndpointRoute
from modelport.services.auth import Principal
from tests.unit.gateway.gateway_harness import harness

CHAT = b'{"model": "web", "messages": []}'
ASYNC_SPEC = EndpointSpec(
    framework=Framework.CUSTOM,
    command=["serve"],
    async_config=AsyncConfig(
        enabled=True,
        target_routes=[AsyncTargetRoute(route_name="chat", route_value="v1/chat/completions")],
    ),
)


@dataclass
class Submitted:
    route: EndpointRoute
    method: str
    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...]
    request_id: str


@dataclass
class RecordingIntake:
    calls: list[Submitted] = field(default_factory=list)

    async def submit(
        self,
        principal: Principal,
        route: EndpointRoute,
        method: str,
        path: str,
        body: bytes,
        headers: tuple[tuple[str, str], ...],
        request_id: str,
    ) -> IntakeAnswer:
        self.calls.append(Submitted(route, method, path, body, headers, request_id))
        return IntakeAnswer(202, {"id": "inv-1", "status": "queued"}, ((b"location", b"/x"),))


async def test_native_async_path_goes_to_the_intake(tmp_path: Path) -> None:
    intake = RecordingIntake()
    async with harness(tmp_path, intake=intake) as h:
        h.add_endpoint("web", EndpointSpec(framework=Framework.CUSTOM, command=["serve"]))
        await h.routes.refresh(h.store)
        sent = [(b"idempotency-key", b"k-1"), (b"cookie", b"secret"), (b"x-request-id", b"r-1")]
        answer = await h.call("POST", "/endpoints/web/async/v1/chat/completions?a=1", CHAT, sent)
    assert answer.status == 202
    assert answer.json() == {"id": "inv-1", "status": "queued"}
    assert answer.header(b"location") == b"/x"
    assert answer.header(b"x-request-id") == b"r-1"
    [call] = intake.calls
    assert (call.route.name, call.method, call.path, call.body) == (
        "web", "POST", "/v1/chat/completions?a=1", CHAT,
    )  # fmt: skip
    names = {name for name, _ in call.headers}
    assert ("idempotency-key", "k-1") in call.headers
    assert not names & {"authorization", "cookie"}
    assert call.request_id == "r-1"


async def test_native_async_path_without_intake_is_404(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.add_endpoint("web", EndpointSpec(framework=Framework.CUSTOM, command=["serve"]))
        await h.routes.refresh(h.store)
        answer = await h.call("POST", "/endpoints/web/async/v1/chat/completions", CHAT)
    assert answer.status == 404
    assert "asynchronous" in answer.json()["error"]["message"]


async def test_native_async_path_takes_post_only(tmp_path: Path) -> None:
    intake = RecordingIntake()
    async with harness(tmp_path, intake=intake) as h:
        h.add_endpoint("web", EndpointSpec(framework=Framework.CUSTOM, command=["serve"]))
        await h.routes.refresh(h.store)
        answer = await h.call("GET", "/endpoints/web/async/v1/models")
    assert answer.status == 405
    assert not intake.calls


async def test_tir_target_route_of_an_async_endpoint_is_queued(tmp_path: Path) -> None:
    intake = RecordingIntake()
    async with harness(tmp_path, intake=intake) as h:
        endpoint_id = h.add_endpoint("web", ASYNC_SPEC)
        await h.routes.refresh(h.store)
        base = f"/tir/project/p-{h.project_id}/endpoint/is-{endpoint_id}"
        answer = await h.call("POST", f"{base}/v1/chat/completions", CHAT)
    assert answer.status == 202
    [call] = intake.calls
    assert call.path == "/v1/chat/completions"
    assert call.route.endpoint_id == endpoint_id


async def test_tir_requests_the_async_config_does_not_name_are_proxied(tmp_path: Path) -> None:
    """Another path, a GET, or async switched off: the replica gets it (here: the endpoint has
    no replica and holds it until the short hold timeout)."""
    intake = RecordingIntake()
    off = ASYNC_SPEC.model_copy(update={"async_config": AsyncConfig(enabled=False)})
    async with harness(tmp_path, intake=intake, hold_timeout=0.05) as h:
        on_id = h.add_endpoint("web", ASYNC_SPEC)
        off_id = h.add_endpoint("off", off)
        await h.routes.refresh(h.store)
        base = f"/tir/project/p-{h.project_id}/endpoint/is-"
        answers = [
            await h.call("POST", f"{base}{on_id}/v1/completions", CHAT),
            await h.call("GET", f"{base}{on_id}/v1/chat/completions"),
            await h.call("POST", f"{base}{off_id}/v1/chat/completions", CHAT),
        ]
    assert [a.status for a in answers] == [503, 503, 503]
    assert not intake.calls
