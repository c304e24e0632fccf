"""TIR's async_status: one queued request by `request_id`, or a page of them.

TIR does not publish these answers' shapes; the e2enetworks SDK reads `data` as a list whose
items have `status` ("completed" and "failed" mean done) and builds the result's path itself
(`api/is-{id}/response/{request_id}.json` in the endpoint's dataset). Both calls answer a list of
`status_item`s; docs/dialects/tir.md shows them.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from modelport.domain.errors import InvalidSpec, NotFound
from modelport.domain.invocations import Invocation, InvocationStatus
from modelport.domain.records import Endpoint
from modelport.services.auth import Principal
from modelport.services.invocations import MAX_PAGE, InvocationService

# TIR's words for each status: one table, so the native enum and TIR's contract can differ.
TIR_STATUS: dict[InvocationStatus, str] = {
    InvocationStatus.QUEUED: "queued",
    InvocationStatus.IN_PROGRESS: "in_progress",
    InvocationStatus.COMPLETED: "completed",
    InvocationStatus.FAILED: "failed",
    InvocationStatus.CANCELED: "canceled",
    InvocationStatus.EXPIRED: "expired",
}
# The e2enetworks SDK's date filters (constants.DATE_FILTER_TYPES) as look-back spans; the two
# month filters are calendar months (UTC), see _window.
_SPANS = {
    "last_hour": timedelta(hours=1),
    "last_24_hours": timedelta(hours=24),
    "last_7_days": timedelta(days=7),
}


@dataclass(frozen=True, slots=True)
class AsyncQuery:
    """async_status's list filters, as the query string gave them."""

    page_no: int = 1
    per_page: int = 10
    date_filter: str | None = None  # one of schemas.DateFilter; None: any time
    queue_name: str | None = None  # a target route's route_name


def one(
    service: InvocationService, principal: Principal, endpoint: Endpoint, request_id: str
) -> list[dict[str, Any]]:
    """The request as a one-item list (the SDK indexes [0]); 404 naming request_id."""
    try:
        invocation = service.get(principal, endpoint, request_id)
    except NotFound as exc:
        raise unknown_request(request_id, endpoint.id) from exc
    return [status_item(endpoint, invocation)]


def unknown_request(request_id: str, inference_id: int) -> NotFound:
    return NotFound(
        f"request_id: no async request {request_id!r} for endpoint {inference_id}",
        field="request_id",
    )


def page(
    service: InvocationService, principal: Principal, endpoint: Endpoint, query: AsyncQuery
) -> list[dict[str, Any]]:
    """Newest first, page `page_no` of `per_page` items."""
    since, until = _window(query.date_filter, service.now())
    route = _route_value(endpoint, query.queue_name)
    offset = (query.page_no - 1) * query.per_page
    found: Sequence[Invocation]
    if until is None and route is None:
        # The store filters and pages by itself.
        found = service.list(
            principal, endpoint, since=since, limit=query.per_page, offset=offset
        ).items
    else:
        # Filters the store lacks (an upper time bound, the route) are applied here, over the
        # rows of the date window only.
        matching = (
            i
            for i in _scan(service, principal, endpoint, since)
            if (until is None or i.created_at < until) and (route is None or _route_of(i) == route)
        )
        found = _slice(matching, offset, query.per_page)
    return [status_item(endpoint, i) for i in found]


def status_item(endpoint: Endpoint, invocation: Invocation) -> dict[str, Any]:
    """One request in TIR's terms (timings in seconds; locations relative to the dataset)."""
    started, finished = invocation.started_at, invocation.finished_at
    return {
        "request_id": invocation.id,
        "inference_id": endpoint.id,
        "status": TIR_STATUS[invocation.status],
        "queue_name": _queue_name(endpoint, invocation),
        "route": _route_of(invocation),
        "created_at": invocation.created_at.isoformat(),
        "started_at": started.isoformat() if started else None,
        "finished_at": finished.isoformat() if finished else None,
        "expires_at": invocation.expires_at.isoformat(),
        "queued_seconds": _seconds(invocation.created_at, started),
        "processing_seconds": _seconds(started, finished),
        "attempts": invocation.attempts,
        "response_status": invocation.response_status,
        # Set once the result file is written; the 202 named where it would be.
        "response_location": invocation.result_key if invocation.result_location else None,
        "error": invocation.error,
    }


def _window(date_filter: str | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(created at or after, created before) for a date filter; None: unbounded."""
    if date_filter is None:
        return None, None
    if date_filter in _SPANS:
        return now - _SPANS[date_filter], None
    month_start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if date_filter == "current_month":
        return month_start, None
    if date_filter == "previous_month":
        last_month = month_start - timedelta(days=1)
        days = calendar.monthrange(last_month.year, last_month.month)[1]
        return month_start - timedelta(days=days), month_start
    raise InvalidSpec(f"date_filter: unknown filter {date_filter!r}", field="date_filter")


def _route_value(endpoint: Endpoint, queue_name: str | None) -> str | None:
    """The path of the target route named `queue_name`; 400 naming queue_name if none."""
    if queue_name is None:
        return None
    routes = endpoint.spec.async_config.target_routes
    for route in routes:
        if route.route_name == queue_name:
            return _path(route.route_value)
    names = ", ".join(r.route_name for r in routes) or "none"
    raise InvalidSpec(
        f"queue_name: no target route named {queue_name!r} (the endpoint's: {names})",
        field="queue_name",
    )


def _queue_name(endpoint: Endpoint, invocation: Invocation) -> str | None:
    path = _route_of(invocation)
    for route in endpoint.spec.async_config.target_routes:
        if _path(route.route_value) == path:
            return route.route_name
    return None


def _route_of(invocation: Invocation) -> str:
    return invocation.path.partition("?")[0]


def _path(route_value: str) -> str:
    """As the gateway matches a target route (gateway/routes.py): one leading "/", no query."""
    return "/" + route_value.strip().lstrip("/").partition("?")[0]


def _scan(
    service: InvocationService, principal: Principal, endpoint: Endpoint, since: datetime | None
) -> Iterator[Invocation]:
    """Every invocation since `since`, newest first, read a page at a time."""
    offset = 0
    while True:
        items = service.list(principal, endpoint, since=since, limit=MAX_PAGE, offset=offset).items
        yield from items
        if len(items) < MAX_PAGE:
            return
        offset += len(items)


def _slice(items: Iterator[Invocation], offset: int, count: int) -> Sequence[Invocation]:
    out: list[Invocation] = []
    for index, item in enumerate(items):
        if index >= offset + count:
            break
        if index >= offset:
            out.append(item)
    return out


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)
