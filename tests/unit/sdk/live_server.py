"""The real native API (create_app + SqlStore on a temp SQLite file) served by uvicorn on a port.

The controller is not running: tests stand in for it by moving replicas through the store,
which is how the API derives an endpoint's phase.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from cryptography.fernet import Fernet

from modelport.api.app import ApiServices, create_app
from modelport.clock import SystemClock
from modelport.domain.records import Endpoint, EventLevel, Replica
from modelport.domain.states import ReplicaState
from modelport.security.secrets import SecretBox
from modelport.services.auth import Authenticator
from modelport.services.bootstrap import ensure_bootstrap
from modelport.settings import Settings
from modelport.store import SqlStore, open_store

# A spec every engine check accepts without any engine installed.
WEB_SPEC = {"framework": "custom", "command": ["python", "-m", "http.server", "{port}"]}


@dataclass
class LiveServer:
    url: str
    home: Path
    settings: Settings
    store: SqlStore
    admin_token: str
    clock: SystemClock

    def endpoint(self, name: str) -> Endpoint:
        project = self.store.get_project_by_name("default")
        return self.store.get_endpoint_by_name(project.id, name)

    def add_replica(self, name: str) -> Replica:
        endpoint = self.endpoint(name)
        return self.store.create_replica(endpoint.id, endpoint.generation, self.clock.now())

    def move(self, replica: Replica, *states: ReplicaState) -> Replica:
        """Walk a replica through `states`, as the controller would."""
        for state in states:
            replica = self.store.transition_replica(
                replica.id,
                replica.state,
                state,
                detail=f"test: {state.value}",
                now=self.clock.now(),
            )
        return replica

    def event(self, name: str, message: str, level: EventLevel = EventLevel.INFO) -> None:
        self.store.add_event(
            self.endpoint(name).id,
            level=level,
            reason="TestEvent",
            message=message,
            now=self.clock.now(),
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = Settings(home=tmp_path / "server-home", host="127.0.0.1", port=free_port())
    settings.ensure_home()
    clock = SystemClock()
    store = open_store(settings.effective_database_url, clock)
    admin_token = ensure_bootstrap(store, settings)
    assert admin_token is not None
    services = ApiServices.build(store, SecretBox(Fernet.generate_key()), clock, settings)
    app = create_app(services, Authenticator(store, clock), settings)
    try:
        with serving(app, settings, lifespan="off"):
            yield LiveServer(
                url=f"http://{settings.host}:{settings.port}",
                home=settings.home,
                settings=settings,
                store=store,
                admin_token=admin_token,
                clock=clock,
            )
    finally:
        store.close()


@contextmanager
def serving(app: Any, settings: Settings, *, lifespan: str) -> Iterator[None]:
    """Run `app` with uvicorn in a thread on settings.host/port until the block ends."""
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", lifespan=lifespan
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server did not start")
            thread.join(0.01)
        yield
    finally:
        server.should_exit = True
        thread.join(15)
