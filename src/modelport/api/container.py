"""The services the API routes call, built once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from modelport.catalog import PlanCatalog
from modelport.clock import Clock
from modelport.models.objects import open_objects
from modelport.security.secrets import SecretBox
from modelport.services.datasets import DatasetService
from modelport.services.endpoints import EndpointService
from modelport.services.host_policy import allowed_dirs
from modelport.services.integrations import IntegrationService
from modelport.services.invocations import InvocationService, QueueLimits, results_in
from modelport.services.models import ModelLimits, ModelService
from modelport.services.projects import ProjectService
from modelport.services.tokens import TokenService
from modelport.settings import Settings
from modelport.store.base import Store

_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True, slots=True)
class ApiServices:
    endpoints: EndpointService
    tokens: TokenService
    projects: ProjectService
    plans: PlanCatalog  # the operator's plans and locations (MODELPORT_PLANS_FILE or shipped)
    gateway_base_url: str  # where clients reach inference, e.g. http://127.0.0.1:8080
    invocations: InvocationService | None = None  # async invocations; None: not served
    # Where async results land (docs/datasets.md). Last and optional only so that the apps
    # tests build without datasets keep their positional construction; build() always sets it.
    datasets: DatasetService | None = None
    models: ModelService | None = None  # the model repository (docs/models.md); build() sets it
    integrations: IntegrationService | None = None  # named credentials (docs/integrations.md)
    # Raises while the server cannot serve (its database does not answer): GET /readyz.
    readiness: Callable[[], None] | None = None

    @classmethod
    def build(
        cls,
        store: Store,
        box: SecretBox,
        clock: Clock,
        settings: Settings,
        plans: PlanCatalog | None = None,
        routes_changed: Callable[[], None] = lambda: None,
    ) -> ApiServices:
        base_url = gateway_base_url(settings)
        datasets = DatasetService(store, box, settings.home / "datasets")
        models = ModelService(
            store,
            open_objects(
                settings.model_objects_url,
                settings.model_objects_options,
                settings.model_objects_dir,
            ),
            ModelLimits(settings.model_max_file_bytes, settings.model_max_bytes),
            clock,
        )
        integrations = IntegrationService(store, box)
        catalog = plans or PlanCatalog.load(settings.plans_file)
        return cls(
            endpoints=EndpointService(
                store,
                box,
                clock,
                base_url,
                plans=catalog,
                model_dirs=allowed_dirs(settings.models_dir, settings.model_dir_paths),
                datasets=datasets,
                integrations=integrations,
                models=models,
                routes_changed=routes_changed,
            ),
            tokens=TokenService(store),
            projects=ProjectService(store),
            datasets=datasets,
            integrations=integrations,
            models=models,
            plans=catalog,
            gateway_base_url=base_url,
            readiness=store.ping,
            invocations=InvocationService(
                store,
                clock,
                QueueLimits(settings.async_ttl_seconds, settings.async_queue_limit),
                results_in(datasets),
            ),
        )


def gateway_base_url(settings: Settings) -> str:
    """Where clients reach the gateway: MODELPORT_PUBLIC_URL, else this server's address
    (loopback for a wildcard bind)."""
    if settings.public_url is not None:
        return settings.public_url
    host = "127.0.0.1" if settings.host in _WILDCARD_HOSTS else settings.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"
