"""One probe attempt against a replica's process: HTTP GET, TCP connect, gRPC health check, or
the runtime's exec.
Each check ends itself at the probe's timeout; none raises for a replica that does not answer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from modelport.domain.errors import ModelportError
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import ProbeProtocol, ProbeSpec
from modelport.runtime.base import RuntimeBackend


@dataclass(frozen=True)
class ProbeOutcome:
    ok: bool
    detail: str  # what happened, for events ("GET /health: 503", "connection refused")


_EOF_WAIT = 0.1  # seconds a TCP probe waits to see a connection closed at once


class ProbeChecks:
    """The checks, sharing one HTTP session (close() it)."""

    def __init__(self, runtime: RuntimeBackend, unseal: Callable[[str], str] = str) -> None:
        self._runtime = runtime
        self._unseal = unseal  # opens a handle's sealed replica key
        self._session: aiohttp.ClientSession | None = None

    async def check(self, handle: ReplicaHandle, probe: ProbeSpec) -> ProbeOutcome:
        port = probe.port or handle.port
        if probe.protocol is ProbeProtocol.HTTP:
            # The engine requires the replica's key of every request, probes included; the
            # key goes to the replica's own port only, never to another a probe names.
            sealed = handle.sealed_key if port == handle.port else None
            headers = {} if sealed is None else {
                "Authorization": f"Bearer {self._unseal(sealed)}"
            }  # fmt: skip
            path = probe.path or "/"
            return await self._http(handle.host, port, path, probe.timeout_seconds, headers)
        if probe.protocol is ProbeProtocol.EXEC:
            return await self._exec(handle, probe)
        if probe.protocol is ProbeProtocol.GRPC:
            # Imported on first use: grpc loads only where an endpoint probes over gRPC.
            from modelport.controller.grpc_health import check_health

            service = probe.grpc_service or ""
            return await check_health(
                _host_in_url(handle.host), port, service, probe.timeout_seconds
            )
        return await self._tcp(handle.host, port, probe.timeout_seconds)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _http(
        self, host: str, port: int, path: str, timeout: float, headers: dict[str, str]
    ) -> ProbeOutcome:
        if self._session is None:
            # No cap on connections (aiohttp's default is 100): probes run side by side, and
            # hung ones must not make others wait for a slot until they time out.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        url = f"http://{_host_in_url(host)}:{port}{path}"
        try:
            async with self._session.get(
                url,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
                headers=headers,
            ) as resp:
                return ProbeOutcome(resp.status < 400, f"GET {path}: HTTP {resp.status}")
        except TimeoutError:
            return ProbeOutcome(False, f"GET {path}: no answer within {timeout:g}s")
        except (aiohttp.ClientError, OSError) as exc:
            return ProbeOutcome(False, f"GET {path}: {type(exc).__name__}")

    @staticmethod
    async def _tcp(host: str, port: int, timeout: float) -> ProbeOutcome:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except TimeoutError:
            return ProbeOutcome(False, f"TCP {port}: no connection within {timeout:g}s")
        except OSError as exc:
            return ProbeOutcome(False, f"TCP {port}: {exc.strerror or type(exc).__name__}")
        try:
            # A port published by Docker accepts the connection itself and closes it at once
            # while nothing listens in the container yet: only a connection kept open counts.
            closed = await asyncio.wait_for(reader.read(1), min(timeout, _EOF_WAIT)) == b""
        except (TimeoutError, OSError):
            closed = False
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if closed:
            return ProbeOutcome(False, f"TCP {port}: connection closed at once (nothing listens)")
        return ProbeOutcome(True, f"TCP {port}: connected")

    async def _exec(self, handle: ReplicaHandle, probe: ProbeSpec) -> ProbeOutcome:
        what = f"exec {probe.commands[0]}"
        try:
            ok = await self._runtime.exec_probe(handle, probe.commands, probe.timeout_seconds)
        except (ModelportError, OSError) as exc:
            return ProbeOutcome(False, f"{what}: {exc}")
        return ProbeOutcome(ok, f"{what}: {'exit 0' if ok else 'failed'}")


def _host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host
