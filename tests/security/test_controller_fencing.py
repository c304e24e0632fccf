"""Issue 6, controller: a replica that ignores SIGTERM must not stall the controller, and two
controllers must never act at once.

Real parts: one store (a SQLite file, and a real PostgreSQL) that each controller opens on its
own engine, each controller with its own local runtime (as two processes would have), and
replicas that are real processes listening on their port; the "slow" one ignores SIGTERM and
exits only when the test lets it (or on SIGKILL). Every store write of each controller is
recorded in commit order (one lock around each write), with the fence it carried and whether it
landed.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from modelport.clock import Clock, FakeClock, SystemClock
from modelport.controller.loop import LEASE_NAME, Controller
from modelport.domain.decisions import ReplicaReason
from modelport.domain.errors import LeaseLost
from modelport.domain.records import (
    Endpoint,
    Event,
    EventLevel,
    LeaseFence,
    Project,
    Replica,
    ReplicaHandle,
)
from modelport.domain.specs import EndpointSpec, Framework
from modelport.domain.states import DesiredState, ReplicaState
from modelport.runtime.isolation import ReplicaIsolation
from modelport.runtime.local import LocalRuntime
from modelport.security.secrets import SecretBox
from modelport.services.spec_secrets import seal
from modelport.settings import Settings
from modelport.store import SqlStore, open_store
from modelport.store.engine import make_engine
from tests.support.postgres import postgres_server, postgres_url
from tests.support.server import kill_process_groups, pid_alive

__all__ = ["postgres_server", "postgres_url"]

pytestmark = pytest.mark.timeout(240)

# Listens on argv[1] (a TCP readiness probe passes) until the file argv[2] exists.
_REPLICA = """
import os, signal, socket, sys, time
{ignore}
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
"""
IGNORES_SIGTERM = textwrap.dedent(
    _REPLICA.format(ignore="signal.signal(signal.SIGTERM, signal.SIG_IGN)")
)
PLAIN = textwrap.dedent(_REPLICA.format(ignore=""))
# Accepts every connection on argv[1] and never answers (a hung engine), until the file argv[2]
# exists; marks argv[2] + ".accepted" per connection and argv[2] + ".closed" when a caller
# hangs up.
SILENT = textwrap.dedent("""
import os, select, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
conns = []
while not os.path.exists(sys.argv[2]):
    for c in select.select([s, *conns], [], [], 0.05)[0]:
        if c is s:
            conns.append(s.accept()[0])
            open(sys.argv[2] + ".accepted", "a").close()
        elif not c.recv(65536):
            conns.remove(c)
            open(sys.argv[2] + ".closed", "a").close()
""")
WRITES = (
    "create_replica",
    "transition_replica",
    "set_pending_reason",
    "delete_replica",
    "add_event",
    "delete_endpoint",
)


@dataclass(frozen=True)
class Write:
    holder: str
    method: str
    generation: int | None  # the fence's; for try_acquire_lease, the generation won
    landed: bool
    live_per_endpoint: dict[int, int] = field(default_factory=dict)  # after a create


class Ledger:
    """Every controller write, in commit order: the lock is held across each store call."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes: list[Write] = []

    def of(self, holder: str, method: str | None = None) -> list[Write]:
        return [w for w in self.writes if w.holder == holder and method in (None, w.method)]

    def check_one_actor_at_a_time(self) -> None:
        """Each landed write carries the generation of the latest lease acquisition, made by
        the same holder: no write of a deposed controller landed after a takeover."""
        term: tuple[str, int] | None = None
        for write in self.writes:
            if write.method == "try_acquire_lease":
                if write.landed:
                    assert write.generation is not None
                    assert term is None or write.generation >= term[1]
                    term = (write.holder, write.generation)
            elif write.landed:
                assert term == (write.holder, write.generation), (
                    f"{write} landed while the lease was {term}"
                )


