"""A gRPC probe: one `grpc.health.v1.Health/Check` call against a replica's port (the only user
of grpc; probe_checks imports this module on the first gRPC probe, so a server whose endpoints
probe over HTTP never loads grpc).

Each check opens its own insecure channel and closes it when done (about 2 ms on loopback). A
channel kept between checks would remember a refused connection: gRPC then fails calls at once
for its reconnect backoff (1 s growing to 120 s), so a replica that came up would stay unready
that long, and channels of gone replicas would need evicting. The replica key is not sent: the
engines' gRPC ports (Triton's, TorchServe's) do not check it, and the key stays on its own port.
"""

from __future__ import annotations

# grpcio ships neither stubs nor a py.typed marker (nor does grpcio-health-checking, so its
# health_pb2.pyi is not read): both are Any here, and this module types what it uses of them.
import grpc  # type: ignore[import-untyped]
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

from modelport.controller.probe_checks import ProbeOutcome

# Why a call failed, in words, for the codes a health check meets. A standard health service
# answers NOT_FOUND for a service it does not know; a server without one, UNIMPLEMENTED.
_WHY = {
    "UNIMPLEMENTED": "no health service",
    "NOT_FOUND": "unknown service",
    "UNAVAILABLE": "nothing answering gRPC",
}


async def check_health(host: str, port: int, service: str, timeout: float) -> ProbeOutcome:
    """Check `service` ("" = the whole server) at host ("[::1]" for IPv6) and port: SERVING
    passes; any other status, a failed call, or no answer within the timeout (the call's
    deadline, connecting included) fails."""
    label = f"gRPC health {port}" + (f" {service}" if service else "")  # as "GET /health"
    try:
        async with grpc.aio.insecure_channel(f"{host}:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            request = health_pb2.HealthCheckRequest(service=service)
            response = await stub.Check(request, timeout=timeout)
    except grpc.aio.AioRpcError as exc:
        code: str = exc.code().name
        if code == "DEADLINE_EXCEEDED":
            return ProbeOutcome(False, f"{label}: no answer within {timeout:g}s")
        why = _WHY.get(code)
        return ProbeOutcome(False, f"{label}: {code}" + (f" ({why})" if why else ""))
    status: str = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    return ProbeOutcome(status == "SERVING", f"{label}: {status}")
