"""The GPUs of this host, as nvidia-smi reports them."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections import Counter

log = logging.getLogger("modelport.runtime.gpus")

_QUERY = ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]
_TIMEOUT_SECONDS = 15.0


def query_gpus() -> dict[str, int]:
    """GPU name with its memory -> count, e.g. {"NVIDIA H100 80GB HBM3 (80GB)": 8}; empty when
    nvidia-smi is missing or fails (a CPU-only host)."""
    if shutil.which(_QUERY[0]) is None:
        return {}
    try:
        done = subprocess.run(
            _QUERY, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("nvidia-smi failed (%s); placing no GPU replicas here", exc)
        return {}
    if done.returncode != 0:
        log.warning("nvidia-smi exited %d; placing no GPU replicas here", done.returncode)
        return {}
    return parse_gpu_names(done.stdout)


def parse_gpu_names(output: str) -> dict[str, int]:
    """Lines of `name, memory MiB` -> "name (NGB)" -> count. The memory lets a request for
    "L4-24GB" match a driver name that does not say it (see domain.gpus)."""
    names: list[str] = []
    for line in output.splitlines():
        name, _, mib = line.strip().rpartition(",")
        if not name:  # no memory column: the bare name
            name, mib = mib, ""
        name = name.strip()
        if not name:
            continue
        mib = mib.strip()
        names.append(f"{name} ({round(int(mib) / 1024)}GB)" if mib.isdigit() else name)
    return dict(Counter(names))