class RecordingStore(SqlStore):
    """The real store, on its own engine, recording one controller's writes into a Ledger."""

    def __init__(self, url: str, clock: Clock, ledger: Ledger, holder: str) -> None:
        super().__init__(make_engine(url), clock)
        self.ledger = ledger
        self.holder = holder
        self.before_write: Callable[[str], None] = lambda _method: None

    def _record(self, method: str, fence: LeaseFence | None, call: Callable[[], object]) -> None:
        self.before_write(method)
        with self.ledger.lock:
            try:
                call()
            except LeaseLost:
                self.ledger.writes.append(Write(self.holder, method, _gen(fence), landed=False))
                raise
            live: dict[int, int] = {}
            if method == "create_replica":
                for replica in self.list_replicas():
                    if replica.state is not ReplicaState.DRAINING:
                        live[replica.endpoint_id] = live.get(replica.endpoint_id, 0) + 1
            self.ledger.writes.append(Write(self.holder, method, _gen(fence), True, live))

    def try_acquire_lease(
        self, name: str, holder: str, ttl_seconds: float, now: datetime
    ) -> LeaseFence | None:
        with self.ledger.lock:
            fence = super().try_acquire_lease(name, holder, ttl_seconds, now)
            if name == LEASE_NAME:
                won = Write(holder, "try_acquire_lease", _gen(fence), fence is not None)
                self.ledger.writes.append(won)
            return fence

    def create_replica(
        self, endpoint_id: int, generation: int, now: datetime, *, fence: LeaseFence | None = None
    ) -> Replica:
        out: list[Replica] = []
        create = super().create_replica
        self._record(
            "create_replica",
            fence,
            lambda: out.append(create(endpoint_id, generation, now, fence=fence)),
        )
        return out[0]

    def transition_replica(
        self,
        replica_id: int,
        expected: ReplicaState,
        new: ReplicaState,
        *,
        now: datetime,
        reason: ReplicaReason | None = None,
        detail: str = "",
        handle: ReplicaHandle | None = None,
        next_attempt_at: datetime | None = None,
        count_restart: bool = False,
        fence: LeaseFence | None = None,
    ) -> Replica:
        out: list[Replica] = []
        move = super().transition_replica
        self._record(
            "transition_replica",
            fence,
            lambda: out.append(
                move(
                    replica_id,
                    expected,
                    new,
                    reason=reason,
                    detail=detail,
                    now=now,
                    handle=handle,
                    next_attempt_at=next_attempt_at,
                    count_restart=count_restart,
                    fence=fence,
                )
            ),
        )
        return out[0]

    def set_pending_reason(
        self,
        replica_id: int,
        *,
        reason: ReplicaReason,
        detail: str,
        now: datetime,
        next_attempt_at: datetime,
        fence: LeaseFence | None = None,
    ) -> Replica:
        out: list[Replica] = []
        hold = super().set_pending_reason
        self._record(
            "set_pending_reason",
            fence,
            lambda: out.append(
                hold(
                    replica_id,
                    reason=reason,
                    detail=detail,
                    now=now,
                    next_attempt_at=next_attempt_at,
                    fence=fence,
                )
            ),
        )
        return out[0]

    def delete_replica(self, replica_id: int, *, fence: LeaseFence | None = None) -> None:
        delete = super().delete_replica
        self._record("delete_replica", fence, lambda: delete(replica_id, fence=fence))

    def add_event(
        self,
        endpoint_id: int,
        *,
        level: EventLevel,
        reason: str,
        message: str,
        now: datetime,
        replica_id: int | None = None,
        fence: LeaseFence | None = None,
    ) -> Event:
        out: list[Event] = []
        add = super().add_event
        self._record(
            "add_event",
            fence,
            lambda: out.append(
                add(
                    endpoint_id,
                    level=level,
                    reason=reason,
                    message=message,
                    now=now,
                    replica_id=replica_id,
                    fence=fence,
                )
            ),
        )
        return out[0]

    def delete_endpoint(self, endpoint_id: int, *, fence: LeaseFence | None = None) -> None:
        delete = super().delete_endpoint
        self._record("delete_endpoint", fence, lambda: delete(endpoint_id, fence=fence))


def _gen(fence: LeaseFence | None) -> int | None:
    return None if fence is None else fence.generation


