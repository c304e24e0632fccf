"""schemathesis over every management API's own OpenAPI document: the native /api/v1 and the
TIR, DeepInfra and Tensormesh dialects.

Each API is served in-process exactly as the server mounts it (create_app + mount_dialects over
ApiServices.build), on a real SQLite store with the bootstrap server-admin token, a member, a
viewer and an inference key, and one object per API that its path parameters can name. Every
operation gets a fresh store (a generated DELETE cannot starve the operations after it) and runs
positive and negative cases, half of them with the path parameters of the seeded objects, under
every kind of token. No controller runs, so nothing a generated spec describes is ever started.

Checked per response: no 5xx, the status code is documented, the content type and body match
what the document declares for that status, and documented headers are present; data that does
not fit the schema is refused with a 4xx. Bounded and deterministic: a fixed number of examples,
derandomized, no example database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from modelport.api.app import ApiServices, create_app
from modelport.clock import SystemClock
from modelport.dialects.registry import mount_dialects
from modelport.domain.records import ProjectLimits, Role
from modelport.security.secrets import SecretBox
from modelport.security.sessions import SessionCookies
from modelport.services.auth import Authenticator
from modelport.services.bootstrap import ensure_bootstrap
from modelport.services.tokens import mint_token
from modelport.settings import Settings
from modelport.store.repositories import SqlStore, open_store
from modelport.ui.app import mount_ui
from tests.security.conftest import bounded
from tests.unit.dialects.tir.conftest import request as tir_request

# Where each API's document is served once mounted; its paths are relative to `servers`.
DOCUMENTS = {
    "native": "/openapi.json",
    "tir": "/tir/openapi.json",
    "deepinfra": "/deepinfra/openapi.json",
    "tensormesh": "/tensormesh/openapi.json",
}
# Per operation and generation mode. Every operation of every API is fuzzed in every CI run, so
# the count is kept to what finds shape errors (each run draws new cases): 12 (it was 25, 9.5
# min of CPU on a 2-core CI machine).
EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    ignored_auth,  # a 2xx with a token is also sent without one and with a wrong one: 401/403
]
# The callers' tokens are this test's choice (CALLERS), so schemathesis must not also mutate the
# Authorization header it derives from the security scheme.
# A negative case may also be refused for its size (413, the API's body limit is 64 KiB here):
# that is a rejection too.
REJECTED = [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"with-security-parameters": False},
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
    }
)
CALLERS = ("admin", "member", "viewer", "key", "garbage", "none")


@dataclass
class Site:
    """One API process's worth of state: the app, a bearer token per caller, seeded objects."""

    app: FastAPI
    store: SqlStore
    settings: Settings
    authenticator: Authenticator
    tokens: dict[str, str]
    project_id: int
    endpoint: str  # native name
    token_id: int
    tir_id: int
    deploy_id: str
    model_id: str

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "none":
            return {}
        token = self.tokens.get(caller, "mp_not-a-real-token")
        return {"Authorization": f"Bearer {token}"}

    def known_path(self, path: str) -> dict[str, Any]:
        """Path parameters that name the seeded object of this operation's resource."""
        if path.startswith("/api/v1/projects/"):
            return {"name": "default"}
        return {
            "name": self.endpoint,
            "token_id": self.token_id,
            "inference_id": self.tir_id,
            "deploy_id": self.deploy_id,
            "modelId": self.model_id,
            "deploymentId": self.model_id,  # Tensormesh's deployment logs/metrics
            "project": self.project_id,  # TIR's SDK-shaped paths: /teams/{team}/projects/{project}
            "team": 1,
        }


def open_site(home: Path) -> Site:
    settings = Settings(home=home, port=8080, max_body_bytes=64 * 1024)
    settings.ensure_home()
    store = open_store(settings.effective_database_url)
    clock = SystemClock()
    box = SecretBox.from_key_file(settings.secret_key_path, settings.secret_key)
    admin = ensure_bootstrap(store, settings)
    assert admin is not None
    authenticator = Authenticator(store, clock)
    services = ApiServices.build(store, box, clock, settings)
    app = create_app(services, authenticator, settings)
    mount_dialects(app, services, authenticator, settings)
    mount_ui(app, SessionCookies(box))  # /ui/session is fuzzed with the native API

    project = store.get_project_by_name("default")
    tokens = {"admin": admin}
    for role in (Role.MEMBER, Role.VIEWER):
        tokens[role.value] = mint_token(store, project.id, role.value, role)[1]
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {admin}"
        created = _ok(client.post("/api/v1/endpoints", json=create_body("native", "web")))
        tokens["key"] = created["api_key"]
        token_id = _ok(client.post("/api/v1/tokens", json={"name": "spare"}))["id"]
        tir = client.post(
            "/tir/serving/inference/",
            params={"project_id": project.id, "location": "Delhi"},
            json=create_body("tir", "tir-chat"),
        )
        deploy = client.post("/deepinfra/deploy/llm", json=create_body("deepinfra", "acme/chat"))
        model = client.post("/tensormesh/v1/models", json=create_body("tensormesh", "mesh-chat"))
    return Site(
        app=app,
        store=store,
        settings=settings,
        authenticator=authenticator,
        tokens=tokens,
        project_id=project.id,
        endpoint="web",
        token_id=token_id,
        tir_id=_ok(tir)["data"]["id"],
        deploy_id=_ok(deploy)["deploy_id"],
        model_id=_ok(model)["model"]["modelId"],
    )


