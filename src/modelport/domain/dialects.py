"""Where each vendor dialect lives on the server: the one table every reader uses.

A dialect has a name (also its key in `spec.extensions`), a management prefix (its FastAPI app
is mounted there) and inference bases (the gateway serves everything under them). The dialect
registry mounts exactly these dialects, the server's dispatcher sends every inference base to
the gateway, the gateway parses vendor URLs by these bases, and the dialects' management APIs
show clients URLs built from them. Pure data: nothing here imports anything of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Shape(Enum):
    """The URL layout under one inference base (the gateway's parser for each lives in
    gateway/dialect_paths.py)."""

    # {base}/p-{project}/endpoint/is-{id}/{rest}: the path names the endpoint (E2E TIR)
    BY_ID = "by_id"
    # {base}/{chat/completions|completions|embeddings|responses|models}: `model` in the body;
    # the base an OpenAI SDK takes as base_url
    OPENAI = "openai"
    # {base}/v1/... as OPENAI plus {base}/{tokenize|detokenize|health|version}: the layout of
    # an OpenAI-compatible server (vLLM's), the base Tensormesh's inference client takes
    OPENAI_SERVER = "openai_server"
    # {base}/{model}: DeepInfra's own inference API (`POST /v1/inference/{model}`)
    DEEPINFRA_NATIVE = "deepinfra_native"


@dataclass(frozen=True, slots=True)
class InferenceBase:
    shape: Shape
    path: str  # no trailing slash, e.g. "/deepinfra/v1/openai"

    @property
    def prefix(self) -> str:
        """What a path under this base starts with."""
        return self.path + "/"


@dataclass(frozen=True, slots=True)
class DialectHome:
    name: str  # also the key of what the dialect keeps in spec.extensions
    management_prefix: str  # its management API is mounted here, e.g. "/tir"
    inference: tuple[InferenceBase, ...]  # the gateway serves everything under these

    def base(self, shape: Shape) -> str:
        """The path of this dialect's base of `shape` (LookupError if it has none)."""
        for base in self.inference:
            if base.shape is shape:
                return base.path
        raise LookupError(f"dialect {self.name} has no {shape.value} inference base")


TIR = DialectHome("tir", "/tir", (InferenceBase(Shape.BY_ID, "/tir/project"),))
DEEPINFRA = DialectHome(
    "deepinfra",
    "/deepinfra",
    (
        InferenceBase(Shape.OPENAI, "/deepinfra/v1/openai"),
        InferenceBase(Shape.DEEPINFRA_NATIVE, "/deepinfra/v1/inference"),
    ),
)
TENSORMESH = DialectHome(
    "tensormesh", "/tensormesh", (InferenceBase(Shape.OPENAI_SERVER, "/tensormesh/openai"),)
)

DIALECTS: tuple[DialectHome, ...] = (DEEPINFRA, TENSORMESH, TIR)
BY_NAME = {dialect.name: dialect for dialect in DIALECTS}

# Every (dialect, base) the gateway serves, and the prefixes the dispatcher sends to it.
INFERENCE_BASES: tuple[tuple[DialectHome, InferenceBase], ...] = tuple(
    (dialect, base) for dialect in DIALECTS for base in dialect.inference
)
INFERENCE_PREFIXES: tuple[str, ...] = tuple(base.prefix for _, base in INFERENCE_BASES)
