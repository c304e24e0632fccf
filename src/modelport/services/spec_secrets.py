"""Secret env values in a spec: sealed before storing, redacted before showing, unsealed to run."""

from __future__ import annotations

from collections.abc import Callable

from modelport.domain.specs import EndpointSpec, EnvVar
from modelport.security.secrets import REDACTED, SecretBox


def seal(spec: EndpointSpec, box: SecretBox) -> EndpointSpec:
    """The spec as stored: every secret value encrypted."""
    return _map_secrets(spec, box.encrypt)


def redact(spec: EndpointSpec) -> EndpointSpec:
    """The spec as shown to users: every secret value replaced by a fixed mask."""
    return _map_secrets(spec, lambda _value: REDACTED)


def engine_environment(spec: EndpointSpec, box: SecretBox) -> dict[str, str]:
    """The variables to hand the engine: enabled ones, secrets decrypted."""
    return {e.name: box.decrypt(e.value) for e in spec.env if not e.disabled}


def keep_unchanged_secrets(new: EndpointSpec, old: EndpointSpec) -> EndpointSpec:
    """A patch that echoes the mask back keeps the stored secret instead of storing the mask."""
    stored = {e.name: e.value for e in old.env if e.secret}
    env = [
        e.model_copy(update={"value": stored[e.name]})
        if e.secret and e.value == REDACTED and e.name in stored
        else e
        for e in new.env
    ]
    return new.model_copy(update={"env": env})


def _map_secrets(spec: EndpointSpec, fn: Callable[[str], str]) -> EndpointSpec:
    env: list[EnvVar] = [
        e.model_copy(update={"value": fn(e.value)}) if e.secret else e for e in spec.env
    ]
    return spec.model_copy(update={"env": env})
