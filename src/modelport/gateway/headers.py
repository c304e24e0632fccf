"""Which request and response headers cross the gateway, in one pass over the ASGI list.

Request headers reach an engine only from an allowlist (`FORWARDED`): what it needs to read the
body and shape its answer (content-type, content-encoding, accept, accept-encoding), W3C trace
context, and OpenAI's request options (`openai-*`, e.g. OpenAI-Beta). Everything else stays at
the gateway: our token (Authorization, DeepInfra's `xi-api-key`), cookies, other systems'
credentials, hop-by-hop headers (RFC 9110 7.6.1), and floods of made-up headers an engine
would have to parse. The gateway adds its own X-Request-Id, X-Forwarded-For / -Proto; Host and
Content-Length are the upstream client's.

A credential header sent twice is refused (`IncomingHeaders.duplicate`), as the management
APIs do: which copy counts must never depend on who reads the headers.
`xi-api-key` is read when no Authorization header is sent.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from random import getrandbits

RawHeaders = Iterable[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# The client's request headers an engine gets (plus any `openai-*`); see the module docstring.
FORWARDED = frozenset(
    {
        b"content-type",
        b"content-encoding",
        b"accept",
        b"accept-encoding",
        b"traceparent",
        b"tracestate",
    }
)
_FORWARDED_PREFIX = b"openai-"
# Response headers we drop: hop-by-hop ones, the engine's own request id (we send ours), its
# Date (the ASGI server writes one; two would be invalid) and its Server (names the engine).
_RESPONSE_DROPPED = HOP_BY_HOP | {b"x-request-id", b"date", b"server"}

_SANE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")


@dataclass(slots=True)
class IncomingHeaders:
    """What the gateway needs from a client's headers, and what it forwards upstream."""

    authorization: str | None
    request_id: str
    content_length: int | None
    forward: list[tuple[str, str]]
    duplicate: str | None = None  # a credential header sent more than once: refuse (401)
    cookie: str | None = None  # the Cookie header: the dashboard's session (no Authorization)
    csrf: str | None = None  # its X-CSRF-Token header


def new_request_id() -> str:
    """32 hex digits: a UUID's worth of randomness, in a form engines that validate request ids
    as UUIDs accept (llama-cpp-python's server answers 400 to anything `uuid.UUID` rejects).

    From `random`, not the OS: an id traces a request, it guards nothing, and os.urandom costs
    a system call per request."""
    return f"{getrandbits(128):032x}"


def _uuid_shaped(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def split_request_headers(raw: RawHeaders, client_host: str | None, scheme: str) -> IncomingHeaders:
    """One pass: pick out auth, request id and length; keep the allowed rest for the upstream."""
    authorization: str | None = None
    api_key: bytes | None = None
    duplicate: str | None = None
    request_id: str | None = None
    content_length: int | None = None
    forwarded_for: str | None = None
    forward: list[tuple[str, str]] = []
    connection_tokens: frozenset[bytes] = frozenset()
    accept_encoding = False
    cookie: str | None = None
    csrf: str | None = None
    for name, value in raw:
        if name in FORWARDED or name.startswith(_FORWARDED_PREFIX):
            forward.append((name.decode("latin-1"), value.decode("latin-1")))
            accept_encoding = accept_encoding or name == b"accept-encoding"
        elif name == b"authorization":
            if authorization is not None:
                duplicate = "Authorization"
            authorization = value.decode("latin-1")
        elif name == b"x-request-id":
            if _SANE_REQUEST_ID.match(value):
                request_id = value.decode("ascii")
        elif name == b"content-length":
            content_length = int(value) if value.isdigit() else None
        elif name == b"x-forwarded-for":
            forwarded_for = value.decode("latin-1")
        elif name == b"connection":
            # Headers named in Connection are hop-by-hop too (RFC 9110 7.6.1).
            connection_tokens = frozenset(t.strip().lower() for t in value.split(b","))
        elif name == b"xi-api-key":
            if api_key is not None:
                duplicate = "xi-api-key"
            api_key = value
        elif name == b"cookie":
            cookie = (
                value.decode("latin-1")
                if cookie is None
                else f"{cookie}; {value.decode('latin-1')}"
            )
        elif name == b"x-csrf-token":
            csrf = value.decode("latin-1")
    if authorization is None and api_key:
        authorization = "Bearer " + api_key.decode("latin-1")
    if connection_tokens:
        forward = [(k, v) for k, v in forward if k.encode("latin-1") not in connection_tokens]
    if not accept_encoding:
        # Bytes pass through undecoded, so the engine must not compress unasked; saying so
        # here also stops the client library from adding its own Accept-Encoding.
        forward.append(("Accept-Encoding", "identity"))
    if request_id is None:
        request_id = upstream_id = new_request_id()
    elif _uuid_shaped(request_id):
        upstream_id = request_id
    else:
        # Engines such as llama-cpp-python's server answer 400 to a request id that is not a
        # UUID: they get one of ours, the client's own id goes along in a header they ignore.
        upstream_id = new_request_id()
        forward.append(("X-Client-Request-Id", request_id))
    if client_host:
        forwarded_for = f"{forwarded_for}, {client_host}" if forwarded_for else client_host
    if forwarded_for:
        forward.append(("X-Forwarded-For", forwarded_for))
    forward.append(("X-Forwarded-Proto", scheme))
    forward.append(("X-Request-Id", upstream_id))
    return IncomingHeaders(
        authorization, request_id, content_length, forward, duplicate, cookie, csrf
    )


def response_headers(
    raw: RawHeaders, request_id_header: tuple[bytes, bytes]
) -> list[tuple[bytes, bytes]]:
    """The upstream's headers minus hop-by-hop ones, plus our X-Request-Id.

    Content-Length is kept: bytes pass through unchanged (no decompression). Without it the
    ASGI server frames the body itself (chunked), which is how SSE streams reach the client.
    """
    headers: list[tuple[bytes, bytes]] = []
    for name, value in raw:
        lowered = name.lower()  # ASGI wants lower-case names
        if lowered not in _RESPONSE_DROPPED:
            headers.append((lowered, value))
    headers.append(request_id_header)
    return headers
