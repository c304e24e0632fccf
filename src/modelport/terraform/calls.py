"""One HTTP call of a resource, and its failure as a Terraform diagnostic naming the attribute.

Both APIs name the field of a refused request: TIR's envelope in `errors` (`{field: [msg]}`),
the native API in `error.field`. Each resource maps those field names to its own attribute path
(`FieldMap`); the diagnostic then points at the line of the configuration to change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from modelport.terraform.tfcompat import Diagnostics

# An attribute path as tf takes it: names, and (index,) for a list element.
Path = list[str | tuple[int]]
# API field ("custom_endpoint_details.resource_details.disk_size") -> attribute path, or None
# when the field is not one of the resource's attributes.
FieldMap = Callable[[str], Path | None]


@dataclass
class ApiError(Exception):
    """A call that did not do what was asked: the server refused it, or could not be reached."""

    summary: str
    detail: str
    status: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        return f"{self.summary}: {self.detail}"


def call(client: httpx.Client, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
    """The response of a call that succeeded (2xx), else ApiError saying `what` failed and why.
    A 404 is an ApiError with status 404: callers that expect one (read, delete) check it."""
    try:
        resp = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise ApiError(
            f"{what}: the server did not answer", f"{method} {_safe(url)}: {exc}"
        ) from exc
    if resp.is_success:
        return resp
    message, field = _refusal(resp)
    raise ApiError(f"{what}: refused ({resp.status_code})", message, resp.status_code, field)


def report(diags: Diagnostics, error: ApiError, fields: FieldMap) -> None:
    """`error` as an error diagnostic, on the attribute its field names when there is one."""
    path = fields(error.field) if error.field else None
    diags.add_error(error.summary, error.detail, path=path)


def _refusal(resp: httpx.Response) -> tuple[str, str | None]:
    """The message and field of an error answer in either API's envelope."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:500] or resp.reason_phrase, None
    if not isinstance(body, Mapping):
        return str(body)[:500], None
    native = body.get("error")
    if isinstance(native, Mapping):  # {"error": {"type", "message", "field", ...}}
        field = native.get("field")
        return str(native.get("message", "")), field if isinstance(field, str) else None
    errors = body.get("errors")  # TIR: {"code", "data", "errors": {field: [msg]}, "message"}
    if isinstance(errors, Mapping) and errors:
        field, messages = next(iter(errors.items()))
        text = "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
        return text or str(body.get("message", "")), str(field)
    detail = body.get("message") or body.get("detail") or resp.text[:500]
    return str(detail), None


def _safe(url: str) -> str:
    """A URL without its query string (TIR's calls carry `apikey` there)."""
    return url.split("?", 1)[0]
