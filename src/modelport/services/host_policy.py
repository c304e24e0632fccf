"""Which parts of a spec make the host run or read arbitrary things (docs/security.md).

A pure function of the spec and the allowed model directories: the endpoint service refuses
what it lists unless the caller may use the host (the server admin, or a project it granted).
Each use names its field (rooted at "spec") and why it needs the permission. Its `key` says
what exactly is used, so a patch only needs the permission for content the stored spec lacks.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from modelport.domain.specs import (
    EndpointSpec,
    EngineArgValue,
    Framework,
    ProbeProtocol,
    ProbeSpec,
    RuntimeKind,
)

PERMISSION = "host access"
HOW_TO_GET_IT = (
    "ask the server admin to grant host access: modelport projects set PROJECT --host-access"
)

# Loader and interpreter variables: each makes a process load or run code (or read files) the
# spec names. Exact names, then prefixes. Modelport itself sets only harmless PYTHON* ones.
_LOADER_ENV = frozenset(
    {
        "PATH",
        "HOME",  # user site-packages, dotfiles
        "BASH_ENV",
        "ENV",
        "SHELLOPTS",
        "BASHOPTS",
        "PS4",
        "IFS",
        "PROMPT_COMMAND",
        "NODE_OPTIONS",
        "NODE_PATH",
        "PERL5OPT",
        "PERL5LIB",
        "PERLLIB",
        "PERL5DB",
        "RUBYOPT",
        "RUBYLIB",
        "GCONV_PATH",
        "GLIBC_TUNABLES",
        "LOCPATH",
        "NLSPATH",
        "HOSTALIASES",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "CLASSPATH",
        "LUA_INIT",
        "LUA_PATH",
        "LUA_CPATH",
        "TCLLIBPATH",
        "OPENSSL_CONF",
        "OPENSSL_ENGINES",
    }
)
_LOADER_ENV_PREFIXES = ("LD_", "DYLD_", "PYTHON", "BASH_FUNC_", "MALLOC_")
_HARMLESS_PYTHON_ENV = frozenset(
    {
        "PYTHONUNBUFFERED",  # set by Modelport itself
        "PYTHONIOENCODING",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "PYTHONUTF8",
        "PYTHONFAULTHANDLER",
    }
)

# engine_args that name a file or directory, by a conservative name rule (any engine): every
# string value of these is a path. Exceptions are flags whose value is never read as a file.
_FILE_ARG = re.compile(r"(path|paths|file|files|dir|dirs|directory|certs?|keyfile|config)$")
_NOT_FILE_ARGS = frozenset({"root_path"})  # llama.cpp: the URL prefix it is served under
# engine_args whose value is a model, tokenizer, adapter or template: a Hugging Face id, a
# name, inline text, or a path. Only values that look like paths are checked.
_MODEL_ARG = re.compile(r"model|tokenizer|template|lora|adapter|mmproj|grammar|draft|clip|vocab")
_HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")
_INLINE = frozenset("{}\n")  # a Jinja template given inline, never read as a file


@dataclass(frozen=True, slots=True)
class HostUse:
    """One part of a spec that needs host access."""

    field: str  # "spec.readiness.commands", "spec.env.2.name", ...
    reason: str  # why it needs the permission, for the error message
    key: str = dataclasses.field(repr=False)  # what is used: equal keys mean the same content

    def message(self) -> str:
        return (
            f"{self.field}: {self.reason}; this needs the {PERMISSION} permission, "
            f"which this token's project lacks ({HOW_TO_GET_IT})"
        )


def allowed_dirs(model_store: Path, configured: Iterable[Path]) -> tuple[str, ...]:
    """The model store and the operator's model directories, resolved (symlinks, `..`)."""
    return tuple(os.path.realpath(p) for p in (model_store, *configured))


def is_allowed_path(path: str, dirs: Sequence[str]) -> bool:
    """An absolute path that, resolved, lies inside one of `dirs` (already resolved).

    Relative paths are refused: they resolve against a working directory the API cannot see.
    """
    if not os.path.isabs(path) or "\x00" in path:
        return False
    real = os.path.realpath(path)
    return any(real == d or real.startswith(d.rstrip(os.sep) + os.sep) for d in dirs)


