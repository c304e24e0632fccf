"""What every repository shares: the engine, the clock, and small query helpers."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, Table, select

from modelport.clock import Clock
from modelport.domain.errors import InvalidSpec, NotFound
from modelport.domain.specs import EndpointSpec


class Repository:
    """Base of the per-aggregate repositories that SqlStore combines."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock


def require_row(conn: Connection, table: Table, row_id: int, what: str, field: str) -> None:
    """NotFound (naming `field`) unless `table` has a row with this id."""
    found = conn.execute(select(table.c.id).where(table.c.id == row_id)).first()
    if found is None:
        raise NotFound(f"{what} {row_id} not found", field=field)


def checked_spec_json(spec_json: str) -> str:
    """Refuse to store a spec that could not be read back."""
    try:
        EndpointSpec.model_validate_json(spec_json)
    except ValueError as exc:
        raise InvalidSpec(f"stored spec is not a valid endpoint spec: {exc}", field="spec") from exc
    return spec_json
