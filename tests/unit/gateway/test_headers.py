"""What crosses the gateway: our token and hop-by-hop headers never reach an engine."""

from __future__ import annotations

import uuid

from modelport.gateway.headers import response_headers, split_request_headers


def test_request_headers_drop_auth_and_hop_by_hop_and_add_forwarding() -> None:
    incoming = split_request_headers(
        [
            (b"host", b"gw:8080"),
            (b"authorization", b"Bearer mp_secret"),
            (b"connection", b"keep-alive, x-private"),
            (b"x-private", b"hop"),
            (b"keep-alive", b"timeout=5"),
            (b"transfer-encoding", b"chunked"),
            (b"content-length", b"12"),
            (b"content-type", b"application/json"),
            (b"accept", b"text/event-stream"),
            (b"x-forwarded-for", b"10.0.0.9"),
        ],
        client_host="127.0.0.1",
        scheme="http",
    )
    assert incoming.authorization == "Bearer mp_secret"
    assert incoming.content_length == 12
    forwarded = dict(incoming.forward)
    assert forwarded == {
        "content-type": "application/json",
        "accept": "text/event-stream",
        "Accept-Encoding": "identity",  # bytes pass through undecoded: no surprise gzip
        "X-Forwarded-For": "10.0.0.9, 127.0.0.1",
        "X-Forwarded-Proto": "http",
        "X-Request-Id": incoming.request_id,
    }


def test_a_sane_client_request_id_is_kept_and_a_hostile_one_replaced() -> None:
    kept = split_request_headers([(b"x-request-id", b"abc-123_x.y:z")], None, "https")
    assert kept.request_id == "abc-123_x.y:z"  # echoed to the client as sent
    # Engines that insist on UUID request ids get one of ours; the client's id rides along.
    upstream = dict(kept.forward)
    uuid.UUID(upstream["X-Request-Id"])
    assert upstream["X-Client-Request-Id"] == "abc-123_x.y:z"
    as_uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    passed = split_request_headers([(b"x-request-id", as_uuid.encode())], None, "https")
    assert dict(passed.forward)["X-Request-Id"] == as_uuid
    assert "X-Client-Request-Id" not in dict(passed.forward)
    hostile = split_request_headers([(b"x-request-id", b"evil\r\nset-cookie: x")], None, "http")
    assert hostile.request_id != "evil\r\nset-cookie: x"
    assert hostile.request_id.isalnum()
    assert dict(hostile.forward)["X-Request-Id"] == hostile.request_id


def test_xi_api_key_is_a_credential_used_only_without_authorization() -> None:
    only_key = split_request_headers([(b"xi-api-key", b"mp_k")], None, "http")
    assert only_key.authorization == "Bearer mp_k"
    assert "xi-api-key" not in dict(only_key.forward)
    both = split_request_headers(
        [(b"xi-api-key", b"mp_k"), (b"authorization", b"Bearer mp_a")], None, "http"
    )
    assert both.authorization == "Bearer mp_a"
    assert "xi-api-key" not in dict(both.forward)


def test_fresh_request_ids_differ() -> None:
    first = split_request_headers([], None, "http").request_id
    second = split_request_headers([], None, "http").request_id
    assert first != second


def test_fresh_request_ids_parse_as_uuids() -> None:
    """llama-cpp-python's server answers 400 to an X-Request-Id that `uuid.UUID` rejects."""
    request_id = split_request_headers([], None, "http").request_id
    assert uuid.UUID(request_id).hex == request_id


def test_response_headers_drop_hop_by_hop_keep_length_and_add_our_id() -> None:
    headers = response_headers(
        [
            (b"Content-Type", b"text/event-stream"),
            (b"Transfer-Encoding", b"chunked"),
            (b"Connection", b"keep-alive"),
            (b"Content-Length", b"5"),
            (b"X-Request-Id", b"engine-own"),
        ],
        (b"x-request-id", b"ours"),
    )
    assert headers == [
        (b"content-type", b"text/event-stream"),
        (b"content-length", b"5"),
        (b"x-request-id", b"ours"),
    ]


def test_the_clients_accept_encoding_is_forwarded_as_is() -> None:
    incoming = split_request_headers([(b"accept-encoding", b"gzip")], None, "http")
    assert [v for k, v in incoming.forward if k.lower() == "accept-encoding"] == ["gzip"]
