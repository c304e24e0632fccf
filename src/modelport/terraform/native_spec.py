"""`modelport_endpoint`'s `spec` attribute: the user's JSON against the server's full spec.

The user writes part of an EndpointSpec (`jsonencode({framework = "llamacpp", ...})`); the server
answers all of it, with defaults filled in and secrets masked. State keeps the user's text while
every value the user gave is what the server has, so defaults never show as a diff; a value the
server changed replaces the user's in state, so the next plan shows exactly that key changing.
Pure functions: no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from modelport.domain.specs import EndpointSpec
from modelport.security.secrets import REDACTED


class SpecSyntaxError(ValueError):
    """`spec` is not a JSON object."""


def parse(text: str) -> dict[str, Any]:
    """The user's spec as a dict; SpecSyntaxError saying why it is not one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecSyntaxError(f"spec is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SpecSyntaxError(f"spec must be a JSON object, got {type(value).__name__}")
    return value


def canonical(value: Any) -> str:
    """JSON as Terraform's jsonencode writes it (sorted keys, no spaces), so a spec written
    with jsonencode and one read back compare equal as text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def overlay(user: Any, server: Any) -> Any:
    """`user` with every value that differs on `server` replaced by the server's. Keys only the
    server has are its defaults and are left out; a key the server does not show (an alias
    such as `min_replica`) is kept as the user wrote it; the mask stands for "unchanged"."""
    if isinstance(user, dict) and isinstance(server, dict):
        return {k: overlay(v, server[k]) if k in server else v for k, v in user.items()}
    if isinstance(user, list) and isinstance(server, list):
        if len(user) != len(server):
            return server
        return [overlay(u, s) for u, s in zip(user, server, strict=True)]
    return user if _same_scalar(user, server) else server


def _same_scalar(user: Any, server: Any) -> bool:
    if server == REDACTED:
        return True
    if isinstance(user, bool) or isinstance(server, bool):
        return user is server
    if isinstance(user, int | float) and isinstance(server, str):
        return str(user) == server  # a secret-looking engine arg is kept as text
    return bool(user == server)


def read_back(state_text: str, server_spec: dict[str, Any]) -> str:
    """The `spec` to keep in state after reading `server_spec`: the state's own text when the
    server agrees with every value in it, else the text with the server's values."""
    try:
        user = parse(state_text)
    except SpecSyntaxError:
        return canonical(server_spec)
    merged = overlay(user, server_spec)
    return state_text if merged == user else canonical(merged)


def patch_body(new_text: str) -> dict[str, Any]:
    """The PATCH spec that makes the server's spec what `new_text` says. The API merges a
    patch into the stored spec, so a key the user removed would stay: the whole spec the
    user's JSON validates to is sent (its defaults reset removed keys; the mask keeps a
    stored secret). JSON the API would refuse is sent as written, for the API's own error
    naming the field."""
    new = parse(new_text)
    try:
        full = EndpointSpec.model_validate(new).model_dump(mode="json")
    except ValidationError:
        return new
    return dict(full)


def field_path(api_field: str) -> list[str | tuple[int]] | None:
    """The attribute an API error field belongs to: `spec.replicas` -> `spec`."""
    head = api_field.split(".", 1)[0]
    return [head] if head in ("spec", "name") else None