@dataclass
class Site:
    """One store file, one host, two projects, and the controllers on them (each with its own
    store engine and runtime, as separate control-plane processes would have)."""

    url: str
    tmp: Path
    admin: SqlStore  # the API's view: unfenced, unrecorded
    box: SecretBox
    settings: Settings
    ledger: Ledger
    projects: list[Project]
    stores: list[RecordingStore] = field(default_factory=list)

    def controller(self, holder: str, clock: Clock | None = None) -> Controller:
        clock = clock or SystemClock()
        store = RecordingStore(self.url, clock, self.ledger, holder)
        self.stores.append(store)
        runtime = LocalRuntime(self.tmp / "logs", isolation=ReplicaIsolation(self.tmp / "replicas"))
        return Controller(store, runtime, self.box, clock, self.settings, holder_id=holder)

    def create(self, name: str, script: str, project: int = 0, **fields: object) -> Endpoint:
        release = self.tmp / f"release-{name}"
        spec = EndpointSpec.model_validate(
            {
                "framework": Framework.CUSTOM,
                "command": [sys.executable, "-c", script, "{port}", str(release)],
                "replicas": 1,
                **fields,
            }
        )
        sealed = seal(spec, self.box)
        owner = self.projects[project].id
        return self.admin.create_endpoint(owner, name, sealed, sealed.model_dump_json())

    def release(self, endpoint: Endpoint) -> None:
        """Let the endpoint's replica process exit on its own."""
        (self.tmp / f"release-{endpoint.name}").touch()

    def replicas(self, endpoint: Endpoint) -> list[Replica]:
        return list(self.admin.list_replicas(endpoint.id))

    def state(self, endpoint: Endpoint) -> list[ReplicaState]:
        return [r.state for r in self.replicas(endpoint)]

    def reasons(self, endpoint: Endpoint) -> list[str]:
        return [e.reason for e in self.admin.list_events(endpoint.id, limit=10_000)]

    def pid(self, endpoint: Endpoint) -> int:
        [replica] = self.replicas(endpoint)
        assert replica.handle is not None and replica.handle.pid is not None
        return replica.handle.pid

    def stop_endpoint(self, endpoint: Endpoint) -> None:
        self.admin.update_endpoint(
            endpoint.id, expected_generation=None, desired_state=DesiredState.STOPPED
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'modelport.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    url = database_url
    admin = open_store(url)
    settings = Settings(
        home=tmp_path / "home",
        reconcile_interval=0.2,  # lease: 1 s, acted on for 0.6 s after each renewal
        stop_grace_seconds=60.0,  # longer than any test waits: a stop that blocks shows
        backoff_initial=0.2,
        backoff_max=1.0,
    )
    world = Site(
        url=url,
        tmp=tmp_path,
        admin=admin,
        box=SecretBox(Fernet.generate_key()),
        settings=settings,
        ledger=Ledger(),
        projects=[admin.create_project("team-a"), admin.create_project("team-b")],
    )
    try:
        yield world
    finally:
        pids = [
            r.handle.pid
            for r in admin.list_replicas(include_stopped=True)
            if r.handle is not None and r.handle.pid is not None
        ]
        kill_process_groups(pids)
        for store in world.stores:
            store.close()
        admin.close()


async def until(done: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait on a condition (polling the store / the host), failing after a generous bound."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def running() -> AsyncIterator[Callable[[Controller], asyncio.Event]]:
    """Run controllers' loops; each gets its own stop event. All are stopped at the end."""
    tasks: list[tuple[asyncio.Event, asyncio.Task[None]]] = []
    controllers: list[Controller] = []

    def start(controller: Controller) -> asyncio.Event:
        stop = asyncio.Event()
        tasks.append((stop, asyncio.create_task(controller.run(stop))))
        controllers.append(controller)
        return stop

    yield start
    for stop, _ in tasks:
        stop.set()
    await asyncio.gather(*(task for _, task in tasks), return_exceptions=True)
    await asyncio.gather(*(c.shutdown() for c in controllers))  # cancels probes in flight


async def test_two_controllers_with_a_sigterm_ignoring_replica_never_both_act(
    site: Site, running: Callable[[Controller], asyncio.Event]
) -> None:
    a = site.controller("a")
    stop_a = running(a)
    await until(lambda: any(w.landed for w in site.ledger.of("a", "try_acquire_lease")), "a leads")
    stop_b = running(site.controller("b"))

    slow = site.create("slow", IGNORES_SIGTERM)
    await until(lambda: site.state(slow) == [ReplicaState.READY], "slow is ready")
    pid = site.pid(slow)

    # The stop of a replica that ignores SIGTERM is pending for the whole grace period ...
    site.stop_endpoint(slow)
    await until(lambda: "ReplicaStopping" in site.reasons(slow), "a begins the stop")
    renewals = len(site.ledger.of("a", "try_acquire_lease"))
    # ... yet a keeps ticking (each tick renews the lease first) ...
    await until(lambda: len(site.ledger.of("a", "try_acquire_lease")) >= renewals + 3, "a ticks on")
    # ... and another project's new endpoint is launched and becomes ready meanwhile.
    fresh = site.create("fresh", PLAIN, project=1)
    await until(lambda: site.state(fresh) == [ReplicaState.READY], "fresh is ready")
    assert pid_alive(pid), "the slow replica ignored SIGTERM: its stop is still under way"
    assert site.state(slow) == [ReplicaState.DRAINING], "its record waits for the process"

    # a goes away mid-stop (its stop is abandoned); b takes over and stops the replica anew.
    stop_a.set()
    await until(lambda: any(w.landed for w in site.ledger.of("b", "try_acquire_lease")), "b leads")
    await until(lambda: site.reasons(slow).count("ReplicaStopping") == 2, "b begins the stop")
    assert pid_alive(pid) and site.state(slow) == [ReplicaState.DRAINING]

    # A restarted a stands by; b goes away; the new a takes over and finishes the stop once
    # the process is gone.
    a_again = site.controller("a-again")
    running(a_again)
    stop_b.set()
    await until(
        lambda: any(w.landed for w in site.ledger.of("a-again", "try_acquire_lease")),
        "a-again leads",
    )
    site.release(slow)
    await until(lambda: site.replicas(slow) == [], "the stopped replica's record is gone")
    assert not pid_alive(pid)
    assert site.state(fresh) == [ReplicaState.READY]

    ledger = site.ledger
    ledger.check_one_actor_at_a_time()
    creates = [w for w in ledger.writes if w.method == "create_replica" and w.landed]
    assert len(creates) == 2, "one replica record per endpoint, never a second"
    assert all(count <= 1 for w in creates for count in w.live_per_endpoint.values())
    holders = [w.holder for w in ledger.writes if w.method != "try_acquire_lease" and w.landed]
    assert {"a", "b", "a-again"} <= set(holders), "each acted in its own term"
    assert [w for w in ledger.writes if not w.landed and w.method in WRITES] == [], (
        "a graceful handover needs no refusal: the deposed stop acting before the lease passes"
    )


async def test_a_controller_paused_past_its_lease_cannot_write_after_the_takeover(
    site: Site,
) -> None:
    """The finding: a tick longer than the lease let a standby take over mid-tick, and both
    created a replica. Here a stalls inside its tick (as a paused process would: its own clock
    says it still has time) while b takes over and acts; a's late write is refused."""
    clock_a, clock_b = FakeClock(), FakeClock()
    a, b = site.controller("a", clock_a), site.controller("b", clock_b)
    [store_a, _] = site.stores
    slow = site.create("slow", IGNORES_SIGTERM)

    about_to_write = threading.Event()
    resume = threading.Event()

    def stall_first_create(method: str) -> None:
        if method == "create_replica" and not about_to_write.is_set():
            about_to_write.set()
            assert resume.wait(60)

    store_a.before_write = stall_first_create
    a_tick = asyncio.create_task(a.tick_if_leader())
    await until(about_to_write.is_set, "a is inside its tick, about to create the replica")

    clock_b.advance(60)  # long past a's lease (b's wall clock is what the store compares)
    assert await b.tick_if_leader(), "b takes over the expired lease"
    [created] = site.replicas(slow)
    clock_b.advance(1)
    assert await b.tick_if_leader()
    assert site.state(slow) == [ReplicaState.STARTING], "b launched it"

    resume.set()
    assert await a_tick is False, "a's tick ended at the refused write"
    assert [r.id for r in site.replicas(slow)] == [created.id], "still one replica record"
    refused = [w for w in site.ledger.of("a") if w.method in WRITES and not w.landed]
    assert [w.method for w in refused] == ["create_replica"]
    b_took_over = next(
        i
        for i, w in enumerate(site.ledger.writes)
        if w.holder == "b" and w.method == "try_acquire_lease" and w.landed
    )
    assert [w for w in site.ledger.writes[b_took_over:] if w.holder == "a" and w.landed] == []
    site.ledger.check_one_actor_at_a_time()

    # a is a standby now: it neither acts nor takes the lease b renews.
    clock_a.advance(1)
    assert await a.tick_if_leader() is False
    assert site.state(slow) == [ReplicaState.STARTING]


async def test_a_pending_stop_never_holds_up_the_tick_and_ends_in_sigkill(
    site: Site,
) -> None:
    site.settings.stop_grace_seconds = 1.0  # this test waits for the SIGKILL
    clock = FakeClock()
    ctl = site.controller("solo", clock)
    slow = site.create("slow", IGNORES_SIGTERM)

    async def tick() -> None:
        assert await ctl.tick_if_leader()
        clock.advance(0.5)  # within the 1 s lease: one term throughout

    await tick()  # created
    await tick()  # launched
    await until(lambda: _listening(site, slow), "slow listens")
    while site.state(slow) != [ReplicaState.READY]:
        await tick()
    pid = site.pid(slow)

    site.stop_endpoint(slow)
    while "ReplicaStopping" not in site.reasons(slow):
        await tick()
    # The tick that began the stop has returned; the process still runs, SIGTERM ignored.
    assert pid_alive(pid)
    assert site.state(slow) == [ReplicaState.DRAINING]

    other = site.create("other", PLAIN, project=1)
    await tick()
    await tick()
    assert site.state(other) == [ReplicaState.STARTING], "launched while the stop is pending"
    assert site.reasons(slow).count("ReplicaStopping") == 1, "one stop, not one per tick"

    await until(lambda: not pid_alive(pid), "SIGKILL after the grace period")
    await ctl.wait_for_stops()
    await tick()
    assert site.replicas(slow) == []
    assert site.reasons(slow)[-1] == "ReplicaStopped"


async def test_a_hanging_readiness_probe_holds_up_neither_other_endpoints_nor_the_lease(
    site: Site, running: Callable[[Controller], asyncio.Event]
) -> None:
    """The finding: probes ran inside the tick, one after another, each for up to its timeout
    (600 s at most), so one replica that accepts connections and never answers held up every
    other endpoint and cost the leader its lease. Here its HTTP probe (timeout 60 s) stays in
    flight while another project's endpoint becomes ready and the leader renews its lease tick
    after tick, well past the lease's length, with a standby waiting for it to lapse."""
    a = site.controller("a")
    running(a)
    await until(lambda: any(w.landed for w in site.ledger.of("a", "try_acquire_lease")), "a leads")
    running(site.controller("b"))  # a standby: it takes the lease should a miss renewals

    hang = {"protocol": "http", "path": "/health", "timeout_seconds": 60, "period_seconds": 1}
    stuck = site.create("stuck", SILENT, readiness=hang)
    accepted, closed = (site.tmp / f"release-stuck.{m}" for m in ("accepted", "closed"))
    await until(accepted.exists, "stuck's readiness probe is connected and waiting")
    renewals = len(site.ledger.of("a", "try_acquire_lease"))

    fresh = site.create("fresh", PLAIN, project=1)
    await until(lambda: site.state(fresh) == [ReplicaState.READY], "fresh is ready")
    ttl_ticks = 5  # controller/lease.py: the lease lasts 5 ticks past a renewal
    await until(
        lambda: len(site.ledger.of("a", "try_acquire_lease")) >= renewals + 2 * ttl_ticks,
        "a renews its lease for twice the lease's length",
    )
    assert not closed.exists(), "stuck's probe is still in flight: nothing waited for it"
    assert site.state(stuck) == [ReplicaState.STARTING], "and it counts nothing yet"

    mine = site.ledger.of("a", "try_acquire_lease")
    assert all(w.landed for w in mine), "a renewed every time"
    assert len({w.generation for w in mine}) == 1, "in one term: the lease never changed hands"
    assert not any(w.landed for w in site.ledger.of("b")), "b never took over"
    assert site.reasons(fresh).count("ReplicaReady") == 1
    site.ledger.check_one_actor_at_a_time()


def _listening(site: Site, endpoint: Endpoint) -> bool:
    """True once the replica's process accepts connections (what its TCP probe checks)."""
    [replica] = site.replicas(endpoint)
    handle = replica.handle
    if handle is None:
        return False
    with socket.socket() as probe:
        return probe.connect_ex((handle.host, handle.port)) == 0
