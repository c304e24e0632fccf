"""/api/v1/models over HTTP: chunked resumable uploads checked against their sha256, size
limits (413), unsafe paths (400), READY models for endpoints' spec.model.model_id, delete
refused while used (409), and nothing of another project visible (404)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from modelport.api.app import ApiServices, create_app
from modelport.catalog import PlanCatalog
from modelport.models.objects import open_objects
from modelport.services.endpoints import EndpointService
from modelport.services.models import ModelLimits, ModelService
from modelport.settings import Settings
from tests.unit.api.conftest import MAX_BODY, Api, assert_error
from tests.unit.services.harness import GATEWAY, make_world

DATA = bytes(range(256)) * 200  # 51 200 bytes: two chunks under the API's body limit
SHA = hashlib.sha256(DATA).hexdigest()
MAX_FILE = 100_000
MAX_MODEL = 150_000


@pytest.fixture
def models_api(tmp_path: Path) -> Iterator[Api]:
    world = make_world(tmp_path)
    models = ModelService(
        world.store,
        open_objects(None, {}, tmp_path / "objects"),
        ModelLimits(MAX_FILE, MAX_MODEL),
        world.clock,
    )
    endpoints = EndpointService(world.store, world.box, world.clock, GATEWAY, models=models)
    services = ApiServices(
        endpoints, world.tokens, world.projects, PlanCatalog.load(), GATEWAY, models=models
    )
    settings = Settings(home=tmp_path / "home", max_body_bytes=MAX_BODY, port=8080)
    app = create_app(services, world.authenticator, settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(world, client)
    world.store.close()


def put(
    api: Api, path: str, body: bytes, start: int | None = None, total: int = len(DATA), **kw: Any
) -> httpx.Response:
    headers = {"X-Content-SHA256": kw.pop("sha", SHA), **kw.pop("headers", {})}
    if start is not None:
        headers["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{total}"
    return api.call(
        kw.pop("who", "member"), "PUT", f"/models/smol/files/{path}", content=body, headers=headers
    )


def uploaded(api: Api, name: str = "smol") -> dict[str, Any]:
    assert api.admin("POST", "/models", json={"name": name}).status_code == 201
    assert put(api, "w/model.gguf", DATA).json()["complete"]
    ready: dict[str, Any] = api.admin("POST", f"/models/{name}/ready").json()
    return ready


def test_chunked_upload_resumes_from_what_is_stored(models_api: Api) -> None:
    api = models_api
    created = api.call("member", "POST", "/models", json={"name": "smol", "description": "d"})
    assert created.status_code == 201 and created.json()["status"] == "uploading"

    first = put(api, "w/model.gguf", DATA[:20_000], start=0)
    assert first.status_code == 200
    assert first.json() | {"sha256": None} == {
        "model": "smol",
        "path": "w/model.gguf",
        "received": 20_000,
        "total": len(DATA),
        "complete": False,
        "sha256": None,
    }
    # The client died; a new one asks where to resume.
    state = api.call("member", "GET", "/models/smol/files/w/model.gguf/upload").json()
    assert (state["received"], state["complete"]) == (20_000, False)
    skipped = put(api, "w/model.gguf", DATA[30_000:], start=30_000)
    assert_error(skipped, 409, "Content-Range")
    assert "resume from byte 20000" in skipped.json()["error"]["message"]

    done = put(api, "w/model.gguf", DATA[20_000:], start=20_000)
    assert done.json()["complete"] and done.json()["received"] == len(DATA)
    model = api.call("viewer", "GET", "/models/smol").json()
    assert model["files"] == [{"path": "w/model.gguf", "size": len(DATA), "sha256": SHA}]
    assert model["uploading"] == [] and model["content_key"] is None

    ready = api.call("member", "POST", "/models/smol/ready").json()
    assert ready["status"] == "ready" and len(ready["content_key"]) == 64
    assert_error(put(api, "x.json", b"{}", sha=hashlib.sha256(b"{}").hexdigest()), 409, "name")
    listed = api.call("viewer", "GET", "/models").json()["items"]
    assert [m["name"] for m in listed] == ["smol"]


def test_a_wrong_sha256_is_422_and_the_upload_is_discarded(models_api: Api) -> None:
    api = models_api
    api.admin("POST", "/models", json={"name": "smol"})
    put(api, "f.bin", DATA[:10_000], start=0, sha="0" * 64)
    wrong = put(api, "f.bin", DATA[10_000:], start=10_000, sha="0" * 64)
    assert_error(wrong, 422, "X-Content-SHA256")
    assert SHA in wrong.json()["error"]["message"]
    state = api.admin("GET", "/models/smol/files/f.bin/upload").json()
    assert (state["received"], state["complete"], state["total"]) == (0, False, None)
    assert_error(put(api, "f.bin", DATA, sha="not-hex"), 422, "X-Content-SHA256")
    assert_error(api.admin("POST", "/models/smol/ready"), 409, "name")  # no files yet


def test_size_limits_are_413_naming_the_limit(models_api: Api) -> None:
    api = models_api
    api.admin("POST", "/models", json={"name": "smol"})
    too_big = put(api, "big.bin", DATA[:1000], start=0, total=MAX_FILE + 1)
    assert_error(too_big, 413, "Content-Range")
    assert "MODELPORT_MODEL_MAX_FILE_BYTES" in too_big.json()["error"]["message"]
    assert put(api, "a.bin", DATA).json()["complete"]
    assert put(api, "b.bin", DATA[:10_000], start=0, total=90_000).status_code == 200
    over = put(api, "c.bin", DATA)  # 51 200 + 90 000 in progress + 51 200 > 150 000
    assert_error(over, 413, "Content-Length")
    assert "MODELPORT_MODEL_MAX_BYTES" in over.json()["error"]["message"]


@pytest.mark.parametrize("path", ["..%2Fsecret", "a/%2E%2E/b", "a%01b", "%2Fetc%2Fpasswd", "a//b"])
def test_unsafe_paths_are_400_naming_path(models_api: Api, path: str) -> None:
    models_api.admin("POST", "/models", json={"name": "smol"})
    assert_error(put(models_api, path, b"x", sha=SHA), 400, "path")


def test_malformed_range_is_400_naming_it(models_api: Api) -> None:
    models_api.admin("POST", "/models", json={"name": "smol"})
    bad = put(models_api, "f", b"abc", headers={"Content-Range": "bytes 5-1/10"})
    assert_error(bad, 400, "Content-Range")


def test_endpoints_use_ready_models_and_keep_them(models_api: Api) -> None:
    api = models_api
    spec = {"framework": "custom", "command": ["serve", "{port}"]}
    api.admin("POST", "/models", json={"name": "smol"})
    for ref in ("nope", "smol"):  # unknown, then still uploading
        refused = api.admin(
            "POST", "/endpoints", json={"name": "web", "spec": {**spec, "model": {"model_id": ref}}}
        )
        assert_error(refused, 422, "spec.model.model_id")
    api.admin("DELETE", "/models/smol")
    model = uploaded(api)

    by_id = {"name": "web", "spec": {**spec, "model": {"model_id": str(model["id"])}}}
    assert api.admin("POST", "/endpoints", json=by_id).status_code == 201
    used = api.admin("DELETE", "/models/smol")
    assert_error(used, 409, "name")
    assert "web" in used.json()["error"]["message"]
    assert api.admin("GET", "/models/smol").status_code == 200

    api.admin("PATCH", "/endpoints/web", json={"spec": {"model": {"model_id": None}}})
    assert api.admin("DELETE", "/models/smol").status_code == 204
    assert_error(api.admin("GET", "/models/smol"), 404, None)


def test_another_project_sees_nothing(models_api: Api) -> None:
    api = models_api
    uploaded(api)
    for method, path in (
        ("GET", "/models/smol"),
        ("POST", "/models/smol/ready"),
        ("DELETE", "/models/smol"),
        ("GET", "/models/smol/files/w/model.gguf/upload"),
    ):
        assert api.call("other_admin", method, path).status_code == 404, (method, path)
    assert put(api, "w/model.gguf", DATA, who="other_admin").status_code == 404
    assert api.call("other_admin", "GET", "/models").json()["items"] == []
    # Their endpoints cannot name it either, by name or id.
    spec = {"framework": "custom", "image": "x", "model": {"model_id": "smol"}}
    refused = api.call("other_admin", "POST", "/endpoints", json={"name": "w", "spec": spec})
    assert refused.status_code in (403, 422)


def test_viewers_cannot_change_anything(models_api: Api) -> None:
    api = models_api
    assert_error(api.call("viewer", "POST", "/models", json={"name": "m"}), 403, None)
    uploaded(api)
    assert api.call("viewer", "DELETE", "/models/smol").status_code == 403
    assert put(api, "x", b"x", who="viewer").status_code == 403


def test_one_put_larger_than_the_api_body_limit_streams_without_a_content_type(
    models_api: Api,
) -> None:
    """`curl -T big.gguf`: no Content-Type, no chunks. The file streams to the object store
    (the per-file limit applies, not MODELPORT_MAX_BODY_BYTES, and it is not read as JSON)."""
    api = models_api
    big = bytes(range(256)) * 350  # 89 600 bytes: over the 64 KiB API body limit
    assert len(big) > MAX_BODY
    api.admin("POST", "/models", json={"name": "smol"})
    sent = api.call(
        "member",
        "PUT",
        "/models/smol/files/big.bin",
        content=big,
        headers={"X-Content-SHA256": hashlib.sha256(big).hexdigest()},
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["complete"] and sent.json()["received"] == len(big)
    # Other API bodies keep their limit.
    assert api.admin("POST", "/models", content=b"{" + b" " * MAX_BODY + b"}").status_code == 413
