"""The gateway alone under uvicorn (uvloop + httptools), as `modelport server` runs it.

For benchmarking before / without the full server: a real SqlStore on a temp SQLite file, a
real API token (auth on), one RUNNING endpoint `bench` with one READY replica at --upstream.
Prints one JSON line {"port", "token"} once it serves.

    python gateway_only.py --port 8080 --upstream 127.0.0.1:9000 --home /tmp/x
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

from modelport.clock import SystemClock
from modelport.domain.ids import hash_token, new_token, token_display_prefix
from modelport.domain.records import ReplicaHandle, Role
from modelport.domain.specs import EndpointSpec, Framework
from modelport.domain.states import ReplicaState
from modelport.gateway.app import create_gateway
from modelport.gateway.balancing import Balancer
from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.routes import RouteTable
from modelport.services.auth import Authenticator
from modelport.settings import Settings
from modelport.store.repositories import open_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="host:port of the replica")
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")

    settings = Settings(home=args.home, port=args.port)
    settings.ensure_home()
    store = open_store(settings.effective_database_url)
    project = store.create_project("bench")
    token = new_token()
    store.create_token(
        project.id, "bench", Role.MEMBER, hash_token(token), token_display_prefix(token)
    )
    spec = EndpointSpec(framework=Framework.CUSTOM, command=["nginx"])
    endpoint = store.create_endpoint(project.id, "bench", spec, spec.model_dump_json())
    now = datetime.now(UTC)
    replica = store.create_replica(endpoint.id, endpoint.generation, now)
    handle = ReplicaHandle(backend="local", host=host, port=int(port))
    store.transition_replica(
        replica.id,
        ReplicaState.PENDING,
        ReplicaState.STARTING,
        reason="bench",
        now=now,
        handle=handle,
    )
    store.transition_replica(
        replica.id, ReplicaState.STARTING, ReplicaState.READY, reason="bench", now=now
    )

    routes = RouteTable()
    gateway = create_gateway(
        store, Authenticator(store, SystemClock()), routes, Balancer(), GatewayMetrics(), settings
    )
    stop = asyncio.Event()
    refresher: list[asyncio.Task[None]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await gateway(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await gateway.startup()
                await routes.refresh(store)
                refresher.append(
                    asyncio.create_task(routes.run(store, settings.route_refresh_interval, stop))
                )
                print(json.dumps({"port": args.port, "token": token}), flush=True)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                stop.set()
                await gateway.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    http: Any = "httptools"
    if getattr(settings, "gateway_fast_path", False):  # older checkouts have no fast path
        from modelport.server.fast_protocol import fast_path_protocol

        http = fast_path_protocol(gateway)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http=http,
        lifespan="on",
        access_log=False,
        log_level="warning",
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
