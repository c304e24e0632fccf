"""/api/v1/catalog: what a create form offers, in one read (docs/catalog.md).

Engines (the native `framework` values, with where their weights may come from and whether
this host can run them as processes), the vendor presets that pin a model onto an engine, the
supported-model and server-version lists, and the operator's plans with their prices. All of
it is fixed for the server's life but `installed`, so the dashboard reads it once per visit.
"""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum

from fastapi import APIRouter
from pydantic import BaseModel

from modelport.api.deps import CurrentPrincipal, Services
from modelport.catalog import (
    Currency,
    FrameworkPreset,
    ModelSourceKind,
    PresetKind,
    SkuType,
    TaskType,
    all_presets,
    dynamo_display_name,
    supported_models,
)
from modelport.domain.specs import Framework, RuntimeKind, ScaleMetric
from modelport.engines.registry import adapters

router = APIRouter(prefix="/catalog", tags=["catalog"])


class ModelField(StrEnum):
    """A `spec.model` field that can name an engine's weights."""

    PATH = "path"  # a file or directory on the host (the model store needs no host access)
    HF_ID = "hf_id"  # a Hugging Face repo
    MODEL_ID = "model_id"  # a model of the project's repository (/api/v1/models)
    IMAGE = "image"  # a container image


_F, _M = Framework, ModelField
# Framework -> (how a form names it, the model fields it takes, first = the usual one).
_ENGINES: tuple[tuple[Framework, str, tuple[ModelField, ...]], ...] = (
    (_F.LLAMACPP, "llama.cpp (GGUF, CPU-friendly)", (_M.PATH, _M.HF_ID, _M.MODEL_ID)),
    (_F.VLLM, "vLLM", (_M.HF_ID, _M.MODEL_ID, _M.PATH)),
    (_F.SGLANG, "SGLang", (_M.HF_ID, _M.MODEL_ID, _M.PATH)),
    (_F.DYNAMO, "NVIDIA Dynamo", (_M.HF_ID, _M.MODEL_ID, _M.PATH)),
    (_F.TRITON, "Triton Inference Server", (_M.MODEL_ID, _M.PATH, _M.IMAGE)),
    (_F.TORCHSERVE, "TorchServe", (_M.MODEL_ID, _M.PATH, _M.IMAGE)),
    (_F.TENSORRT, "TensorRT-LLM", (_M.HF_ID, _M.MODEL_ID, _M.PATH)),
    (_F.CUSTOM, "Custom command or container", (_M.IMAGE, _M.PATH)),
)


class CatalogEngine(BaseModel):
    framework: Framework  # spec.framework
    display_name: str
    weights_from: list[ModelField]  # spec.model fields it takes, the usual one first
    installed: bool  # it can run as a local process on this server's host
    missing: str | None  # what this host lacks when not installed (docker/ray may still run it)


class SupportedModel(BaseModel):
    hf_id: str
    display_name: str | None = None  # the vendor's name for it, where the list gives one


class CatalogPreset(BaseModel):
    """A vendor `framework` value (TIR): an engine, or a model pinned onto one."""

    value: str
    display_name: str
    kind: PresetKind
    engine: Framework  # the spec.framework it becomes
    task: TaskType
    model_source: ModelSourceKind
    gpu_count: int  # GPUs one replica needs by default
    hf_id: str | None  # the model a model preset serves
    supported_models: list[SupportedModel] | None  # None: any Hugging Face id
    server_versions: list[str] | None  # None: any spec.server_version


class CatalogPrice(BaseModel):
    sku_item_price_id: int
    sku_type: SkuType
    committed_days: int
    price_per_hour: float
    currency: Currency


class CatalogPlan(BaseModel):
    """A machine shape one replica gets (spec.resources), with its prices."""

    sku_id: int
    sku_name: str
    cpu: float
    memory_mb: int
    gpu_count: int
    gpu_type: str | None
    disk_gb: int | None
    locations: list[str]
    prices: list[CatalogPrice]


class CatalogLocation(BaseModel):
    name: str
    runtime: str


class Catalog(BaseModel):
    engines: list[CatalogEngine]
    presets: list[CatalogPreset]
    plans: list[CatalogPlan]
    locations: list[CatalogLocation]
    runtimes: list[RuntimeKind]  # spec.runtime values
    scale_metrics: list[ScaleMetric]  # spec.autoscale.rules[].metric values


@router.get("", response_model=Catalog)
def get_catalog(_principal: CurrentPrincipal, services: Services) -> Catalog:
    """Engines, presets, plans with prices and locations: the choices of a create form."""
    plans = services.plans
    return Catalog(
        engines=[_engine(*row) for row in _ENGINES],
        presets=[_preset(p) for p in all_presets()],
        plans=[CatalogPlan.model_validate(p, from_attributes=True) for p in plans.plans()],
        locations=[
            CatalogLocation(name=loc.name, runtime=loc.runtime) for loc in plans.locations()
        ],
        runtimes=list(RuntimeKind),
        scale_metrics=list(ScaleMetric),
    )


def _engine(framework: Framework, name: str, fields: tuple[ModelField, ...]) -> CatalogEngine:
    missing = adapters()[framework].available()
    return CatalogEngine(
        framework=framework,
        display_name=name,
        weights_from=list(fields),
        installed=missing is None,
        missing=missing,
    )


def _preset(preset: FrameworkPreset) -> CatalogPreset:
    listed = supported_models(preset.value)
    named = preset.engine is Framework.DYNAMO  # only the Dynamo list gives display names
    models = None
    if listed is not None:
        models = [
            SupportedModel(hf_id=m, display_name=dynamo_display_name(m) if named else None)
            for m in listed
        ]
    return CatalogPreset.model_validate({**asdict(preset), "supported_models": models})
