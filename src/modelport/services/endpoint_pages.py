"""A page of a project's endpoints with their live replicas, read through indexed queries.

Pages are keyset (ids after a cursor) or offset (the vendors' page numbers). A phase filter
is derived from replicas, so it cannot be an index: rows are read in indexed batches and
filtered here, and at most MAX_SCAN rows are read per page; a page may then hold fewer items
than asked, and its cursor goes on from the last row read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from modelport.domain.phases import derive_phase
from modelport.domain.records import Endpoint, Replica
from modelport.domain.states import EndpointPhase
from modelport.services.auth import Principal
from modelport.store.base import Store
from modelport.store.paging import EndpointFilter

DEFAULT_PAGE = 100
MAX_PAGE = 1000
MAX_SCAN = 5000  # rows read for one page when a phase filter drops most of them


@dataclass(frozen=True, slots=True)
class PageQuery:
    limit: int = DEFAULT_PAGE
    after_id: int = 0  # keyset cursor: endpoints with a larger id
    offset: int = 0  # offset pages; not with `phases`
    where: EndpointFilter = field(default_factory=EndpointFilter)
    phases: frozenset[EndpointPhase] = frozenset()  # empty: any


@dataclass(frozen=True, slots=True)
class ListedEndpoint:
    endpoint: Endpoint
    replicas: tuple[Replica, ...]  # live ones (not STOPPED)
    phase: EndpointPhase


@dataclass(frozen=True, slots=True)
class EndpointPage:
    items: tuple[ListedEndpoint, ...]
    next_after: int | None  # the cursor of the next page; None: this was the last


def read_page(store: Store, principal: Principal, query: PageQuery) -> EndpointPage:
    """The caller's endpoints (an endpoint-scoped token sees its own only)."""
    where = query.where
    if principal.endpoint_id is not None:
        where = replace(where, only_id=principal.endpoint_id)
    batch = query.limit + 1 if not query.phases else max(2 * query.limit, 100)
    kept: list[ListedEndpoint] = []
    after, scanned = query.after_id, 0
    while True:
        rows = store.page_endpoints(
            principal.project_id,
            where,
            limit=batch,
            after_id=after,
            offset=0 if scanned else query.offset,
        )
        scanned += len(rows)
        for listed in _with_replicas(store, rows):
            after = listed.endpoint.id
            if not query.phases or listed.phase in query.phases:
                kept.append(listed)
                if len(kept) > query.limit:  # one more than asked: a next page exists
                    return EndpointPage(tuple(kept[:-1]), kept[-2].endpoint.id)
        if len(rows) < batch:
            return EndpointPage(tuple(kept), None)
        if scanned >= MAX_SCAN:
            return EndpointPage(tuple(kept), after)


def _with_replicas(store: Store, rows: Sequence[Endpoint]) -> list[ListedEndpoint]:
    of: dict[int, list[Replica]] = defaultdict(list)
    for replica in store.list_replicas_of([e.id for e in rows]):
        of[replica.endpoint_id].append(replica)
    return [ListedEndpoint(e, tuple(of[e.id]), derive_phase(e, of[e.id])) for e in rows]
