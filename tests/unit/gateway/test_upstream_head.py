"""The request head the upstream client writes: one buffer, exact bytes."""

from __future__ import annotations

from modelport.gateway.upstream import request_head


def test_head_has_host_headers_in_order_and_length_for_bodies() -> None:
    head = request_head("POST", "/v1/chat?x=1", "10.0.0.2:8000", [("A", "1"), ("B", "é")], 12)
    assert head == (
        b"POST /v1/chat?x=1 HTTP/1.1\r\nHost: 10.0.0.2:8000\r\nA: 1\r\nB: \xe9\r\n"
        b"Content-Length: 12\r\n\r\n"
    )


def test_methods_with_bodies_say_zero_length_and_others_say_nothing() -> None:
    assert b"Content-Length: 0\r\n" in request_head("POST", "/", "h:1", [], 0)
    assert b"Content-Length: 0\r\n" in request_head("PUT", "/", "h:1", [], 0)
    assert b"Content-Length" not in request_head("GET", "/", "h:1", [], 0)
    assert b"Content-Length: 3\r\n" in request_head("DELETE", "/", "h:1", [], 3)
