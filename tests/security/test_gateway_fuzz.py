"""Fuzz of the gateway's paths against a real `modelport server` with a READY replica.

Hypothesis writes whole requests on a raw socket: methods (odd ones included), paths under
every gateway prefix (native /endpoints/{name}/..., /v1/*, the dialects' inference URLs) with
percent-encodings, dot segments and odd bytes, tokens of every kind (none, wrong, duplicated),
extra headers up to and past the server's count and size limits, and bodies of every shape
(deep JSON, wrong content types, invalid UTF-8, chunked). The replica is a stdlib echo server
that requires the per-replica key, so it answers 401 if anything but the gateway's own key
reaches it, and hangs up without answering on paths under /fail (a real upstream failure).

Every answer must be: a 2xx-4xx, or a 502/503/504 only where the upstream really failed; the
echo's own answer only with the replica key accepted; anything the gateway says itself in the
OpenAI error shape. Afterwards the server still serves a plain request. Bounded: a fixed number
of derandomized examples, no example database.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.security.conftest import bounded
from tests.support.server import ServerProcess, serving, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

EXAMPLES = 1000
TIMEOUT = 30.0  # per request; only a hung gateway comes near it

# A replica: answers any method and path with what reached it, once the gateway's replica key
# is on the request; under /fail it hangs up without a word. Stdlib only: the replica may run
# as an unprivileged user with nothing but the interpreter.
ECHO_ENGINE = r"""
import json, os, socketserver, sys
KEY = "Bearer " + os.environ.get("MODELPORT_REPLICA_KEY", "")
class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline(1 << 20)
            if not line.strip():
                return
            method, target = (line.split(b" ") + [b"", b""])[:2]
            headers = {}
            while (field := self.rfile.readline(1 << 20)).strip():
                name, _, value = field.partition(b":")
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            body = b""
            if headers.get("transfer-encoding", "").lower() == "chunked":
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    body += self.rfile.read(size)
                    self.rfile.readline()
                while self.rfile.readline().strip():
                    pass
            else:
                body = self.rfile.read(int(headers.get("content-length", "0")))
            if target.startswith(b"/fail"):
                return
            status = "200 OK" if headers.get("authorization") == KEY else "401 Unauthorized"
            out = json.dumps({"method": method.decode("latin-1"), "bytes": len(body)}).encode()
            if method == b"HEAD":
                out = b""
            self.wfile.write(
                b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: application/json\r\n"
                b"X-Echo: 1\r\nContent-Length: " + str(len(out)).encode() + b"\r\n\r\n" + out
            )
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
socketserver.ThreadingTCPServer((sys.argv[1], int(sys.argv[2])), Echo).serve_forever()
"""


def system_python() -> str:
    """An interpreter every uid may run (replicas of a root server run as their own uids; this
    test's may live under /root): the system's, else this one's real file."""
    return shutil.which("python3", path="/usr/bin:/bin") or os.path.realpath(sys.executable)


@dataclass
class Target:
    server: ServerProcess
    port: int
    tokens: dict[str, str]  # "admin", "key" (the echo endpoint's inference key)
    endpoint_id: int
    project_id: int


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    home = tmp_path_factory.mktemp("fuzz") / "home"
    home.mkdir()
    with serving(ServerProcess(home)) as server:
        with server.api() as api:
            spec = {
                "framework": "custom",
                "command": [system_python(), "-c", ECHO_ENGINE],
                "extra_args": ["{host}", "{port}"],
            }
            created = api.post("/api/v1/endpoints", json={"name": "echo", "spec": spec})
            assert created.status_code == 201, created.text
            endpoint = created.json()

            def ready() -> bool:
                return bool(api.get("/api/v1/endpoints/echo").json()["phase"] == "ready")

            assert wait_until(ready, timeout=120), api.get("/api/v1/endpoints/echo/events").text
        yield Target(
            server=server,
            port=server.port,
            tokens={"admin": server.admin_token, "key": endpoint["api_key"]},
            endpoint_id=endpoint["id"],
            project_id=endpoint["project_id"],
        )


# --- requests ----------------------------------------------------------------------------

# Methods the HTTP parser knows (an unknown token is a CORRUPTION below), the rare ones
# included; POST and GET weigh most: the inference routes take them.
_RARE_METHODS = "PUT PATCH DELETE HEAD OPTIONS TRACE PROPFIND MKCOL PURGE REPORT SEARCH LINK UNLOCK"
METHODS = st.sampled_from(["POST"] * 8 + ["GET"] * 4 + _RARE_METHODS.split())
# Path segments: dot segments, encoded slashes, NUL and newline, invalid and non-ASCII escapes.
ODD_SEGMENTS = "v1 chat completions models health .. . %2e%2e %2F %00 %0A %ZZ %C3%A9 %FF fail"
SEGMENT = st.one_of(
    st.sampled_from([*ODD_SEGMENTS.split(), "", "a" * 300, "%252F"]),
    st.text("abcXYZ019-._~%", max_size=20),
)
REST = st.lists(SEGMENT, max_size=5).map("/".join)
QUERY = st.one_of(st.just(""), st.text("ab=&%;+?/09", max_size=30).map(lambda q: "?" + q))


@st.composite
def paths(draw: st.DrawFn, target: Target) -> str:
    name = draw(st.sampled_from(["echo"] * 4 + ["missing", "", "%65cho", "ECHO", "echo%00", "."]))
    pid = draw(st.sampled_from([str(target.project_id), "0", "99999999999999999999999", "x"]))
    eid = draw(st.sampled_from([str(target.endpoint_id), "0", "-1", "9" * 30, "x"]))
    operation = draw(st.sampled_from(["chat/completions", "completions", "embeddings", "models"]))
    model_in_body = [f"/v1/{operation}", f"/tensormesh/openai/v1/{operation}"]
    shapes = [
        *model_in_body * 3,
        f"/endpoints/{name}/{draw(REST)}",
        f"/endpoints/{name}/fail/{draw(REST)}",
        f"/v1/{operation}",
        f"/v1/models/{draw(SEGMENT)}",
        f"/v1/{draw(REST)}",
        f"/tir/project/p-{pid}/endpoint/is-{eid}/{draw(REST)}",
        f"/tir/project/{draw(REST)}",
        f"/deepinfra/v1/openai/{operation}",
        f"/deepinfra/v1/openai/{draw(REST)}",
        f"/tensormesh/openai/v1/{operation}",
        f"/tensormesh/openai/{draw(REST)}",
    ]
    return draw(st.sampled_from(shapes)) + draw(QUERY)


JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    model = draw(st.sampled_from(["echo"] * 3 + ["missing", "", "deploy_id:1", None, 7, ["echo"]]))
    depth = draw(st.sampled_from([1, 63, 64, 65, 200, 1500, 5000]))  # about the limits
    kind = draw(
        st.sampled_from(
            [
                "empty",
                "chat",
                "chat",
                "json",
                "deep_list",
                "deep_list",
                "deep_object",
                "bytes",
                "utf8",
            ]
        )
    )
    if kind == "chat":
        payload: Any = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
        payload.update(draw(st.dictionaries(st.text(max_size=8), JSON, max_size=3)))
        return json.dumps(payload).encode()
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    if kind == "deep_list":
        return b'{"model": "echo", "x": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == "deep_object":
        return b'{"x": ' * depth + b"1" + b"}" * depth
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "utf8":  # invalid UTF-8 and lone surrogates inside otherwise fine JSON
        return b'{"model": "echo\xff\xfe", "s": "\\ud800"}'
    return b""


HEADER_NAME = st.text("abcdefghijklmnopqrstuvwxyz-ABCXYZ0123456789!#$%&'*+.^_`|~", min_size=1,
                      max_size=30)  # fmt: skip
# Visible ASCII and obs-text (0x80-0xFF, which HTTP/1.1 tolerates); DEL is a corruption below.
HEADER_VALUE = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
).map(lambda v: v.strip())
# What makes a request invalid HTTP: refused by the parser (400) before any gateway code runs.
CORRUPTIONS = {
    "method": lambda head: b"FROB" + head[head.index(b" ") :],
    "control": lambda head: head.replace(b"Host: fuzz", b"Host: fu\x7fzz"),
    "name": lambda head: head.replace(b"Host: fuzz", b"Ho st: fuzz"),
}


