"""Catalogs: framework presets from the vendor seeds, and the operator's plan/SKU catalog."""

from modelport.catalog.frameworks import (
    FrameworkPreset,
    ModelSourceKind,
    PresetKind,
    TaskType,
    all_presets,
    lookup_framework,
)
from modelport.catalog.plan_file import Currency, Plan, PriceItem, SkuType
from modelport.catalog.plans import (
    Location,
    PlanCatalog,
    PlanCatalogError,
    ResolvedPlan,
    to_resources,
)
from modelport.catalog.supported_models import (
    dynamo_display_name,
    server_versions,
    supported_models,
    validate_hf_model,
    validate_server_version,
)

__all__ = [
    "Currency",
    "FrameworkPreset",
    "Location",
    "ModelSourceKind",
    "Plan",
    "PlanCatalog",
    "PlanCatalogError",
    "PresetKind",
    "PriceItem",
    "ResolvedPlan",
    "SkuType",
    "TaskType",
    "all_presets",
    "dynamo_display_name",
    "lookup_framework",
    "server_versions",
    "supported_models",
    "to_resources",
    "validate_hf_model",
    "validate_server_version",
]
