"""A real TorchServe for tests: the opt-in venv from scripts/setup-torchserve.sh, and a tiny
TorchScript model (one linear layer with fixed weights) archived as a .mar with a small handler.

torch lives only in that venv (it is ~1 GB and not one of Modelport's dependencies), so the model
is built by the venv's own interpreter.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_ENV = "MODELPORT_TORCHSERVE_VENV"
DEFAULT_VENV = REPO / ".venv-torchserve"
BUILD_TIMEOUT_S = 120.0

# y = W x + b; a request {"inputs": [[1, 1, 1]]} answers {"outputs": [[6.5, 0.5]]}.
WEIGHT = ((1.0, 2.0, 3.0), (0.0, -1.0, 0.5))
BIAS = (0.5, 1.0)

_BUILD_MODEL = f"""
import sys
import torch

layer = torch.nn.Linear(3, 2)
with torch.no_grad():
    layer.weight.copy_(torch.tensor({WEIGHT!r}))
    layer.bias.copy_(torch.tensor({BIAS!r}))
torch.jit.script(layer).save(sys.argv[1])
"""

# A module-level handler (TorchServe's custom-service form): no BaseHandler, so no numpy.
_HANDLER = """
import json

import torch

_model = None


def handle(data, context):
    global _model
    if _model is None:
        _model = torch.jit.load(context.system_properties["model_dir"] + "/linear.pt")
        _model.eval()
    if data is None:  # TorchServe's warm-up call at load
        return None
    answers = []
    for row in data:
        body = row.get("body") or row.get("data")
        if isinstance(body, (bytes, bytearray)):
            body = json.loads(body)
        with torch.no_grad():
            out = _model(torch.tensor(body["inputs"], dtype=torch.float32))
        answers.append({"outputs": out.tolist()})
    return answers
"""


@dataclass(frozen=True)
class TorchServeInstall:
    venv: Path

    @property
    def bin_dir(self) -> Path:
        return self.venv / "bin"

    def path_env(self) -> str:
        """PATH with the venv's torchserve first, for a server whose replicas run it."""
        return f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def find_install() -> tuple[TorchServeInstall | None, str]:
    """The TorchServe venv, or None and the exact reason it cannot run here."""
    venv = Path(os.environ.get(VENV_ENV) or DEFAULT_VENV)
    if shutil.which("java") is None:
        return None, "no `java` on PATH: TorchServe's frontend needs Java 11+"
    for program in ("torchserve", "torch-model-archiver", "python"):
        if not (venv / "bin" / program).exists():
            return None, (
                f"{venv / 'bin' / program} is missing: run scripts/setup-torchserve.sh "
                f"(or set ${VENV_ENV})"
            )
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import torch, yaml, ts"],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if probe.returncode != 0:
        return None, f"{venv} cannot import torch, yaml and ts: {probe.stderr.strip()[-300:]}"
    return TorchServeInstall(venv), ""


@contextlib.contextmanager
def linear_model_store(install: TorchServeInstall, name: str = "linear") -> Iterator[Path]:
    """A model store holding `<name>.mar`: the linear layer scripted by TorchScript, with its
    handler; yields the archive's path. The store is under the system's temporary directory,
    readable by every user (replicas may run as their own uids); removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="mp-torchserve-"))
    try:
        root.chmod(0o755)
        work, store = root / "src", root / "store"
        work.mkdir()
        store.mkdir()
        (work / "handler.py").write_text(_HANDLER)
        _run([str(install.bin_dir / "python"), "-c", _BUILD_MODEL, str(work / "linear.pt")])
        _run(
            [
                str(install.bin_dir / "torch-model-archiver"),
                "--model-name", name,
                "--version", "1.0",
                "--serialized-file", str(work / "linear.pt"),
                "--handler", str(work / "handler.py"),
                "--export-path", str(store),
            ]
        )  # fmt: skip
        archive = store / f"{name}.mar"
        store.chmod(0o755)
        archive.chmod(0o644)
        yield archive
    finally:
        shutil.rmtree(root, ignore_errors=True)


def expected_outputs(inputs: list[list[float]]) -> list[list[float]]:
    """What the archived layer answers for `inputs`, computed here without torch."""
    return [
        [
            sum(w * x for w, x in zip(row, vector, strict=True)) + b
            for row, b in zip(WEIGHT, BIAS, strict=True)
        ]
        for vector in inputs
    ]


def _run(argv: list[str]) -> None:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
