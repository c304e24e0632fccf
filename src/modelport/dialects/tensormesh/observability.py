"""GET /v1/observability/deployments/{deploymentId}/logs and /metrics: a deployment's replica
logs as Tensormesh log entries, and its metric history (none: see below).

deploymentId is the model's `deploymentId`, the Modelport endpoint name. Replica logs are the
engines' own output, one entry per line, oldest first (newest first with a `direction` that
says backward), `limit` the newest lines. They carry no time, so `timestamp` is null and
`startTime`/`endTime` cannot select lines: asking for them is a 400, not a silent no-op.
Modelport keeps no metric history (the gateway's current values are Prometheus series at
/metrics), so the metrics list is empty.
"""

from __future__ import annotations

from modelport.api.container import ApiServices
from modelport.dialects.tensormesh.errors import invalid
from modelport.dialects.tensormesh.schemas import LogEntry
from modelport.services.auth import Principal

MAX_LIMIT = 10_000


def deployment_logs(
    services: ApiServices,
    principal: Principal,
    deployment_id: str,
    *,
    limit: int = 0,
    direction: str = "",
    time_range: bool = False,
) -> list[LogEntry]:
    if time_range:
        raise invalid(
            "startTime", "replica logs carry no timestamps, so a time range cannot be applied"
        )
    if not 0 <= limit <= MAX_LIMIT:
        raise invalid("limit", f"must be between 0 and {MAX_LIMIT} (0: every line)")
    entries = [
        LogEntry(timestamp=None, message=line, replica_id=log.replica_id)
        for log in services.endpoints.logs(principal, deployment_id)
        for line in log.text.splitlines()
        if line.strip()
    ]
    if limit:
        entries = entries[-limit:]
    return entries[::-1] if "BACKWARD" in direction.upper() else entries
