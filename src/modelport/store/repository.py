"""What every repository shares: the engine, the clock, and small query helpers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from modelport.clock import Clock
from modelport.domain.errors import InvalidSpec, NotFound
from modelport.domain.specs import EndpointSpec
from modelport.store.derived import derived_columns


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


def checked_spec_json(spec_json: str) -> dict[str, Any]:
    """The spec column plus its derived columns; refuses a spec that could not be read back."""
    try:
        spec = EndpointSpec.model_validate_json(spec_json)
    except ValueError as exc:
        raise InvalidSpec(f"stored spec is not a valid endpoint spec: {exc}", field="spec") from exc
    return {"spec": spec_json, **derived_columns(spec)}
