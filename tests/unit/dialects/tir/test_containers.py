"""TIR's container, model-source, storage and runtime fields act on the spec and the launch plan.

Most checks translate a request with the dialect's own `to_spec` (fast, no server); a few go
through the real API to see the answers echo what was sent.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from modelport.catalog import PlanCatalog
from modelport.dialects.tir.container import REGISTRY_FIELD
from modelport.dialects.tir.schemas import EndpointRequest
from modelport.dialects.tir.translate import to_spec
from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import ContainerPlan, LaunchContext, MountPlan, RegistryLogin
from modelport.domain.specs import EndpointSpec, Framework, Mount, PullPolicy, RuntimeKind
from modelport.engines.registry import get_adapter
from tests.unit.dialects.tir.conftest import Tir, request

PLANS = PlanCatalog.load()
CONTAINER = "custom_endpoint_details.container"
IMAGE = "registry.example.com/team/server:2"
LOGIN = RegistryLogin(server="registry.example.com", username="bot", password="pw-1")
CTX = LaunchContext(host="0.0.0.0", port=8123, name="ep", env={"HF_TOKEN": "hf_x"}, registry=LOGIN)


def spec_of(body: dict[str, Any], location: str | None = "Delhi") -> EndpointSpec:
    return to_spec(EndpointRequest.model_validate(body), PLANS, location)


def custom(commands: str = "", args: str = "", **container: Any) -> dict[str, Any]:
    body = request(name="boxed", framework="custom")
    body["custom_endpoint_details"]["container"].update(container_name=IMAGE, **container)
    body["detailed_info"].update(hugging_face_id="", commands=commands, args=args)
    return body


def private(**details: Any) -> dict[str, Any]:
    return custom(container_type="private", private_image_details=details)


def test_seed_vllm_container_runs_the_vendor_image_with_the_same_flags() -> None:
    """The seed 000 example as TIR's clients send it: vllm/vllm-openai:latest, a Hub model."""
    body = request()
    body["detailed_info"]["args"] = base64.b64encode(b'["--max-model-len", "4096"]').decode()
    spec = spec_of(body)
    assert spec.model.image == "vllm/vllm-openai:latest"
    assert spec.model.hf_id == "meta-llama/Llama-3.2-1B-Instruct"
    assert (spec.image_pull_policy, spec.runtime) == (PullPolicy.ALWAYS, RuntimeKind.LOCAL)
    assert spec.model.registry_integration is None
    assert spec.mounts == [Mount(path="/mnt/models", size_gb=100)]  # the disk: a scratch dir
    plan = get_adapter(spec.framework).plan(spec, CTX)
    assert plan.argv[:3] == ["vllm", "serve", "meta-llama/Llama-3.2-1B-Instruct"]
    assert plan.argv[plan.argv.index("--max-model-len") + 1] == "4096"
    assert [(e.name, e.value) for e in spec.env] == [("HF_HOME", "/mnt/models/.cache")]
    assert plan.env["HF_TOKEN"] == "hf_x"  # the controller's decrypted env reaches the engine
    assert plan.container is not None
    assert plan.container.image == "vllm/vllm-openai:latest"
    assert plan.container.args == plan.argv[2:]  # the image's entrypoint is `vllm serve`
    assert (plan.container.pull_policy, plan.container.registry) == (PullPolicy.ALWAYS, LOGIN)
    # TIR's disk: a scratch disk at disk_path where the engine downloads the Hub id itself
    # (HF_HOME above); a container gets its own volume there.
    disk = MountPlan(source=None, target="/mnt/models", read_only=False, size_gb=100)
    assert plan.mounts == [disk]


def test_image_only_custom_container_runs_on_docker_with_its_entrypoint() -> None:
    spec = spec_of(custom(args='["--port", "8123"]'))
    assert (spec.framework, spec.runtime, spec.model.image) == (
        Framework.CUSTOM,
        RuntimeKind.DOCKER,
        IMAGE,
    )
    assert (spec.command, spec.extra_args) == ([], ["--port", "8123"])
    plan = get_adapter(spec.framework).plan(spec, CTX)
    assert plan.container == ContainerPlan(
        image=IMAGE,
        command=None,  # TIR's args alone are the image's CMD
        args=["--port", "8123"],
        pull_policy=PullPolicy.ALWAYS,
        registry=LOGIN,
    )
    assert plan.env["PORT"] == "8123"


def test_commands_replace_the_entrypoint_and_run_where_the_location_says() -> None:
    spec = spec_of(custom(commands='["python", "-m", "server"]', args="--port {port}"))
    assert spec.runtime is RuntimeKind.LOCAL  # Delhi's runtime in the plan catalog
    assert spec.command == ["python", "-m", "server", "--port", "{port}"]
    plan = get_adapter(spec.framework).plan(spec, CTX)
    assert plan.argv == ["python", "-m", "server", "--port", "8123"]
    assert plan.container is not None
    assert plan.container.command == ["python", "-m", "server", "--port", "8123"]


def test_the_request_may_choose_the_runtime() -> None:
    assert spec_of(custom(), location="Delhi").runtime is RuntimeKind.DOCKER
    assert spec_of({**custom(), "runtime": "LOCAL"}).runtime is RuntimeKind.LOCAL
    assert spec_of({**request(), "runtime": "docker"}).runtime is RuntimeKind.DOCKER
    on_private_cluster = request(
        cluster_type="private-cluster", private_cloud_id=3, custom_sku={"cpu": 1, "memory": 1}
    )
    assert spec_of(on_private_cluster, location=None).runtime is None  # the server's default


