"""Numbered pages of a project's endpoints for the dialects' lists (TIR's page_no, Tensormesh's
page, DeepInfra's offset), all read through EndpointService's indexed queries.

Without a vendor filter a page is one indexed offset read, and its total one indexed count. A
vendor filter that is not a column (DeepInfra's status, Tensormesh's userId or infra) is judged
on rows read in keyset batches: the offset counts the rows it keeps, and a total reads them all.

A request that names no page at all gets every row (`EVERY_ROW`, read in keyset batches): the
vendors' own SDKs list that way (the e2enetworks SDK's `EndPoints().list()`, Tensormesh's
`models.list()` send no paging and read one answer), so a first page alone would hide the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from modelport.services.auth import Principal
from modelport.services.endpoint_pages import ListedEndpoint, PageQuery
from modelport.services.endpoints import EndpointService
from modelport.store.paging import EndpointFilter

DEFAULT_PAGE = 100  # every dialect's list, when the client names no page size
MAX_PAGE = 1000
MAX_PAGE_NUMBER = 1_000_000  # keeps an offset inside every database's integer range
_BATCH = 500  # rows per keyset read when a vendor filter is judged here

Match = Callable[[ListedEndpoint], bool]


@dataclass(frozen=True, slots=True)
class Window:
    """Which rows of the list a page holds."""

    offset: int
    limit: int

    @classmethod
    def numbered(cls, page: int, size: int) -> Window:
        """Page `page` (from 1) of `size` rows."""
        return cls((page - 1) * size, size)

    @classmethod
    def named(cls, page: int | None, size: int | None) -> Window:
        """Page `page` of `size` rows (either left out: 1, DEFAULT_PAGE); neither named: every
        row, as the vendors' SDKs expect of a list they do not page."""
        if page is None and size is None:
            return EVERY_ROW
        return cls.numbered(page or 1, size or DEFAULT_PAGE)

    @classmethod
    def sliced(cls, offset: int | None, limit: int | None) -> Window:
        """`limit` rows after `offset` (either left out: 0, DEFAULT_PAGE); neither: every row."""
        if offset is None and limit is None:
            return EVERY_ROW
        return cls(offset or 0, limit or DEFAULT_PAGE)

    @property
    def everything(self) -> bool:
        return self is EVERY_ROW


EVERY_ROW = Window(0, 0)  # no page named: the whole list (compared by identity)


@dataclass(frozen=True, slots=True)
class Slice:
    items: tuple[ListedEndpoint, ...]
    more: bool  # rows follow this page
    total: int | None  # every row the list holds; None when not asked for


def page_of(
    endpoints: EndpointService,
    principal: Principal,
    where: EndpointFilter,
    window: Window,
    *,
    match: Match | None = None,
    count: bool = False,
) -> Slice:
    """The window's rows of the caller's endpoints that `where` (and `match`) let through,
    oldest first; `count`: with the total."""
    if window.everything:
        rows = tuple(r for r in _batches(endpoints, principal, where) if match is None or match(r))
        return Slice(rows, False, len(rows) if count else None)
    if match is None:
        query = PageQuery(limit=window.limit, offset=window.offset, where=where)
        page = endpoints.page(principal, query)
        total = endpoints.count(principal, where) if count else None
        return Slice(page.items, page.next_after is not None, total)
    kept: list[ListedEndpoint] = []
    seen = 0
    for listed in _batches(endpoints, principal, where):
        if not match(listed):
            continue
        if window.offset <= seen < window.offset + window.limit:
            kept.append(listed)
        seen += 1
        if seen > window.offset + window.limit and not count:
            break  # one more than the page: enough to know that more follow
    return Slice(tuple(kept), seen > window.offset + window.limit, seen if count else None)


def _batches(
    endpoints: EndpointService, principal: Principal, where: EndpointFilter
) -> Iterator[ListedEndpoint]:
    after: int | None = 0
    while after is not None:
        page = endpoints.page(principal, PageQuery(limit=_BATCH, after_id=after, where=where))
        yield from page.items
        after = page.next_after
