"""A controller on a real SqlStore (temp SQLite), a FakeRuntime, a FakeClock and a stub engine.

The stub engine's probes are exec probes, answered by the FakeRuntime: `ready` for readiness,
`alive` for liveness (both pass unless a test says otherwise with `runtime.set_probe`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from modelport.clock import FakeClock
from modelport.controller.loop import Controller
from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.records import Endpoint, Project, Replica, ReplicaHandle
from modelport.domain.specs import EndpointSpec, Framework, ProbeProtocol, ProbeSpec
from modelport.engines.base import EngineAdapter
from modelport.runtime.fake import FakeRuntime
from modelport.security.secrets import SecretBox
from modelport.services.spec_secrets import seal
from modelport.settings import Settings
from modelport.store.repositories import SqlStore, open_store

READY_PROBE = ProbeSpec(protocol=ProbeProtocol.EXEC, commands=["ready"], period_seconds=1)
ALIVE_PROBE = ProbeSpec(
    protocol=ProbeProtocol.EXEC, commands=["alive"], period_seconds=1, failure_threshold=3
)


class GatedRuntime(FakeRuntime):
    """A FakeRuntime whose exec probes of chosen processes hang until the test opens the gate
    (as a probe of a replica that never answers would); it records probes begun and cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.held: set[str] = set()  # replica key prefixes (endpoint names) whose probes hang
        self.begun: list[tuple[ReplicaHandle, str]] = []  # (handle, argv[0]) in call order
        self.cancelled: list[tuple[ReplicaHandle, str]] = []
        self._progress = asyncio.Condition()

    async def wait_begun(self, count: int) -> None:
        """Until `count` probes have begun (a task started by a tick runs once the test awaits)."""
        async with self._progress:
            await self._progress.wait_for(lambda: len(self.begun) >= count)

    def hold(self, prefix: str) -> None:
        self.held.add(prefix)

    def begun_for(self, handle: ReplicaHandle, command: str) -> int:
        return self.begun.count((handle, command))

    async def exec_probe(self, handle: ReplicaHandle, argv: list[str], timeout: float) -> bool:
        call = (handle, argv[0])
        async with self._progress:
            self.begun.append(call)
            self._progress.notify_all()
        process = self._find(handle)
        if process is not None and any(process.key.startswith(p) for p in self.held):
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled.append(call)
                raise
        return await super().exec_probe(handle, argv, timeout)


@dataclass
class StubEngine:
    """An engine adapter that plans `spec.command` and probes with exec probes."""

    framework: Framework = Framework.CUSTOM
    missing: str | None = None  # what available() reports
    error: Exception | None = None  # raised by plan()
    plans: list[LaunchPlan] = field(default_factory=list)

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        if self.error is not None:
            raise self.error
        plan = LaunchPlan(
            argv=[arg.replace("{port}", str(ctx.port)) for arg in spec.command],
            env=ctx.env,
            host=ctx.host,
            port=ctx.port,
            readiness=READY_PROBE,
            liveness=ALIVE_PROBE,
            replica_key=ctx.replica_key,  # as an engine that enforces a key
        )
        self.plans.append(plan)
        return plan

    def available(self) -> str | None:
        return self.missing


@dataclass
class World:
    store: SqlStore
    runtime: FakeRuntime
    clock: FakeClock
    box: SecretBox
    settings: Settings
    engines: dict[Framework, StubEngine]
    project: Project

    def controller(self, holder: str = "test") -> Controller:
        return Controller(
            self.store,
            self.runtime,
            self.box,
            self.clock,
            self.settings,
            holder_id=holder,
            adapters=self.adapter,
        )

    def adapter(self, framework: Framework) -> EngineAdapter:
        return self.engines[framework]

    def create(self, name: str = "chat", replicas: int = 2, **spec: object) -> Endpoint:
        fields: dict[str, object] = {"framework": Framework.CUSTOM, "command": ["serve", "{port}"]}
        fields.update(spec)
        validated = EndpointSpec.model_validate({**fields, "replicas": replicas})
        sealed = seal(validated, self.box)
        return self.store.create_endpoint(self.project.id, name, sealed, sealed.model_dump_json())

    def replicas(self, endpoint: Endpoint) -> list[Replica]:
        return list(self.store.list_replicas(endpoint.id))

    def reasons(self, endpoint: Endpoint) -> list[str]:
        return [e.reason for e in self.store.list_events(endpoint.id, limit=10_000)]

    async def ticks(self, controller: Controller, count: int, step: float = 1.0) -> None:
        for _ in range(count):
            await controller.tick()
            self.clock.advance(step)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock()
    store = open_store(f"sqlite:///{tmp_path / 'modelport.db'}", clock)
    settings = Settings(
        home=tmp_path / "home",
        reconcile_interval=1.0,
        backoff_initial=1.0,
        backoff_max=8.0,
        drain_seconds=30.0,
        stop_grace_seconds=0.1,
    )
    yield World(
        store=store,
        runtime=FakeRuntime(),
        clock=clock,
        box=SecretBox(Fernet.generate_key()),
        settings=settings,
        engines={Framework.CUSTOM: StubEngine()},
        project=store.create_project("team-a"),
    )
    store.close()