@st.composite
def requests(draw: st.DrawFn, target: Target) -> tuple[str, bytes, bool]:
    """(path, the whole request as bytes, whether it is valid HTTP)."""
    method = draw(METHODS)
    path = draw(paths(target))
    body = draw(bodies())
    lines = [f"{method} {path} HTTP/1.1", "Host: fuzz"]
    auth = draw(st.sampled_from(["admin"] * 4 + ["key"] * 3 + ["none", "wrong", "twice", "basic",
                                                              "lowercase"]))  # fmt: skip
    token = target.tokens.get(auth, target.tokens["admin"])
    auth_lines = {
        "none": [],
        "wrong": ["Authorization: Bearer mp_wrong"],
        "twice": [f"Authorization: Bearer {token}", f"Authorization: Bearer {token}"],
        "basic": ["Authorization: Basic YWRtaW46YWRtaW4="],
        "lowercase": [f"authorization: bearer {token}"],
    }.get(auth, [f"Authorization: Bearer {token}"])
    lines += auth_lines
    content_type = draw(
        st.sampled_from(
            [None, "application/json", "text/plain", "application/x-www-form-urlencoded",
             "application/json; charset=latin-1", "multipart/form-data; boundary=x", "*/*"]
        )
    )  # fmt: skip
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    extra = draw(st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=draw(st.sampled_from(
        [3, 20, 130]))))  # fmt: skip
    lines += [f"{name}: {value}" for name, value in extra]
    if draw(st.integers(0, 9)) == 0:  # one big header, at times past the head size limit
        lines.append("X-Big: " + "b" * draw(st.sampled_from([8_000, 40_000, 70_000])))
    framing = draw(st.sampled_from(["length", "length", "chunked", "none"]))
    if framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        wire = (f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    elif framing == "length" or body:
        lines.append(f"Content-Length: {len(body)}")
        wire = body
    else:
        wire = b""
    lines.append("Connection: close")
    head = "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n"
    corruption = draw(st.sampled_from([None] * 17 + list(CORRUPTIONS)))
    if corruption is not None:
        head = CORRUPTIONS[corruption](head)
    return path, head + wire, corruption is None


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def send(port: int, raw: bytes) -> Answer:
    """One request on its own connection; the answer read to the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        # The server may answer and close before reading it all (431, 413).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1.1 "), f"no HTTP answer: {data[:200]!r}"
    headers = {}
    for field in fields:
        name, _, value = field.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return Answer(int(status_line.split(" ")[1]), headers, body)


def _unchunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            return out
        out += data[:size]
        data = data[size + 2 :]


# Paths whose forwarded target starts with /fail: the echo replica hangs up on those.
_FAILING = re.compile(r"^/(endpoints/[^/?]*|tir/project/[^/?]*/endpoint/[^/?]*)/fail")


def upstream_fails(path: str) -> bool:
    return _FAILING.match(path) is not None


def is_openai_error(body: bytes) -> bool:
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return (
        isinstance(error, dict)
        and isinstance(error.get("message"), str)
        and isinstance(error.get("type"), str)
        and "code" in error
    )


def test_gateway_paths_never_fail_on_their_own(target: Target) -> None:
    seen: dict[int, int] = {}

    @bounded(EXAMPLES)
    @given(request=requests(target))
    def run(request: tuple[str, bytes, bool]) -> None:
        path, raw, valid = request
        method = raw.split(b" ", 1)[0]
        answer = send(target.port, raw)
        seen[answer.status] = seen.get(answer.status, 0) + 1
        if not valid:
            assert answer.status == 400, (answer.status, answer.body[:300], raw[:300])
            json.loads(answer.body)  # an error envelope, not the HTTP server's plain text
            return
        if answer.status >= 500:
            assert answer.status in (502, 503, 504) and upstream_fails(path), (
                answer.status,
                answer.body[:300],
                raw[:300],
            )
        if answer.headers.get("x-echo") == "1":
            # The replica answered: only ever with the gateway's replica key, never the client's.
            assert answer.status == 200, answer.body[:300]
        elif answer.status >= 400 and method != b"HEAD":
            assert is_openai_error(answer.body), (answer.status, answer.body[:300], raw[:300])
        elif method != b"HEAD":  # the gateway's own success: a model list or one model
            assert json.loads(answer.body)["object"] in ("list", "model"), answer.body[:300]

    run()
    print(f"\ngateway fuzz: {sum(seen.values())} requests, statuses {dict(sorted(seen.items()))}")
    plain = httpx.post(
        f"{target.server.base_url}/endpoints/echo/v1/chat/completions",
        headers={"Authorization": f"Bearer {target.tokens['key']}"},
        json={"model": "echo", "messages": []},
        timeout=TIMEOUT,
    )
    assert plain.status_code == 200 and plain.headers["x-echo"] == "1", plain.text
