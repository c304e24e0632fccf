"""Application: carry out the planner's decisions against the store and the runtime.

Every replica transition is a compare-and-set on the state observed this tick and writes one
event. A decision that meets a replica in another state (Conflict) is dropped: the next tick
looks again. Every store write carries the controller's lease fence (LeaseLost when refused).
A process to stop is stopped in the background (controller/stopping.py): its replica is left
alone until the process is gone, then the decision that stopped it is carried out.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

from modelport.clock import Clock
from modelport.controller.facts import PlannerPolicy
from modelport.controller.fetching import ModelStaging
from modelport.controller.observe import AdapterLookup
from modelport.controller.probes import ProbeRunner
from modelport.controller.stopping import Stopper
from modelport.domain.decisions import (
    CreateReplica,
    Decision,
    DeleteEndpoint,
    DrainReplica,
    EventReason,
    FailReplica,
    HoldPending,
    LaunchReplica,
    MarkNotReady,
    MarkReady,
    ReplicaReason,
    RestartReplica,
    StopReplica,
    reason_text,
)
from modelport.domain.errors import (
    Conflict,
    ImagePullFailed,
    InvalidSpec,
    ModelUnavailable,
    NotFound,
    PermanentError,
    ReplicaPreparing,
    TemporaryError,
)
from modelport.domain.launch import LaunchContext, RegistryLogin
from modelport.domain.records import Endpoint, EventLevel, LeaseFence, Replica, ReplicaHandle
from modelport.domain.specs import Framework
from modelport.domain.states import LIVE_REPLICA_STATES, ReplicaState
from modelport.engines.install_status import EngineInstall, InstallState, read_install
from modelport.runtime.base import ProcessState, RuntimeBackend
from modelport.security.secrets import SecretBox
from modelport.services import spec_secrets
from modelport.store.base import Store

log = logging.getLogger(__name__)

# (project_id, integration ref, field) -> the registry login it holds (services/integrations.py).
RegistryLookup = Callable[[int, str, str], RegistryLogin]
REGISTRY_FIELD = "spec.model.registry_integration"
# An engine's install on this host as its installer last wrote it (engines/install_status.py).
EngineInstalls = Callable[[Framework], EngineInstall | None]

_LEVELS = {
    EventReason.REPLICA_NOT_READY: EventLevel.WARNING,
    EventReason.REPLICA_CRASHED: EventLevel.WARNING,
    EventReason.LIVENESS_FAILED: EventLevel.WARNING,
    EventReason.STARTUP_TIMEOUT: EventLevel.WARNING,
    EventReason.INSUFFICIENT_CAPACITY: EventLevel.WARNING,
    EventReason.LAUNCH_DEFERRED: EventLevel.WARNING,
    EventReason.ENGINE_UNAVAILABLE: EventLevel.ERROR,
    EventReason.INVALID_SPEC: EventLevel.ERROR,
    EventReason.IMAGE_PULL_FAILED: EventLevel.ERROR,
    EventReason.LAUNCH_FAILED: EventLevel.ERROR,
    EventReason.MODEL_UNAVAILABLE: EventLevel.ERROR,
    EventReason.RECONCILE_ERROR: EventLevel.ERROR,
}


class Applier:
    def __init__(
        self,
        store: Store,
        runtime: RuntimeBackend,
        box: SecretBox,
        clock: Clock,
        adapters: AdapterLookup,
        policy: PlannerPolicy,
        stop_grace_seconds: float,
        probes: ProbeRunner,
        routes_changed: Callable[[], None] = lambda: None,
        fence: Callable[[], LeaseFence | None] = lambda: None,
        models: ModelStaging | None = None,
        registry_login: RegistryLookup | None = None,
        keep_lease: Callable[[], Awaitable[None]] | None = None,
        engine_installs: EngineInstalls = read_install,
    ) -> None:
        self._store = store
        self._runtime = runtime
        self._box = box
        self._clock = clock
        self._adapters = adapters
        self._policy = policy
        self._grace = stop_grace_seconds
        self._probes = probes
        # Told when a replica enters or leaves READY, so the gateway need not wait for its poll.
        self._routes_changed = routes_changed
        # The lease fence for each write and runtime action; raises LeaseLost to stop acting.
        self._fence = fence
        self._stopper = Stopper(runtime, stop_grace_seconds)
        self._models = models  # fetches model files before launch; None: nothing to fetch
        # A private image's registry login, looked up at each launch: a rotated integration
        # reaches the next replica without editing the endpoint.
        self._registry_login = registry_login
        # Renews the lease when a tick has run long: a launch may take seconds (a container's
        # create and start on a loaded host), and a lease lost after it leaves an orphan.
        self._keep_lease = keep_lease
        # An engine being installed in the background (`make run`): its replicas wait for it.
        self._engine_installs = engine_installs

    async def apply(
        self, endpoint: Endpoint, replicas: Sequence[Replica], decisions: Sequence[Decision]
    ) -> None:
        by_id = {r.id: r for r in replicas}
        for decision in decisions:
            try:
                await self._apply_one(endpoint, by_id, decision)
            except (Conflict, NotFound) as exc:
                log.info("endpoint %s: skipped %s: %s", endpoint.name, decision, exc.message)

    def abandon_stops(self) -> None:
        self._stopper.abandon()

    def forget_stops_but(self, replica_ids: set[int]) -> None:
        self._stopper.forget_all_but(replica_ids)

    async def wait_for_stops(self) -> None:
        await self._stopper.wait()

    async def close(self) -> None:
        await self._stopper.close()

    async def _apply_one(
        self, endpoint: Endpoint, by_id: dict[int, Replica], decision: Decision
    ) -> None:
        # Every decision about one replica carries its id; a replica being stopped is left
        # alone until its process is gone, then the decision that stopped it is carried out.
        replica_id: int | None = getattr(decision, "replica_id", None)
        if replica_id is not None and self._stopper.stopping(replica_id):
            began = await self._stopper.outcome(replica_id)
            if began is None:
                return
            decision = began
        match decision:
            case CreateReplica():
                await self._create(endpoint, decision)
            case DeleteEndpoint():
                await asyncio.to_thread(
                    partial(self._store.delete_endpoint, decision.endpoint_id, fence=self._fence())
                )
                log.info("endpoint %s (id %d) deleted", endpoint.name, endpoint.id)
            case LaunchReplica():
                await self._launch(endpoint, by_id[decision.replica_id])
            case HoldPending():
                await self._requeue(
                    endpoint,
                    by_id[decision.replica_id],
                    ReplicaReason.INSUFFICIENT_CAPACITY,
                    decision.message,  # the planner compares it to say this only once
                    f"replica {decision.replica_id} waits for capacity: {decision.message}",
                    not_before=self._clock.now(),
                )
            case MarkReady():
                replica = by_id[decision.replica_id]
                message = f"replica {replica.id} is ready (generation {replica.generation})"
                await self._move(
                    endpoint, replica, ReplicaState.READY, ReplicaReason.REPLICA_READY, message
                )
            case MarkNotReady():
                await self._move(
                    endpoint,
                    by_id[decision.replica_id],
                    ReplicaState.STARTING,
                    ReplicaReason.REPLICA_NOT_READY,
                    f"{decision.message}; out of traffic until it passes again",
                )
            case FailReplica():
                await self._fail(endpoint, by_id[decision.replica_id], decision)
            case RestartReplica():
                replica = by_id[decision.replica_id]
                # The cause stays in view while the replica waits: "ImagePullFailed: ...".
                message = (
                    f"replica {replica.id} restarts in {decision.delay_seconds:g}s "
                    f"(restart {replica.restart_count + 1}) after "
                    f"{reason_text(replica.reason, replica.detail)}"
                )
                await self._move(
                    endpoint,
                    replica,
                    ReplicaState.PENDING,
                    ReplicaReason.RESTART_SCHEDULED,
                    message,
                    next_attempt_at=decision.not_before,
                    count_restart=True,
                )
            case DrainReplica():
                replica = by_id[decision.replica_id]
                message = f"replica {replica.id} draining ({decision.message})"
                await self._move(
                    endpoint,
                    replica,
                    ReplicaState.DRAINING,
                    ReplicaReason.REPLICA_DRAINING,
                    message,
                )
            case StopReplica():
                await self._stop(endpoint, by_id[decision.replica_id], decision)

    async def _create(self, endpoint: Endpoint, decision: CreateReplica) -> None:
        now = self._clock.now()
        if decision.starts_rollout:
            message = f"rolling out generation {decision.generation}, one replica at a time"
            await self.event(endpoint, EventReason.ROLLOUT_STARTED, message)
        replica = await asyncio.to_thread(
            partial(
                self._store.create_replica,
                endpoint.id,
                decision.generation,
                now,
                fence=self._fence(),
            )
        )
        message = f"replica {replica.id} created (generation {replica.generation})"
        await self.event(endpoint, EventReason.REPLICA_CREATED, message, replica.id)

    async def _launch(self, endpoint: Endpoint, replica: Replica) -> None:
        spec = endpoint.spec
        # First the model's files (whatever runs them: a process, a container): fetched in the
        # background while the replica waits PENDING; a source that cannot be fetched fails it.
        model_path: str | None = None
        if self._models is not None:
            try:
                staged = await self._models.stage(endpoint, replica, self.event)
            except ModelUnavailable as exc:
                unavailable = ReplicaReason.MODEL_UNAVAILABLE
                await self._fail_launch(endpoint, replica, unavailable, exc.message)
                return
            if staged is None:
                return  # still fetching; launched once the files are here
            model_path = staged.path
        adapter = self._adapters(spec.framework)
        install = await asyncio.to_thread(self._engine_installs, spec.framework)
        if install is not None and install.state is InstallState.RUNNING:
            await self._engine_installing(endpoint, replica, install)
            return
        missing = adapter.available()
        if missing is not None:
            if install is not None and install.state is InstallState.FAILED:
                missing = f"{missing}; {install.failure_text()}"  # the log, not "not installed"
            await self._fail_launch(endpoint, replica, ReplicaReason.ENGINE_UNAVAILABLE, missing)
            return
        if self._keep_lease is not None:
            await self._keep_lease()
        self._fence()  # a runtime action: only while the lease is ours
        key = f"{endpoint.name}-r{replica.id}-g{replica.generation}"
        placed: RuntimeBackend | None = None  # what holds a placement until the start
        try:
            backend = self._runtime.select(spec.runtime)  # PermanentError: not on this server
            slot = await backend.place(key, spec.resources)
            placed = backend
            env = spec_secrets.engine_environment(spec, self._box)
            ctx = LaunchContext(
                host=slot.host,
                port=slot.port,
                env=env,
                name=endpoint.name,
                replica_key=secrets.token_urlsafe(32),  # only the gateway and probes send it
                model_path=model_path,
                registry=await self._registry(endpoint),
            )
            plan = adapter.plan(spec_secrets.unseal(spec, self._box), ctx)
            # The resolved probes go with the replica, so the controller never re-plans it.
            probes = {"readiness": plan.readiness, "liveness": plan.liveness}
            handle = (await backend.start(key, plan)).model_copy(update=probes)
            placed = None  # the started replica owns it now
            if plan.replica_key is not None:  # sealed: survives a restart, never shown
                handle = handle.model_copy(
                    update={"sealed_key": self._box.encrypt(plan.replica_key)}
                )
        except InvalidSpec as exc:
            await self._fail_launch(endpoint, replica, ReplicaReason.INVALID_SPEC, exc.message)
            return
        except TemporaryError as exc:
            if isinstance(exc, ReplicaPreparing) and not exc.began:
                # A pull already announced: only the detail follows its progress, no event.
                pending = partial(
                    self._store.set_pending_reason,
                    replica.id,
                    reason=ReplicaReason.LAUNCH_DEFERRED,
                    detail=exc.message,
                    now=self._clock.now(),
                    next_attempt_at=self._after(exc.delay),
                    fence=self._fence(),
                )
                await asyncio.to_thread(pending)
                return
            message = f"replica {replica.id} cannot start yet: {exc.message}"
            await self._requeue(
                endpoint,
                replica,
                ReplicaReason.LAUNCH_DEFERRED,
                exc.message,
                message,
                not_before=self._after(exc.delay),
            )
            return
        except ImagePullFailed as exc:
            await self._fail_launch(endpoint, replica, ReplicaReason.IMAGE_PULL_FAILED, exc.message)
            return
        except PermanentError as exc:
            await self._fail_launch(endpoint, replica, ReplicaReason.LAUNCH_FAILED, exc.message)
            return
        finally:
            if placed is not None:  # not started after all: give back what place() holds
                await placed.release(key)
        message = (
            f"replica {replica.id} starting (generation {replica.generation}) "
            f"on {handle.host}:{handle.port}" + (f" (node {handle.node})" if handle.node else "")
        )
        starting = ReplicaReason.REPLICA_STARTING
        try:
            await self._transition(replica, ReplicaState.STARTING, starting, message, handle=handle)
        except Exception:
            self._stopper.stop_orphan(handle)  # no record owns this process
            raise
        await self.event(endpoint, EventReason.REPLICA_STARTING, message, replica.id)

    async def _engine_installing(
        self, endpoint: Endpoint, replica: Replica, install: EngineInstall
    ) -> None:
        """Keep the replica PENDING EngineInstalling while its engine is being installed: one
        event when it starts waiting, then only the detail follows the install's progress."""
        detail = install.waiting_text(self._clock.now())
        waiting = replica.reason is ReplicaReason.ENGINE_INSTALLING
        if waiting and replica.detail == detail:
            return  # nothing new to say; asked again next tick
        message = None if waiting else f"replica {replica.id} waits for its engine: {detail}"
        await self._requeue(
            endpoint,
            replica,
            ReplicaReason.ENGINE_INSTALLING,
            detail,
            message,
            not_before=self._clock.now(),
        )

    async def _registry(self, endpoint: Endpoint) -> RegistryLogin | None:
        """The login for the spec's private image, decrypted now (InvalidSpec when the
        integration is gone or of another kind)."""
        ref = endpoint.spec.model.registry_integration
        if ref is None or self._registry_login is None:
            return None
        lookup = partial(self._registry_login, endpoint.project_id, ref, REGISTRY_FIELD)
        return await asyncio.to_thread(lookup)

    async def _fail_launch(
        self, endpoint: Endpoint, replica: Replica, reason: ReplicaReason, why: str
    ) -> None:
        delay = self._policy.backoff(replica.restart_count)
        message = f"replica {replica.id} cannot start: {why}; retrying in {delay:g}s"
        await self._move(endpoint, replica, ReplicaState.FAILED, reason, message)

    async def _fail(self, endpoint: Endpoint, replica: Replica, decision: FailReplica) -> None:
        if decision.kill and await self._stopping(endpoint, replica, decision):
            return
        await self._move(endpoint, replica, ReplicaState.FAILED, decision.reason, decision.message)
        self._probes.forget(replica.id)

    async def _stopping(self, endpoint: Endpoint, replica: Replica, cause: Decision) -> bool:
        """True while the replica's process must still be stopped: begins its stop in the
        background (once) and takes a READY replica out of traffic meanwhile."""
        handle = replica.handle
        if replica.state not in LIVE_REPLICA_STATES or handle is None:
            return False
        if (await self._runtime.status(handle)).state is not ProcessState.RUNNING:
            return False
        self._fence()  # a runtime action: only while the lease is ours
        message = (
            f"replica {replica.id} stopping: SIGTERM sent, SIGKILL if it still runs "
            f"after {self._grace:g}s"
        )
        if replica.state is ReplicaState.READY:
            stopping = ReplicaReason.REPLICA_STOPPING
            await self._transition(replica, ReplicaState.STARTING, stopping, message)
        self._stopper.begin(replica.id, handle, cause)
        await self.event(endpoint, EventReason.REPLICA_STOPPING, message, replica.id)
        return True

    async def _stop(self, endpoint: Endpoint, replica: Replica, decision: StopReplica) -> None:
        if await self._stopping(endpoint, replica, decision):
            return
        message = f"replica {replica.id} stopped ({decision.message})"
        await self._move(
            endpoint, replica, ReplicaState.STOPPED, ReplicaReason.REPLICA_STOPPED, message
        )
        # The history stays in events.
        await asyncio.to_thread(
            partial(self._store.delete_replica, replica.id, fence=self._fence())
        )
        self._probes.forget(replica.id)
        if decision.completes_rollout:
            message = f"every replica runs generation {endpoint.template_generation}"
            await self.event(endpoint, EventReason.ROLLOUT_COMPLETE, message)

    async def _requeue(
        self,
        endpoint: Endpoint,
        replica: Replica,
        reason: ReplicaReason,
        detail: str,
        message: str | None,
        *,
        not_before: datetime,
    ) -> None:
        """Keep a replica PENDING with a new reason, detail and retry time (one compare-and-set
        in place: it never passes through FAILED), then write one event (`message`; None: no
        event, only the detail moved on)."""
        await asyncio.to_thread(
            partial(
                self._store.set_pending_reason,
                replica.id,
                reason=reason,
                detail=detail,
                now=self._clock.now(),
                next_attempt_at=not_before,
                fence=self._fence(),
            )
        )
        if message is not None:
            await self.event(endpoint, reason.event, message, replica.id)

    async def _move(
        self,
        endpoint: Endpoint,
        replica: Replica,
        new: ReplicaState,
        reason: ReplicaReason,
        message: str,
        *,
        next_attempt_at: datetime | None = None,
        count_restart: bool = False,
    ) -> None:
        """Transition the replica from its observed state (the event's message is its detail),
        then write the event."""
        await self._transition(
            replica,
            new,
            reason,
            message,
            next_attempt_at=next_attempt_at,
            count_restart=count_restart,
        )
        await self.event(endpoint, reason.event, message, replica.id)

    async def _transition(
        self,
        replica: Replica,
        new: ReplicaState,
        reason: ReplicaReason,
        detail: str,
        *,
        handle: ReplicaHandle | None = None,
        next_attempt_at: datetime | None = None,
        count_restart: bool = False,
    ) -> None:
        await asyncio.to_thread(
            partial(
                self._store.transition_replica,
                replica.id,
                replica.state,
                new,
                reason=reason,
                detail=detail,
                now=self._clock.now(),
                handle=handle,
                next_attempt_at=next_attempt_at,
                count_restart=count_restart,
                fence=self._fence(),
            )
        )
        if ReplicaState.READY in (replica.state, new):
            self._routes_changed()

    async def event(
        self, endpoint: Endpoint, reason: EventReason, message: str, replica_id: int | None = None
    ) -> None:
        await asyncio.to_thread(
            partial(
                self._store.add_event,
                endpoint.id,
                level=_LEVELS.get(reason, EventLevel.INFO),
                reason=reason.value,
                message=message,
                now=self._clock.now(),
                replica_id=replica_id,
                fence=self._fence(),
            )
        )

    def _after(self, seconds: float) -> datetime:
        return self._clock.now() + timedelta(seconds=seconds)
