"""`modelport deploy` flags for containers and model sources, against the real API over HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.unit.cli.helpers import json_out, run
from tests.unit.sdk.live_server import LiveServer, live_server

IMAGE = "registry.example.com/team/server:1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("deploy-runtime")) as running:
        yield running


@pytest.fixture(scope="module")
def references(server: LiveServer) -> None:
    """A READY model and two integrations the deploy flags name (the server checks refs)."""
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=auth) as api:
        for path, body in (
            ("/models", {"name": "smol"}),
            ("/integrations", {"name": "hf-main", "kind": "hugging_face", "token": "hf_x"}),
            (
                "/integrations",
                {
                    "name": "team-registry",
                    "kind": "registry",
                    "server": "registry.example.com",
                    "username": "bot",
                    "password": "pw-123456",
                },
            ),
        ):
            assert api.post(path, json=body).status_code == 201, path
        weights = b"w" * 64
        sha256 = {"X-Content-SHA256": hashlib.sha256(weights).hexdigest()}
        upload = api.put("/models/smol/files/weights.bin", content=weights, headers=sha256)
        assert upload.is_success, upload.text
        assert api.post("/models/smol/ready").status_code == 200


def deployed(server: LiveServer, name: str, *flags: str) -> dict[str, Any]:
    created = json_out(run(server, "deploy", name, *flags, "--no-wait", "--json"))
    assert created["name"] == name
    spec: dict[str, Any] = json_out(run(server, "get", name, "--json"))["spec"]
    return spec


def test_an_image_only_custom_endpoint_on_docker(server: LiveServer) -> None:
    spec = deployed(
        server,
        "boxed",
        "--framework", "custom",
        "--image", IMAGE,
        "--runtime", "docker",
        "--pull-policy", "ifnotpresent",  # case-insensitive, stored in Kubernetes' spelling
    )  # fmt: skip
    assert spec["runtime"] == "docker"
    assert spec["model"]["image"] == IMAGE
    assert spec["image_pull_policy"] == "IfNotPresent"
    assert spec["command"] == []


@pytest.mark.usefixtures("references")
def test_model_and_credentials_are_named_by_reference(server: LiveServer) -> None:
    spec = deployed(
        server,
        "private",
        "--framework", "custom",
        "--image", IMAGE,
        "--registry-integration", "team-registry",
        "--model-id", "smol",
        "--integration", "hf-main",
        "--runtime", "local",
    )  # fmt: skip
    assert spec["runtime"] == "local"
    model = spec["model"]
    assert (model["image"], model["registry_integration"]) == (IMAGE, "team-registry")
    assert (model["model_id"], model["integration"]) == ("smol", "hf-main")


def test_without_the_flags_the_server_decides(server: LiveServer) -> None:
    spec = deployed(server, "plain", "--framework", "custom", "--command", "serve {port}")
    assert spec["runtime"] is None
    assert spec["image_pull_policy"] is None
    assert spec["model"]["image"] is None


@pytest.mark.parametrize(
    ("flag", "value"), [("--runtime", "kubernetes"), ("--pull-policy", "sometimes")]
)
def test_an_unknown_choice_is_a_usage_error_naming_the_option(
    server: LiveServer, flag: str, value: str
) -> None:
    result = run(server, "deploy", "bad", "--framework", "custom", "--image", IMAGE, flag, value)
    assert result.exit_code == 2
    assert flag in result.output
    assert run(server, "get", "bad", "--json").exit_code != 0  # nothing was created
