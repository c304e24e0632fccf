"""GET .../serving/inference/: a page of the project's endpoints (TIR-made or not), oldest first.

Paged as TIR pages its lists (async_status too): `page_no` from 1, `per_page` rows. The answer
is TIR's envelope with `data` a list, as the e2enetworks SDK reads it; `total_count` and
`total_page_number` beside it say how many there are. Without `page_no` and `per_page` (the
SDK's `EndPoints().list()` sends neither and reads only `data`) the answer holds every
endpoint, read in indexed batches. docs/dialects/tir.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse

from modelport.api.container import ApiServices
from modelport.dialects import listing
from modelport.dialects.tir.views import endpoint_data
from modelport.services.auth import Principal
from modelport.store.paging import EndpointFilter

Shape = Callable[[dict[str, Any]], dict[str, Any]]


def endpoint_page(
    services: ApiServices,
    principal: Principal,
    shape: Shape,
    page_no: int | None,
    per_page: int | None,
) -> JSONResponse:
    endpoints = services.endpoints
    window = listing.Window.named(page_no, per_page)
    found = listing.page_of(endpoints, principal, EndpointFilter(), window, count=True)
    data = [
        shape(endpoint_data(endpoints.public(i.endpoint, i.replicas), services.gateway_base_url))
        for i in found.items
    ]
    total = found.total or 0
    size = total if window.everything else window.limit  # the whole list: one page
    body = {
        "code": 200,
        "data": data,
        "errors": {},
        "message": "Success",
        "total_count": total,
        "total_page_number": -(-total // size) if total else 0,  # ceiling
    }
    return JSONResponse(body)
