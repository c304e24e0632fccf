"""The GPUs of this host, as nvidia-smi reports them."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections import Counter

log = logging.getLogger("modelport.runtime.gpus")

_QUERY = ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]
_TIMEOUT_SECONDS = 15.0


def query_gpus() -> dict[str, int]:
    """GPU name -> count; empty when nvidia-smi is missing or fails (a CPU-only host)."""
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
    return dict(Counter(line.strip() for line in output.splitlines() if line.strip()))
