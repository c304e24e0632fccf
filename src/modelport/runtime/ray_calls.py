"""Every call Modelport makes into Ray, in one place (as Ray Serve keeps its own behind one
client): connect, read the nodes, create / find / kill named detached actors, call them.

Blocking calls (connect, node and actor lookups, kills) are plain methods that runtime/ray.py
runs in a thread; actor method calls are awaited as Ray's own async refs, with a deadline, so
a hung node never holds the event loop nor a thread. Ray is imported on first use: a server
without the `ray` extra starts, and only its Ray runtime says what is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping
from typing import Any

from modelport.domain.errors import ModelportError, PermanentError, TemporaryError
from modelport.runtime.ray_fit import ActorAsk, RayNode

log = logging.getLogger("modelport.runtime.ray")


class ActorGone(Exception):
    """The actor is dead or was never created (its node died, it was killed)."""


class ActorUnreachable(Exception):
    """The actor did not answer in time; its node may be dying or only slow."""


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # the server was installed without the extra
        raise PermanentError(
            "runtime: 'ray' needs the ray package on the server (pip install 'modelport[ray]')"
        ) from exc
    return ray


def node_ip() -> str:
    """This node's address as Ray knows it (called inside an actor)."""
    ip: str = _ray().util.get_node_ip_address()
    return ip


def node_id() -> str:
    """This node's id (called inside an actor)."""
    found: str = _ray().get_runtime_context().get_node_id()
    return found


def actor_exists(name: str) -> bool:
    """Whether the named actor of this namespace lives (called inside an actor)."""
    try:
        _ray().get_actor(name)
    except ValueError:
        return False
    return True


