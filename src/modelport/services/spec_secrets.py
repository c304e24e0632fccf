"""Secret values in a spec: sealed before storing, redacted before showing, unsealed to run.

Two kinds of value are secret: env variables marked secret (credential-like names always are)
and engine_args under credential-like keys (`is_secret_engine_arg`). Every function here walks
both through `map_secrets`, so a new kind of secret is added in one place.
"""

from __future__ import annotations

from collections.abc import Callable

from modelport.domain.specs import EndpointSpec, EngineArgValue, EnvVar, is_secret_engine_arg
from modelport.security.secrets import REDACTED, SecretBox


def seal(spec: EndpointSpec, box: SecretBox) -> EndpointSpec:
    """The spec as stored: every secret value encrypted."""
    return map_secrets(spec, box.encrypt)


def redact(spec: EndpointSpec) -> EndpointSpec:
    """The spec as shown to users: every secret value replaced by a fixed mask."""
    return map_secrets(spec, lambda _value: REDACTED)


def unseal(spec: EndpointSpec, box: SecretBox) -> EndpointSpec:
    """The spec with secret values decrypted (plaintext values pass through unchanged): what an
    engine adapter plans from, and what two specs are compared as (sealing is not
    deterministic)."""
    return map_secrets(spec, box.decrypt)


def engine_environment(spec: EndpointSpec, box: SecretBox) -> dict[str, str]:
    """The variables to hand the engine: enabled ones, secrets decrypted (only secrets: a
    plain value is never sealed, so one that looks sealed is passed as it is)."""
    return {
        e.name: box.decrypt(e.value) if e.secret else e.value for e in spec.env if not e.disabled
    }


def keep_unchanged_secrets(new: EndpointSpec, old: EndpointSpec) -> EndpointSpec:
    """A patch that echoes the mask back keeps the stored secret instead of storing the mask."""
    stored_env = {e.name: e.value for e in old.env if e.secret}
    env = [
        e.model_copy(update={"value": stored_env[e.name]})
        if e.secret and e.value == REDACTED and e.name in stored_env
        else e
        for e in new.env
    ]
    stored_args = {k: v for k, v in old.engine_args.items() if is_secret_engine_arg(k, v)}
    args = {
        key: stored_args[key] if value == REDACTED and key in stored_args else value
        for key, value in new.engine_args.items()
    }
    return new.model_copy(update={"env": env, "engine_args": args})


def map_secrets(spec: EndpointSpec, fn: Callable[[str], str]) -> EndpointSpec:
    """`spec` with `fn` applied to every secret value (and nothing else)."""
    env: list[EnvVar] = [
        e.model_copy(update={"value": fn(e.value)}) if e.secret else e for e in spec.env
    ]
    args: dict[str, EngineArgValue] = {
        key: fn(str(value)) if is_secret_engine_arg(key, value) else value
        for key, value in spec.engine_args.items()
    }
    return spec.model_copy(update={"env": env, "engine_args": args})


def secret_fields(spec: EndpointSpec) -> list[tuple[str, str]]:
    """(field path, value) of every secret value, e.g. ("spec.engine_args.api_key", "...")."""
    found = [(f"spec.env.{i}.value", e.value) for i, e in enumerate(spec.env) if e.secret]
    found += [
        (f"spec.engine_args.{key}", str(value))
        for key, value in spec.engine_args.items()
        if is_secret_engine_arg(key, value)
    ]
    return found
