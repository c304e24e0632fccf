"""How much memory a model needs, for POST /v1/models/check: what can be measured here.

The weights need their size on disk (a GGUF file, or a directory's weight files); a Hugging Face
id is not on this server's disk until a replica downloads it into its own directory, so it
cannot be measured. The KV offloading buffer is the vLLM flag the deploy set (or the user's).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from modelport.domain.specs import EngineArgValue

GIB = 1024**3
WEIGHT_SUFFIXES = frozenset({".gguf", ".safetensors", ".bin", ".pt", ".pth"})
OFFLOAD_FLAG = "kv-offloading-size"  # vLLM's host-memory KV buffer, GiB (options.py sets it)


def weights_gib(path: str) -> float | None:
    """The weights' size in GiB (3 decimals), or None where there is nothing to measure."""
    root = Path(path)
    try:
        if root.is_file():
            size = root.stat().st_size
        elif root.is_dir():
            size = sum(
                f.stat().st_size
                for f in root.rglob("*")
                if f.suffix in WEIGHT_SUFFIXES and f.is_file()
            )
        else:
            return None
    except OSError:  # removed or unreadable meanwhile
        return None
    return round(size / GIB, 3) if size else None


def offload_gib(engine_args: Mapping[str, EngineArgValue]) -> float:
    """The KV-cache offloading buffer the engine was given, in GiB (0 without one)."""
    value = engine_args.get(OFFLOAD_FLAG)
    if isinstance(value, bool) or value is None:
        return 0.0
    try:
        return float(value)
    except ValueError:
        return 0.0
