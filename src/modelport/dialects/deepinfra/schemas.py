"""DeepInfra's deployment API shapes (seed 002: POST /deploy/llm and the deploy objects).

Field names, enums, defaults and ranges follow DeepInfra's documents. ScaleSettings ranges are
not in the seed; Modelport's are 0..100 (min_instances) and 1..100 (max_instances).
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelport.domain.numbers import RequestModel
from modelport.domain.text import Line, Text

MAX_INSTANCES = 100
_NAME_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}"
MODEL_NAME = re.compile(rf"^{_NAME_PART}/{_NAME_PART}$")


class GpuType(StrEnum):
    """The GPU a deployment's instances run on ("other": any type this host has)."""

    L4_24GB = "L4-24GB"  # NVIDIA L4
    L40S_48GB = "L40S-48GB"  # NVIDIA L40S
    A100_80GB = "A100-80GB"  # NVIDIA A100 80 GB
    H100_80GB = "H100-80GB"  # NVIDIA H100 80 GB
    H200_141GB = "H200-141GB"  # NVIDIA H200
    B200_180GB = "B200-180GB"  # NVIDIA B200
    B300_270GB = "B300-270GB"  # NVIDIA B300
    RTXPRO6000_96GB = "RTXPRO6000-96GB"  # NVIDIA RTX PRO 6000
    OTHER = "other"  # no particular type


class DeployType(StrEnum):
    """What kind of deployment DeepInfra reports; this endpoint creates `llm` ones."""

    LEGACY = "legacy"  # DeepInfra's older model deployments
    LLM = "llm"  # POST /deploy/llm
    LORA = "lora"  # LoRA adapters over a base model
    TTS = "tts"  # text to speech


class DeployStatus(StrEnum):
    """DeepInfra's deployment statuses (the values GET /deploy/list?status= accepts)."""

    INITIALIZING = "initializing"  # accepted; no instance launched yet (or waiting for GPUs)
    DOWNLOADING = "downloading"  # fetching weights (Modelport has no separate step: unused)
    DEPLOYING = "deploying"  # an instance is starting, none serves yet
    RUNNING = "running"  # at least one instance serves
    STOPPED = "stopped"  # stopped on request; config and settings kept
    FAILED = "failed"  # instances keep failing to start or crash
    DELETED = "deleted"  # delete requested; torn down, then gone


class _Input(RequestModel):
    model_config = ConfigDict(extra="forbid")


class HFWeights(_Input):
    """Where the weights come from: a Hugging Face repo (or, here, a local .gguf file)."""

    repo: Line = Field(min_length=1, max_length=1024)
    revision: Line | None = Field(default=None, min_length=1, max_length=256)
    token: Line | None = Field(default=None, min_length=1, max_length=4096)  # write-only


class ScaleSettings(_Input):
    min_instances: int = Field(default=1, ge=0, le=MAX_INSTANCES)
    max_instances: int = Field(default=1, ge=1, le=MAX_INSTANCES)

    @model_validator(mode="after")
    def _bounds(self) -> ScaleSettings:
        check_bounds(self.min_instances, self.max_instances)
        return self


def check_bounds(min_instances: int, max_instances: int) -> None:
    if max_instances < min_instances:
        raise ValueError(
            f"max_instances: must be >= min_instances ({max_instances} < {min_instances})"
        )


class DeployLLMIn(_Input):
    """POST /deploy/llm."""

    model_name: str = Field(description="model name for deepinfra (username/model-name format)")
    gpu: GpuType
    num_gpus: int = Field(default=1, ge=1, le=8)
    max_batch_size: int = Field(default=96, ge=1, le=256)
    hf: HFWeights | None = None
    base_model: Line | None = Field(default=None, min_length=1, max_length=1024)
    settings: ScaleSettings = Field(default_factory=ScaleSettings)
    extra_args: list[Text] | None = Field(default=None, max_length=256)

    @field_validator("model_name")
    @classmethod
    def _model_name(cls, v: str) -> str:
        return check_model_name(v)


def check_model_name(value: str) -> str:
    if not MODEL_NAME.fullmatch(value):  # not match: "$" also matches before a final "\n"
        raise ValueError(
            "model_name: must be 'username/model-name': two parts of letters, digits, '.', "
            "'_' and '-' (each starting with a letter or digit, at most 96 characters)"
        )
    return value


class ScaleSettingsUpdate(_Input):
    """Settings in PUT /deploy/{deploy_id}: a field left out keeps its current value."""

    min_instances: int | None = Field(default=None, ge=0, le=MAX_INSTANCES)
    max_instances: int | None = Field(default=None, ge=1, le=MAX_INSTANCES)


class DeployUpdateIn(_Input):
    """PUT /deploy/{deploy_id}: settings change; config fields may be sent only unchanged."""

    settings: ScaleSettingsUpdate | None = None
    model_name: str | None = None
    gpu: GpuType | None = None
    num_gpus: int | None = Field(default=None, ge=1, le=8)
    max_batch_size: int | None = Field(default=None, ge=1, le=256)
    hf: HFWeights | None = None
    base_model: str | None = None
    extra_args: list[str] | None = None


class DeployInstances(BaseModel):
    running: int  # instances serving now
    pending: int  # instances wanted but not serving: waiting, starting or restarting


class DeployWeights(BaseModel):
    repo: str | None = None
    revision: str | None = None
    token: str | None = None  # never returned: always null


class ScaleSettingsOut(BaseModel):
    min_instances: int
    max_instances: int


class DeployLLMConfig(BaseModel):
    """Immutable deploy configuration."""

    gpu: GpuType
    num_gpus: int
    max_batch_size: int
    weights: DeployWeights | None = None


class DeployOut(BaseModel):
    deploy_id: str = Field(examples=["fkj843kjh8"])
    model_name: str
    version: str
    task: str
    status: DeployStatus
    fail_reason: str
    created_at: str  # ISO-8601, e.g. "2021-08-27T17:19:21+00:00"
    updated_at: str
    type: DeployType = DeployType.LEGACY
    instances: DeployInstances | None = None
    config: DeployLLMConfig | None = None
    settings: ScaleSettingsOut | None = None


class ValidationDetail(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """422: FastAPI's shape, without echoing input (it may hold hf.token)."""

    detail: list[ValidationDetail]


class ErrorOut(BaseModel):
    """Every other error: {"detail": "message"}."""

    detail: str