def create_body(api: str, name: str) -> dict[str, Any]:
    """A valid create request of `api` for an endpoint called `name`."""
    if api == "native":
        return {"name": name, "spec": {"framework": "custom", "command": ["serve"]}}
    if api == "tir":
        return tir_request(name=name)
    if api == "deepinfra":
        return {"model_name": name, "gpu": "L4-24GB"}
    return {
        "modelName": name,
        "userId": "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
        "modelPath": "meta-llama/Llama-3.2-1B-Instruct",
        "gpuCount": 1,
        "gpuType": "GPU_TYPE_H100",
    }


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def operations(site: Site, api: str) -> list[Any]:
    schema = schemathesis.openapi.from_asgi(DOCUMENTS[api], site.app, config=CONFIG)
    return [result.ok() for result in schema.get_all_operations()]


def fuzz_operation(
    site: Site, operation: Any, mode: GenerationMode, on_case: Callable[[int], None]
) -> None:
    """EXAMPLES cases of one operation; raises the first (shrunk) failure hypothesis finds."""
    names = {p.name for p in operation.path_parameters}
    known = {k: v for k, v in site.known_path(operation.path).items() if k in names}
    query = {"project_id": site.project_id} if _has_query(operation, "project_id") else None
    generated = operation.as_strategy(generation_mode=mode)
    seeded = operation.as_strategy(generation_mode=mode, path_parameters=known, query=query)

    @bounded(EXAMPLES)
    @given(case=st.one_of(generated, seeded), caller=st.sampled_from(CALLERS))
    def run(case: Any, caller: str) -> None:
        on_case(1)
        case.call_and_validate(headers=site.headers(caller), checks=CHECKS)

    run()


def _has_query(operation: Any, name: str) -> bool:
    return any(p.name == name for p in operation.query)


# The native API has by far the most operations: its fuzzing is split in parts, each well
# inside the per-test timeout on a loaded 2-core machine (whole, it took 307 s there).
SHARDS = {"native": 3}
PARTS = [(api, part) for api in DOCUMENTS for part in range(SHARDS.get(api, 1))]


@pytest.mark.parametrize(("api", "part"), PARTS, ids=[f"{api}-{part}" for api, part in PARTS])
def test_every_operation_answers_as_documented(api: str, part: int, tmp_path: Path) -> None:
    started = time.monotonic()
    count = 0

    def counted(n: int) -> None:
        nonlocal count
        count += n

    failures: list[str] = []
    listed = operations(open_site(tmp_path / "doc"), api)
    assert listed, f"{api}: no operations in {DOCUMENTS[api]}"
    for index, listed_op in enumerate(listed):
        if index % SHARDS.get(api, 1) != part:
            continue  # another part's operation
        site = open_site(tmp_path / f"op{index}")  # fresh state for every operation
        operation = next(
            op
            for op in operations(site, api)
            if (op.method, op.path) == (listed_op.method, listed_op.path)
        )
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz_operation(site, operation, mode, counted)
            except Unsatisfiable:
                # No parameter of this operation can be made invalid (e.g. a free-form path
                # string): there is no negative case to send.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} [{mode.value}]:\n{exc}")
    print(
        f"\nschemathesis {api}: {len(listed)} operations, {count} cases, "
        f"{len(failures)} failing, {time.monotonic() - started:.1f} s"
    )
    assert not failures, "\n\n".join(failures)


# Each API's create operation: where the limits a generated case never reaches apply.
CREATES = {
    "native": ("POST", "/api/v1/endpoints"),
    "tir": ("POST", "/serving/inference/"),
    "deepinfra": ("POST", "/deploy/llm"),
    "tensormesh": ("POST", "/v1/models"),
}


@pytest.mark.parametrize("api", list(DOCUMENTS))
def test_limit_answers_are_documented(api: str, tmp_path: Path) -> None:
    """An oversized body (413), JSON nested past the limit (400) and a full endpoint quota
    (429) answer as the document says, in the API's own envelope."""
    site = open_site(tmp_path)
    method, path = CREATES[api]
    operation = next(
        op for op in operations(site, api) if (op.method.upper(), op.path) == (method, path)
    )
    url = operation.full_path
    params = {"project_id": site.project_id, "location": "Delhi"} if api == "tir" else {}
    headers = {**site.headers("admin"), "Content-Type": "application/json"}
    project = site.store.get_project_by_name("default")
    endpoints = len(site.store.list_endpoints(project.id))
    site.store.update_project(project.id, limits=ProjectLimits(max_endpoints=endpoints))
    site.authenticator.forget()  # the cached principal carries the old limits
    bodies = {
        413: b'{"x": "' + b"a" * (site.settings.max_body_bytes + 1) + b'"}',
        400: b'{"x": ' + b"[" * 100 + b"]" * 100 + b"}",
        429: json.dumps(
            create_body(api, "acme/more" if api == "deepinfra" else "one-more")
        ).encode(),
    }
    with TestClient(site.app) as client:
        for status, body in bodies.items():
            response = client.request(method, url, params=params, content=body, headers=headers)
            assert response.status_code == status, (status, response.text)
            assert str(status) in operation.definition.raw["responses"], f"{status} undocumented"
            operation.validate_response(response)  # the body, against the documented schema
