"""`modelport server`: API, gateway and controller in one process (the default deployment)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import Iterator

import uvicorn

from modelport.gateway.shared_counts import SharedCounts
from modelport.server.components import Components, build_components
from modelport.server.logging import configure_logging
from modelport.server.peers import MAIN_SLOT
from modelport.server.workers import Team, claim_port, listening_socket
from modelport.settings import Settings

log = logging.getLogger("modelport.server")


def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM. Replicas keep running after the server exits (adopted later).

    With `gateway_workers` > 1 this process serves the port beside N-1 worker processes it
    starts (server/workers.py), sharing their counts through one shared-memory segment."""
    configure_logging(settings.log_level)
    workers = settings.effective_gateway_workers
    if workers == 1:
        serve_process(settings, None)
        return
    port = claim_port(settings.host, settings.port)
    settings = settings.model_copy(update={"port": port})  # port 0: the one bound, for all
    counts = SharedCounts.create(workers)
    try:
        with _signal_exit_after_cleanup():
            serve_process(settings, Team(uuid.uuid4().hex[:12], MAIN_SLOT, counts.layout))
    finally:
        counts.close(unlink=True)  # the run's directory in /dev/shm


class _Stopped(BaseException):
    def __init__(self, signum: int) -> None:
        self.signum = signum


@contextlib.contextmanager
def _signal_exit_after_cleanup() -> Iterator[None]:
    """uvicorn, after a graceful shutdown on SIGTERM, raises the signal again with the handler
    it found, which by default ends the process at once: no `finally` would run. Here the
    signal unwinds the stack instead, and the process exits with 128 + its number (as a shell
    reports a process it ended) once the caller cleaned up."""

    def stopped(signum: int, _frame: object) -> None:
        raise _Stopped(signum)

    previous = signal.signal(signal.SIGTERM, stopped)
    try:
        yield
    except _Stopped as stop:
        signal.signal(signal.SIGTERM, previous)
        raise SystemExit(128 + stop.signum) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve_process(settings: Settings, team: Team | None) -> None:
    """One server process: the only one (`team` None), the main one or a worker."""
    if team is not None and team.slot != MAIN_SLOT:
        configure_logging(settings.log_level)
    components = build_components(settings, team)
    if team is None or team.slot == MAIN_SLOT:
        announce(settings, components.first_admin_token)
    server = uvicorn.Server(_config(settings, components))
    try:
        if team is None:
            server.run()
        else:
            server.run(sockets=[listening_socket(settings.host, settings.port)])
    finally:
        components.close()


def _config(settings: Settings, components: Components) -> uvicorn.Config:
    return uvicorn.Config(
        components.asgi_app,
        host=settings.host,
        port=settings.port,
        loop=_best_loop(),
        http=_http(settings, components),
        lifespan="on",
        proxy_headers=False,  # X-Forwarded-For from clients is not trusted for anything
        access_log=False,  # request lines would be per-request hot-path work; metrics cover it
        server_header=False,  # no "server: uvicorn" on every response (the gateway's included)
        log_level="warning",
        timeout_graceful_shutdown=5,
        # Read deadlines, header limits and the connection cap are the protocol's
        # (server/edge.py); these two are what uvicorn applies itself.
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]  # a float works
        h11_max_incomplete_event_size=settings.max_header_bytes,  # the h11 fallback only
    )


def announce(settings: Settings, admin_token: str | None) -> None:
    base = f"http://{settings.host}:{settings.port}"
    print(f"Modelport listening on {base}  (API {base}/api/v1, gateway {base}/v1)", flush=True)
    print(f"Home: {settings.home}", flush=True)
    if admin_token:
        print(
            "\nAdmin token (shown once; also saved to "
            f"{settings.admin_token_path}, mode 0600):\n  {admin_token}\n",
            flush=True,
        )


def _best_loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _best_http() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def _http(settings: Settings, components: Components) -> str | type[asyncio.Protocol]:
    """uvicorn's HTTP protocol: with httptools, ours (server/fast_protocol.py), which enforces
    the edge limits and, with the fast path on, serves gateway requests without the ASGI
    cycle. Without httptools, uvicorn's h11 protocol with only uvicorn's own limits."""
    best = _best_http()
    if best == "httptools":
        from modelport.server.edge import EdgeLimits
        from modelport.server.fast_protocol import fast_path_protocol  # needs httptools

        edge = EdgeLimits.from_settings(settings)
        return fast_path_protocol(components.gateway, edge, settings.gateway_fast_path)
    return best


def main() -> None:
    serve(Settings())


if __name__ == "__main__":
    main()
