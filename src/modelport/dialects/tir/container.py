"""A TIR endpoint's container fields and where its replicas run.

- `container_name` is the image (spec.model.image); `image_pull_policy` is spec's.
- `container_type: private` pulls with the registry login of an integration:
  `private_image_details.registry_namespace_id` -> spec.model.registry_integration (its id).
- The runtime: the request's `runtime` (Modelport's addition) when given; else an image-only
  custom container (framework custom, a `container_name`, no commands: the image's ENTRYPOINT,
  with `args` as its CMD) runs on docker, the only runtime that can run an image as it is;
  else the location's runtime from the plan catalog (None without a location: the server's
  default).
"""

from __future__ import annotations

from modelport.catalog import PlanCatalog
from modelport.dialects.tir.schemas import ContainerIn, EndpointRequest
from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import Framework, RuntimeKind

CONTAINER_FIELD = "custom_endpoint_details.container"
REGISTRY_FIELD = f"{CONTAINER_FIELD}.private_image_details.registry_namespace_id"


def image(container: ContainerIn) -> str | None:
    name = container.container_name.strip()
    if container.container_type == "private" and not name:
        field = f"{CONTAINER_FIELD}.container_name"
        raise InvalidSpec(f"{field}: a private container needs the image to pull", field=field)
    return name or None


def registry_integration(container: ContainerIn) -> str | None:
    """The integration whose registry login pulls a private image; None for a public one."""
    if container.container_type != "private":
        return None
    namespace = container.private_image_details.registry_namespace_id
    if namespace is None:
        raise InvalidSpec(
            f"{REGISTRY_FIELD}: required when container_type is private (the id of a registry "
            "integration: modelport integrations add NAME --kind registry)",
            field=REGISTRY_FIELD,
        )
    return str(namespace)


def runtime(
    request: EndpointRequest,
    engine: Framework,
    commands: list[str],
    plans: PlanCatalog,
    location: str | None,
) -> RuntimeKind | None:
    if request.runtime is not None:
        return request.runtime
    image = request.custom_endpoint_details.container.container_name.strip()
    if engine is Framework.CUSTOM and image and not commands:
        return RuntimeKind.DOCKER
    return location_runtime(plans, location)


def location_runtime(plans: PlanCatalog, location: str | None) -> RuntimeKind | None:
    """The runtime the catalog names for `location`; None for no location or one it lacks
    (a private cluster's location need not be in the catalog)."""
    if location is None:
        return None
    wanted = location.strip().lower()
    for known in plans.locations():
        if known.name.lower() == wanted:
            try:
                return RuntimeKind(known.runtime)
            except ValueError:
                raise InvalidSpec(
                    f"location: {known.name} runs on {known.runtime!r}, which this server does "
                    f"not know (one of {', '.join(RuntimeKind)}); fix the plan catalog",
                    field="location",
                ) from None
    return None
