"""Limits at the edge of the server: what one client connection may hold and send before any
app sees its request (server/fast_protocol.py enforces them, for gateway and API paths alike).

uvicorn's own limits do not cover this with the httptools protocol: `limit_concurrency` is
checked only once a request head is complete (a client that never finishes its head holds its
connection and file descriptor forever) and `timeout_keep_alive` starts only after a response.
There is no header size or count limit at all. So the protocol enforces:

- a head must arrive within `header_timeout` of the connection opening or of its first byte
  (408), and its body within `body_timeout` after the head (the connection is closed);
- a head larger than `max_header_bytes` or with more than `max_headers` fields is refused
  with 431 as soon as it is seen to be, before it is buffered whole;
- at most `max_connections` open connections: a new one beyond the cap takes the place of the
  connection whose head has been arriving longest (a slow client), else of the longest idle
  keep-alive one, else of the longest silent one that connected over `fresh_grace` ago; when
  every other connection is busy or has only just connected, the newcomer is admitted above
  the cap (up to half as many again, each slow head then cut as it shows), and refused with
  503 beyond that.

Refusals close the connection and come in the envelope of the API the path belongs to.
"""

from __future__ import annotations

import json
import resource
from dataclasses import dataclass

from starlette.exceptions import HTTPException

from modelport.api.errors import ENVELOPE as NATIVE
from modelport.dialects.registry import management_envelopes
from modelport.server.dispatch import is_gateway_path
from modelport.settings import Settings

# File descriptors kept back from the connection cap: the store, logs, replica pipes, probes.
_FD_RESERVE = 128
# Management API prefixes whose apps answer in their own envelope (the rest: native).
_ENVELOPES = management_envelopes()
_REASONS = {
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    max_connections: int = 1024
    # How long a connection that has sent nothing is safe from being replaced (see
    # fast_protocol's eviction order): a real client sends its request within milliseconds.
    fresh_grace: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgeLimits:
        return cls(
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            max_connections=settings.max_connections or connection_cap(),
        )


def connection_cap() -> int:
    """Half the descriptors the open-files limit leaves after a reserve: each client connection
    may need one more for its upstream connection to a replica."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 65_536
    return max(16, (soft - _FD_RESERVE) // 2)


def refusal(path: str | None, status: int, message: str) -> bytes:
    """A whole response that ends the connection, in the envelope of the API `path` is under
    (the OpenAI error shape on gateway paths). Rare, so built on demand."""
    if path is not None and is_gateway_path(path):
        code = _REASONS.get(status, b"").decode().lower().replace(" ", "_")
        error = {"message": message, "type": "invalid_request_error", "code": code}
        body = json.dumps({"error": error}).encode()
        headers = [(b"content-type", b"application/json")]
    else:
        envelope = next((e for prefix, e in _ENVELOPES if path and path.startswith(prefix)), NATIVE)
        response = envelope.http(HTTPException(status, message))
        status, body = response.status_code, bytes(response.body)
        headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
    head = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b""))]
    head += [b"%s: %s\r\n" % pair for pair in headers]
    head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
    return b"".join(head) + body
