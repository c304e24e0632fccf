"""`modelport models upload|ls|get|rm` against the live API: a directory uploaded in chunks
becomes a READY model whose files match their sha256; an interrupted upload resumes where
the server's copy ends; a ready model is not uploaded into again."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelport.sdk import Client
from tests.unit.cli.helpers import json_out, run
from tests.unit.sdk.live_server import LiveServer, live_server

MIB = 1024 * 1024


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    # The server's object store in the test's directory, not the host's default.
    monkeypatch.setenv("MODELPORT_MODEL_OBJECTS_URL", str(tmp_path / "objects"))
    with live_server(tmp_path) as running:
        yield running


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_upload_a_directory_then_list_and_remove(server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "smol"
    (source / "weights").mkdir(parents=True)
    weights = os.urandom(9 * MIB)  # three 4 MiB chunks
    (source / "weights/model.gguf").write_bytes(weights)
    (source / "config.json").write_bytes(b"{}")

    model = json_out(run(server, "models", "upload", "smol", str(source), "--json"))

    assert model["status"] == "ready" and model["total_size"] == len(weights) + 2
    assert model["files"] == [
        {"path": "config.json", "size": 2, "sha256": _sha(b"{}")},
        {"path": "weights/model.gguf", "size": len(weights), "sha256": _sha(weights)},
    ]
    stored = tmp_path / "objects" / f"p1/m{model['id']}/files/weights/model.gguf"
    assert stored.read_bytes() == weights
    listed = json_out(run(server, "models", "ls", "--json"))["items"]
    assert [(m["name"], m["status"]) for m in listed] == [("smol", "ready")]
    table = run(server, "models", "ls")
    assert "smol" in table.stdout and "ready" in table.stdout and "9.0 MiB" in table.stdout

    again = run(server, "models", "upload", "smol", str(source))
    assert again.exit_code == 1 and "ready already" in again.output
    assert json_out(run(server, "models", "rm", "smol", "--json")) == {"deleted": "smol"}
    assert not stored.exists()
    assert json_out(run(server, "models", "ls", "--json"))["items"] == []


def test_an_interrupted_upload_resumes_where_the_server_copy_ends(
    server: LiveServer, tmp_path: Path
) -> None:
    data = os.urandom(3 * MIB)
    file = tmp_path / "model.gguf"
    file.write_bytes(data)
    with Client(server.url, server.admin_token) as client:
        client.create_model("smol")
        # An earlier attempt stored its first chunk, then died.
        first = httpx.put(
            f"{server.url}/api/v1/models/smol/files/model.gguf",
            content=data[:MIB],
            headers={
                "Authorization": f"Bearer {server.admin_token}",
                "Content-Type": "application/octet-stream",
                "Content-Range": f"bytes 0-{MIB - 1}/{len(data)}",
                "X-Content-SHA256": _sha(data),
            },
        )
        assert first.status_code == 200, first.text
        assert first.json()["received"] == MIB
        seen: list[int] = []
        done = client.upload_file(
            "smol", file, chunk_bytes=MIB, progress=lambda d, _t: seen.append(d)
        )

    assert seen == [2 * MIB, 3 * MIB]  # the first MiB was not sent again
    assert done.complete and done.sha256 == _sha(data)
    model = json_out(run(server, "models", "upload", "smol", str(file), "--json"))
    assert model["status"] == "ready" and model["files"][0]["sha256"] == _sha(data)
