"""Matching a requested GPU type ("H100-80GB", "A100", "RTXPRO6000-96GB") to an installed GPU
name as the driver reports it ("NVIDIA H100 80GB HBM3 (80GB)").

Users and vendor APIs spell GPU types in catalogue form, drivers in marketing form. A request
matches an installed GPU when its model part equals one run of consecutive words of the
installed name (so "L4" never matches an "L40S") and its memory, when given, is within 10% of
the installed GPU's memory (vendors round differently: 80GB is 79.6 GiB on an H100).
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Z0-9]+")
_MEMORY = re.compile(r"^(\d+)GB$")
_MEMORY_TOLERANCE = 0.10


def gpu_type_matches(wanted: str, installed: str) -> bool:
    want_model, want_memory = _split(wanted)
    have_words = _WORD.findall(installed.upper())
    have_memory = [int(m.group(1)) for w in have_words if (m := _MEMORY.match(w))]
    model = "".join(want_model)
    if model and not _is_run_of(model, [w for w in have_words if not _MEMORY.match(w)]):
        return False
    if want_memory is None or not have_memory:
        return True
    return any(abs(have - want_memory) <= _MEMORY_TOLERANCE * want_memory for have in have_memory)


def _split(wanted: str) -> tuple[list[str], int | None]:
    words = _WORD.findall(wanted.upper())
    memory = None
    model: list[str] = []
    for word in words:
        found = _MEMORY.match(word)
        if found:
            memory = int(found.group(1))
        elif word != "NVIDIA":
            model.append(word)
    return model, memory


def _is_run_of(model: str, words: list[str]) -> bool:
    """True when `model` is the concatenation of words[i:j] for some i < j."""
    for start in range(len(words)):
        joined = ""
        for word in words[start:]:
            joined += word
            if joined == model:
                return True
            if not model.startswith(joined):
                break
    return False