def host_uses(spec: EndpointSpec, dirs: Sequence[str]) -> list[HostUse]:
    """Every part of `spec` that runs or reads arbitrary things on the host."""
    if spec.runtime is RuntimeKind.DOCKER:
        return _container_host_uses(spec, dirs)
    uses: list[HostUse] = []
    if spec.framework is Framework.CUSTOM and spec.command:
        uses.append(
            HostUse(
                "spec.command", "a custom command runs on the host", _key("command", spec.command)
            )
        )
    for which, probe in (("readiness", spec.readiness), ("liveness", spec.liveness)):
        if probe is not None:
            uses.extend(_probe_uses(which, probe))
    if spec.extra_args:
        uses.append(
            HostUse(
                "spec.extra_args",
                "extra_args are passed to the engine unchecked (they can replace the model "
                "or load files)",
                _key("extra_args", spec.extra_args),
            )
        )
    # With hf_id, model.path names a file inside the Hugging Face repo, fetched into
    # Modelport's cache: not a host path.
    model_path = None if spec.model.hf_id else spec.model.path
    for name, value in (("path", model_path), ("tokenizer", spec.model.tokenizer)):
        if value and (name == "path" or _looks_like_path(value)):
            uses.extend(_path_use(f"spec.model.{name}", value, dirs))
    for arg, arg_value in spec.engine_args.items():
        uses.extend(_engine_arg_uses(arg, arg_value, dirs))
    for i, mount in enumerate(spec.mounts):
        if mount.source is not None:
            uses.append(
                HostUse(
                    f"spec.mounts.{i}.source",
                    f"mounting the host path {mount.source!r} exposes it to the replica",
                    _key("mount", mount.source, mount.path, mount.read_only),
                )
            )
    for i, var in enumerate(spec.env):
        if not var.disabled and is_loader_env(var.name):
            uses.append(
                HostUse(
                    f"spec.env.{i}.name",
                    f"{var.name} makes the engine load or run code it names",
                    _key("env", var.name, var.value),
                )
            )
    return uses


def _container_host_uses(spec: EndpointSpec, dirs: Sequence[str]) -> list[HostUse]:
    """In a container, commands, arguments, exec probes and the engine's own files stay inside
    it; what still reaches the host is what is mounted from it (model.path, mounts with a
    source) and probes aimed at other ports."""
    local = host_uses(spec.model_copy(update={"runtime": RuntimeKind.LOCAL}), dirs)
    reaching = ("spec.model.path", "spec.mounts.")
    return [use for use in local if use.field.startswith(reaching) or use.field.endswith(".port")]


def new_host_uses(new: EndpointSpec, old: EndpointSpec, dirs: Sequence[str]) -> list[HostUse]:
    """The uses of `new` that `old` lacks: a change that keeps the operator's content (scale,
    restart, another label) needs no permission; one that adds or alters such content does."""
    before = {use.key for use in host_uses(old, dirs)}
    return [use for use in host_uses(new, dirs) if use.key not in before]


def is_loader_env(name: str) -> bool:
    upper = name.upper()
    if upper in _HARMLESS_PYTHON_ENV:
        return False
    return upper in _LOADER_ENV or upper.startswith(_LOADER_ENV_PREFIXES)


def _probe_uses(which: str, probe: ProbeSpec) -> list[HostUse]:
    if not probe.enabled:
        return []
    uses: list[HostUse] = []
    if probe.protocol is ProbeProtocol.EXEC:
        uses.append(
            HostUse(
                f"spec.{which}.commands",
                "an exec probe runs its commands on the host",
                _key(which, "exec", probe.commands),
            )
        )
    if probe.port is not None:
        uses.append(
            HostUse(
                f"spec.{which}.port",
                f"a probe of port {probe.port} targets something other than the replica "
                "(leave port unset to probe the replica's own port)",
                _key(which, "port", probe.port),
            )
        )
    return uses


def _engine_arg_uses(arg: str, value: EngineArgValue, dirs: Sequence[str]) -> list[HostUse]:
    if not isinstance(value, str) or not value:
        return []
    name = arg.lower().replace("-", "_").lstrip("_")
    if name in _NOT_FILE_ARGS:
        return []
    if _FILE_ARG.search(name) or (_MODEL_ARG.search(name) and _looks_like_path(value)):
        return _path_use(f"spec.engine_args.{arg}", value, dirs)
    return []


def _looks_like_path(value: str) -> bool:
    """A value a model-ish flag would open as a file (not a Hugging Face id, name or template)."""
    if any(char in _INLINE for char in value):
        return False
    if value.startswith(("/", "~", ".")) or "\\" in value or ".." in value:
        return True
    return "/" in value and not _HF_ID.match(value)


def _path_use(field_path: str, value: str, dirs: Sequence[str]) -> list[HostUse]:
    if is_allowed_path(value, dirs):
        return []
    return [
        HostUse(
            field_path,
            f"the path {value!r} is outside the model directories the server allows "
            "(the model store and MODELPORT_MODEL_DIRS)",
            _key("path", field_path, value),
        )
    ]


def _key(*parts: object) -> str:
    return json.dumps(parts, default=str)