class RayCalls:
    """One connection to one cluster, in one namespace (one per Modelport install)."""

    def __init__(self, address: str | None, namespace: str, start_local: bool = False) -> None:
        self.address = address
        self.namespace = namespace
        self.start_local = start_local
        self._lock = threading.Lock()
        self._handles: dict[str, Any] = {}  # actor name -> handle, found once
        self._groups: dict[str, Any] = {}  # placement group name -> the group, until removed

    def _joined(self) -> Any:
        """Ray, once connect() has joined the cluster: never Ray's own auto-start of a local
        cluster that some calls do when not connected."""
        ray = _ray()
        if not ray.is_initialized():
            raise TemporaryError("not connected to the Ray cluster yet", delay=1.0)
        return ray

    # --- blocking: run these in a thread --------------------------------------------------
    def connect(self) -> None:
        """ray.init once (idempotent). TemporaryError while the cluster does not answer."""
        ray = _ray()
        with self._lock:
            if ray.is_initialized():
                return
            if self.address is None and not self.start_local:
                raise PermanentError(
                    "runtime: 'ray' has no cluster: set MODELPORT_RAY_ADDRESS (auto, "
                    "ray://head:10001, head:6379) or MODELPORT_RAY_START_LOCAL=true"
                )
            try:
                ray.init(
                    address=self.address,  # None with start_local: a head of our own
                    namespace=self.namespace,
                    log_to_driver=False,  # replica output goes to its log file on its node
                    logging_level=logging.WARNING,
                    configure_logging=False,
                )
            except (ConnectionError, RuntimeError, TimeoutError) as exc:
                raise TemporaryError(
                    f"the Ray cluster at {self.address or 'a local head'} is not reachable "
                    f"({exc}); is it running and MODELPORT_RAY_ADDRESS right?",
                    delay=10.0,
                ) from exc
            log.info(
                "connected to Ray at %s, namespace %s",
                self.address or "a local head",
                self.namespace,
            )

    def nodes(self) -> list[RayNode]:
        """Every node Ray knows, with what is free on each where Ray tells (not over Ray Client)."""
        ray = self._joined()
        free: Mapping[str, Mapping[str, float]] = {}
        try:
            from ray._private.state import available_resources_per_node

            free = available_resources_per_node()  # type: ignore[no-untyped-call]
        except Exception as exc:  # Ray Client, or the developer API moved: totals only
            log.debug("free resources per node not known: %s", exc)
        return [
            RayNode(
                node_id=n["NodeID"],
                name=n.get("NodeName") or n["NodeManagerAddress"],
                address=n["NodeManagerAddress"],
                alive=bool(n["Alive"]),
                total=dict(n.get("Resources", {})),
                free=dict(free[n["NodeID"]]) if n["NodeID"] in free else None,
            )
            for n in ray.nodes()
        ]

    def create_group(self, name: str, bundles: list[dict[str, float]], strategy: str) -> None:
        """A detached named placement group: it outlives this server, as the actors in it."""
        util = self._joined().util
        group = util.placement_group(bundles, strategy=strategy, name=name, lifetime="detached")
        self._groups[name] = group  # its actors are created next, by this object

    def remove_group(self, name: str) -> None:
        """Remove the named placement group if there is one (its actors die with it)."""
        util = self._joined().util
        group = self._groups.pop(name, None)
        if group is None:
            try:
                group = util.get_placement_group(name)
            except ValueError:  # none by that name
                return
        util.remove_placement_group(group)

    def group_names(self) -> set[str]:
        """The names of this namespace's placement groups that are not removed."""
        util = self._joined().util
        table = util.placement_group_table().values()  # every namespace's
        named = {g["name"] for g in table if g.get("name") and g.get("state") != "REMOVED"}
        ours = set()
        for name in named:
            with contextlib.suppress(ValueError):  # another namespace's
                util.get_placement_group(name)
                ours.add(name)
        return ours

    def named_actors(self) -> list[str]:
        """The names of this namespace's actors (live or waiting to be scheduled)."""
        names: list[str] = self._joined().util.list_named_actors()
        return names

    def unscheduled(self) -> set[str]:
        """Names of actors (any namespace) Ray has not scheduled yet."""
        from ray._private.state import state

        table = state.actor_table(None, actor_state_name="PENDING_CREATION")
        return {info["Name"] for info in table.values() if info.get("Name")}

    def create(self, name: str, actor_class: type, ask: ActorAsk, *args: Any) -> None:
        """A detached named actor; Ray never restarts it (the controller replaces replicas).
        In a placement group it takes one bundle, else Ray spreads replicas over nodes."""
        ray = self._joined()
        remote = ray.remote(actor_class)
        strategy: Any = "SPREAD"  # replicas on as many nodes as hold them
        if ask.group is not None:
            from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

            group = self._groups.get(ask.group) or ray.util.get_placement_group(ask.group)
            strategy = PlacementGroupSchedulingStrategy(group, ask.bundle)
        handle = remote.options(
            name=name,
            namespace=self.namespace,
            lifetime="detached",  # outlives this server: a restart adopts it by name
            max_restarts=0,
            max_concurrency=32,  # status, probes and logs while a stop runs
            num_cpus=ask.num_cpus,
            num_gpus=ask.num_gpus,
            memory=ask.memory_bytes,
            resources=dict(ask.resources),
            scheduling_strategy=strategy,
        ).remote(*args)
        self._handles[name] = handle

    def find(self, name: str) -> Any:
        """The named actor (ActorGone when there is none)."""
        handle = self._handles.get(name)
        if handle is not None:
            return handle
        try:
            handle = self._joined().get_actor(name, namespace=self.namespace)
        except ValueError as exc:
            raise ActorGone(f"no actor named {name}") from exc
        self._handles[name] = handle
        return handle

    def kill(self, name: str) -> None:
        """Kill the named actor if it exists (its resources go back to the cluster)."""
        try:
            handle = self.find(name)
        except ActorGone:
            return
        finally:
            self._handles.pop(name, None)
        with contextlib.suppress(ValueError):  # already gone
            self._joined().kill(handle, no_restart=True)

    def forget(self, name: str) -> None:
        self._handles.pop(name, None)

    # --- async: actor method calls --------------------------------------------------------
    async def call(self, name: str, method: str, *args: Any, timeout: float) -> Any:
        """Call a method of the named actor and await its answer for at most `timeout` seconds.

        ActorGone when it is dead, ActorUnreachable when it did not answer in time; an error
        the method raised arrives as itself when it is one of ours.
        """
        ray = self._joined()
        handle = await asyncio.to_thread(self.find, name)
        try:
            ref = getattr(handle, method).remote(*args)
            return await asyncio.wait_for(ref, timeout)
        except TimeoutError as exc:
            raise ActorUnreachable(f"actor {name} did not answer {method} in {timeout:g}s") from exc
        except ray.exceptions.ActorDiedError as exc:
            self.forget(name)
            raise ActorGone(str(exc)) from exc
        except ray.exceptions.RayActorError as exc:  # unavailable: the node may be going
            raise ActorUnreachable(str(exc)) from exc
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, ModelportError):
                raise exc.cause from None
            raise
