"""Make this provider findable by Terraform without a registry: an unpacked filesystem mirror
(`HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE_vVERSION`) whose executable starts
this Python's provider. `modelport terraform install` and the tests use it; docs/terraform.md."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from modelport.terraform.provider import NATIVE_SOURCE, TIR_SOURCE

# The release of TIR's provider whose schema this one implements; a configuration pinned to
# another version gets it with `--provider-version`.
DEFAULT_VERSION = "1.1.1"
SOURCES = (TIR_SOURCE, NATIVE_SOURCE)
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Mirror:
    directory: Path
    executables: tuple[Path, ...]


def default_directory() -> Path:
    """Terraform's implied local mirror (found with no CLI configuration at all)."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "terraform" / "plugins"


def target() -> str:
    machine = platform.machine().lower()
    return f"{sys.platform.removesuffix('2')}_{_ARCH.get(machine, machine)}"


def command() -> list[str]:
    """How to start the provider: the console script beside this Python, else `-m`."""
    script = Path(sys.executable).parent / "terraform-provider-tir"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "modelport.terraform.main"]


def install(directory: Path, versions: tuple[str, ...] = (DEFAULT_VERSION,)) -> Mirror:
    """Writes (again, idempotently) one executable per source address and version."""
    script = "#!/bin/sh\nexec " + " ".join(shlex.quote(part) for part in command()) + ' "$@"\n'
    written: list[Path] = []
    for source in SOURCES:
        kind = source.rsplit("/", 1)[1]
        for version in versions:
            folder = directory / source / version / target()
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"terraform-provider-{kind}_v{version}"
            if not path.exists() or path.read_text() != script:
                path.write_text(script)
            path.chmod(0o755)
            written.append(path)
    return Mirror(directory, tuple(written))


def cli_config(directory: Path) -> str:
    """A CLI configuration (TF_CLI_CONFIG_FILE) that takes these providers from `directory`
    only and every other provider from its registry as usual."""
    sources = ", ".join(f'"{source}"' for source in SOURCES)
    return (
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{directory}"\n    include = [{sources}]\n  }}\n'
        f"  direct {{\n    exclude = [{sources}]\n  }}\n"
        "}\n"
    )