def test_private_image_pulls_with_the_registry_integration() -> None:
    spec = spec_of(private(registry_namespace_id=7))
    assert spec.model.registry_integration == "7"
    assert spec_of(private(registry_namespace_id="team-registry")).model.registry_integration == (
        "team-registry"
    )
    # A public image ignores a stray namespace id.
    assert (
        spec_of(
            custom(private_image_details={"registry_namespace_id": 7})
        ).model.registry_integration
        is None
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (private(), REGISTRY_FIELD),
        (private(registry_namespace_id=""), REGISTRY_FIELD),
        ({**private(registry_namespace_id=3), "custom_endpoint_details": {
            "container": {"container_type": "private", "container_name": "",
                          "private_image_details": {"registry_namespace_id": 3}}}},
         f"{CONTAINER}.container_name"),
        ({**custom(), "storage_type": "sfs"}, "sfs_path"),
        ({**custom(), "storage_type": "sfs", "sfs_path": "shared"}, "sfs_path"),
        ({**custom(), "storage_type": "sfs", "sfs_path": "/srv/../etc"}, "sfs_path"),
    ],
)  # fmt: skip
def test_bad_container_and_storage_fields_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        spec_of(body)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_model_id_and_integration_are_references() -> None:
    body = request(model_id=12, model_load_integration_id="5")
    body["detailed_info"]["hugging_face_id"] = ""
    spec = spec_of(body)
    assert (spec.model.model_id, spec.model.integration) == ("12", "5")
    assert spec.model.path is None  # the repository's files are fetched, not read from the disk
    assert spec_of(request(model_id="0012")).model.model_id == "12"
    assert spec_of(request(model_id="smol")).model.model_id == "smol"


def test_shared_file_storage_mounts_the_host_directory_at_the_disk_path() -> None:
    body = {**custom(), "storage_type": "sfs", "sfs_id": 4, "sfs_path": "/srv/shared/"}
    body["path"] = "llama/weights"
    spec = spec_of(body)
    assert spec.mounts == [Mount(path="/mnt/models", source="/srv/shared", read_only=False)]
    plan = get_adapter(spec.framework).plan(spec, CTX)
    assert MountPlan(source="/srv/shared", target="/mnt/models", read_only=False) in plan.mounts


def test_the_disk_is_mounted_at_mount_path_with_its_size() -> None:
    body = custom()
    body["custom_endpoint_details"]["resource_details"].update(disk_size=40, mount_path="/data")
    spec = spec_of(body)
    assert spec.mounts == [Mount(path="/data", size_gb=40)]
    assert spec.resources.disk_gb == 40


def _terraform(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with the Terraform resource's flat attribute names (seed 001)."""
    flat = copy.deepcopy(body)
    details = flat.pop("custom_endpoint_details")
    container = details["container"]
    advance = container.pop("advance_config")
    flat.update(
        model_path=flat.pop("path"),
        container_type=container["container_type"],
        container_name=container["container_name"],
        private_image_details=container["private_image_details"],
        image_pull_policy=advance["image_pull_policy"],
        is_readiness_probe_enabled=advance["is_readiness_probe_enabled"],
        readiness_probe=[advance["readiness_probe"]],
        liveness_probe=[advance["liveness_probe"]],
        resource_details=[details["resource_details"]],
        detailed_info=[flat["detailed_info"]],
    )
    return flat


def test_terraform_attribute_names_translate_like_the_rest_body() -> None:
    body = private(registry_namespace_id=7)
    advance = body["custom_endpoint_details"]["container"]["advance_config"]
    advance.update(image_pull_policy="IfNotPresent", is_readiness_probe_enabled=True)
    body["path"] = "/mnt/models/x"
    assert spec_of(_terraform(body)) == spec_of(body)
    clash = {**_terraform(body), "path": "/elsewhere"}
    with pytest.raises(ValueError, match="model_path: differs from path"):
        EndpointRequest.model_validate(clash)


def test_answers_echo_the_container_fields_and_put_changes_them(tir: Tir) -> None:
    body = private(registry_namespace_id=7)
    body.update(model_id="12", model_load_integration_id=5, storage_type="sfs", sfs_id=4,
                sfs_path="/srv/shared")  # fmt: skip
    body["custom_endpoint_details"]["container"]["advance_config"]["image_pull_policy"] = (
        "IfNotPresent"
    )
    data = tir.created(body)
    container = data["custom_endpoint_details"]["container"]
    assert (container["container_name"], container["container_type"]) == (IMAGE, "private")
    assert container["private_image_details"] == {"registry_namespace_id": 7}
    assert container["advance_config"]["image_pull_policy"] == "IfNotPresent"
    assert (data["model_id"], data["model_load_integration_id"]) == ("12", 5)  # as sent
    assert (data["storage_type"], data["sfs_id"], data["sfs_path"]) == ("sfs", 4, "/srv/shared")
    assert data["runtime"] == "docker"
    # Terraform's flat name in a PUT, as its provider would send a change.
    resp = tir.put(data["id"], {"action": "update", "image_pull_policy": "Always"})
    assert resp.status_code == 200, resp.text
    again = tir.get(data["id"])["custom_endpoint_details"]["container"]
    assert again["advance_config"]["image_pull_policy"] == "Always"
    spec = tir.native_endpoint("boxed")["spec"]
    assert spec["image_pull_policy"] == "Always"
    assert spec["model"]["registry_integration"] == "7"
    assert spec["runtime"] == "docker"


def test_a_private_container_without_a_registry_is_a_400_naming_it(tir: Tir) -> None:
    resp = tir.create(private())
    assert resp.status_code == 400, resp.text
    answer = resp.json()
    assert REGISTRY_FIELD in answer["errors"]
    assert REGISTRY_FIELD in answer["message"]
