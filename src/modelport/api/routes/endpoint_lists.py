"""The query of GET /api/v1/endpoints: page size, cursor and filters, checked by FastAPI (a
422 naming the parameter), turned into the service's PageQuery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query

from modelport.domain.specs import Framework
from modelport.domain.states import DesiredState, EndpointPhase
from modelport.services.endpoint_pages import DEFAULT_PAGE, MAX_PAGE, PageQuery
from modelport.store.paging import EndpointFilter

CURSOR_PATTERN = r"^[0-9]{1,18}$"
PREFIX_PATTERN = r"^[a-z0-9-]{0,63}$"  # endpoint names are DNS labels


@dataclass
class ListQuery:
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page")] = DEFAULT_PAGE
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page"),
    ] = None
    name_prefix: Annotated[
        str, Query(pattern=PREFIX_PATTERN, description="names starting with this")
    ] = ""
    state: Annotated[
        DesiredState | None, Query(description="desired state: running or stopped")
    ] = None
    phase: Annotated[
        list[EndpointPhase] | None, Query(description="phase (repeat for several)")
    ] = None
    framework: Annotated[Framework | None, Query(description="engine")] = None

    def page_query(self) -> PageQuery:
        return PageQuery(
            limit=self.limit,
            after_id=0 if self.cursor is None else int(self.cursor),
            where=EndpointFilter(
                name_prefix=self.name_prefix, desired=self.state, framework=self.framework
            ),
            phases=frozenset(self.phase or ()),
        )
