"""How the CLI shows things: Rich tables and panels for people, plain JSON for machines.

Everything meant for a pipe goes to stdout; progress, hints and errors go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from modelport.domain.records import EventLevel
from modelport.domain.states import EndpointPhase, ReplicaState
from modelport.schemas.native import (
    EndpointPublic,
    EventPublic,
    ProjectPublic,
    ReplicaPublic,
    TokenCreated,
    TokenPublic,
)

# Markup off: server messages and examples contain brackets that are not Rich tags.
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

PHASE_STYLES: dict[EndpointPhase, str] = {
    EndpointPhase.READY: "green",
    EndpointPhase.DEPLOYING: "yellow",
    EndpointPhase.UPDATING: "yellow",
    EndpointPhase.PENDING: "yellow",
    EndpointPhase.IDLE: "cyan",
    EndpointPhase.DEGRADED: "dark_orange",
    EndpointPhase.FAILED: "bold red",
    EndpointPhase.STOPPING: "dim",
    EndpointPhase.STOPPED: "dim",
    EndpointPhase.DELETING: "dim",
}
REPLICA_STYLES: dict[ReplicaState, str] = {
    ReplicaState.READY: "green",
    ReplicaState.STARTING: "yellow",
    ReplicaState.PENDING: "yellow",
    ReplicaState.DRAINING: "dim",
    ReplicaState.STOPPED: "dim",
    ReplicaState.FAILED: "bold red",
}
LEVEL_STYLES: dict[EventLevel, str] = {
    EventLevel.INFO: "",
    EventLevel.WARNING: "yellow",
    EventLevel.ERROR: "bold red",
}


def print_json(model: BaseModel) -> None:
    """The model as JSON on stdout, and nothing else."""
    sys.stdout.write(json.dumps(model.model_dump(mode="json"), indent=2) + "\n")


def print_new_token(created: TokenCreated, as_json: bool) -> None:
    """A new token: its secret is shown this once (the store keeps only a hash)."""
    if as_json:
        print_json(created)
        return
    out.print(f"token {created.id} ({created.role.value}): {created.token}")
    err.print(Text("shown once: store it now, it cannot be retrieved again.", "yellow"))


def print_json_line(model: BaseModel) -> None:
    sys.stdout.write(json.dumps(model.model_dump(mode="json")) + "\n")
    sys.stdout.flush()


def age(when: datetime, now: datetime | None = None) -> str:
    """A short age such as 42s, 5m, 3h, 2d."""
    seconds = max(0, int(((now or datetime.now(UTC)) - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def phase_text(phase: EndpointPhase) -> Text:
    return Text(phase.value, style=PHASE_STYLES[phase])


def endpoints_table(endpoints: Sequence[EndpointPublic]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "PHASE", "READY", "FRAMEWORK", "NODES", "GEN", "URL", "AGE"):
        table.add_column(column, overflow="fold")
    for e in endpoints:
        table.add_row(
            e.name,
            phase_text(e.phase),
            f"{e.replicas.ready}/{e.replicas.desired}",
            e.spec.framework.value,
            ",".join(e.nodes) or "-",  # "-": the server's own host
            str(e.generation),
            e.url,
            age(e.created_at),
        )
    return table


def replicas_table(replicas: Sequence[ReplicaPublic]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "GEN", "STATE", "RESTARTS", "ADDRESS", "NODE", "PID", "AGE", "REASON"):
        table.add_column(column, overflow="fold")
    for r in replicas:
        address = f"{r.handle.host}:{r.handle.port}" if r.handle else "-"
        node = r.handle.node if r.handle and r.handle.node else "-"  # None: the server's host
        pid = str(r.handle.pid) if r.handle and r.handle.pid else "-"
        table.add_row(
            str(r.id),
            str(r.generation),
            Text(r.state.value, style=REPLICA_STYLES[r.state]),
            str(r.restart_count),
            address,
            node,
            pid,
            age(r.created_at),
            f"restart requested; {r.state_reason}" if r.restart_requested_at else r.state_reason,
        )
    return table


def events_table(events: Iterable[EventPublic]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("TIME", "LEVEL", "REASON", "REPLICA", "MESSAGE"):
        table.add_column(column, overflow="fold")
    for e in events:
        table.add_row(
            e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            Text(e.level.value, style=LEVEL_STYLES[e.level]),
            e.reason,
            str(e.replica_id) if e.replica_id is not None else "-",
            e.message,
        )
    return table


def event_line(e: EventPublic) -> Text:
    replica = f" replica {e.replica_id}" if e.replica_id is not None else ""
    line = Text(f"{e.created_at:%H:%M:%S} ", style="dim")
    line.append(f"{e.reason}{replica}: ", style=LEVEL_STYLES[e.level] or "bold")
    line.append(e.message)
    return line


def tokens_table(tokens: Sequence[TokenPublic]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "NAME", "ROLE", "PREFIX", "ENDPOINT", "AGE"):
        table.add_column(column, overflow="fold")
    for t in tokens:
        endpoint = str(t.endpoint_id) if t.endpoint_id is not None else "-"
        table.add_row(str(t.id), t.name, t.role.value, t.prefix, endpoint, age(t.created_at))
    return table


def projects_table(projects: Sequence[ProjectPublic]) -> Table:
    table = Table(box=None, header_style="bold")
    columns = ("ID", "NAME", "HOST ACCESS", "ENDPOINTS", "REPLICAS", "GPUS", "RPM", "CONCURRENT")
    for column in columns:
        table.add_column(column, overflow="fold")
    for p in projects:
        limits = p.limits
        table.add_row(
            str(p.id),
            p.name,
            "yes" if p.host_access else "no",
            *(
                "-" if value is None else str(value)
                for value in (
                    limits.max_endpoints,
                    limits.max_replicas,
                    limits.max_gpus,
                    limits.requests_per_minute,
                    limits.concurrent_requests,
                )
            ),
        )
    return table


def endpoint_panel(e: EndpointPublic, replicas: Sequence[ReplicaPublic]) -> Panel:
    details = Table.grid(padding=(0, 2))
    details.add_column(style="bold")
    details.add_column(overflow="fold")
    spec = e.spec
    rows: list[tuple[str, str | Text]] = [
        ("phase", phase_text(e.phase)),
        ("desired", e.desired_state.value),
        ("replicas", _counts(e)),
        ("generation", str(e.generation)),
        ("framework", spec.framework.value),
        ("model", _model_source(e)),
        ("url", e.url),
        ("resources", _resources(e)),
        ("created", f"{e.created_at:%Y-%m-%d %H:%M:%S} ({age(e.created_at)} ago)"),
        ("updated", f"{e.updated_at:%Y-%m-%d %H:%M:%S} ({age(e.updated_at)} ago)"),
    ]
    if spec.command:
        rows.append(("command", " ".join(spec.command)))
    if spec.engine_args:
        rows.append(("engine args", ", ".join(f"{k}={v}" for k, v in spec.engine_args.items())))
    if spec.extra_args:
        rows.append(("extra args", " ".join(spec.extra_args)))
    if spec.env:
        rows.append(("env", ", ".join(f"{v.name}={v.value}" for v in spec.env)))
    for label, value in rows:
        details.add_row(label, value)
    body = Group(details, Text(""), replicas_table(replicas)) if replicas else details
    return Panel(body, title=Text(e.name, style="bold"), title_align="left", expand=False)


def _counts(e: EndpointPublic) -> str:
    c = e.replicas
    extra = [
        f"{n} {label}"
        for n, label in (
            (c.starting, "starting"),
            (c.pending, "pending"),
            (c.failed, "failed"),
            (c.draining, "draining"),
        )
        if n
    ]
    return f"{c.ready}/{c.desired} ready" + (f" ({', '.join(extra)})" if extra else "")


def _model_source(e: EndpointPublic) -> str:
    m = e.spec.model
    source = m.path or m.hf_id or m.image or m.model_id or "-"
    return f"{source}@{m.revision}" if m.revision else source


def _resources(e: EndpointPublic) -> str:
    r = e.spec.resources
    text = f"{r.cpu:g} cpu, {r.memory_mb} MB"
    if r.gpu_count:
        text += f", {r.gpu_count} x {r.gpu_type or 'any'} GPU"
    return text
