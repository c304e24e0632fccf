"""Reject, at the API, a spec its engine could never serve (instead of failing replicas later)."""

from __future__ import annotations

from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import LaunchContext
from modelport.domain.specs import EndpointSpec
from modelport.security.secrets import SecretBox
from modelport.services.spec_secrets import engine_environment

# Planning is pure (no process, no socket): these only fill the command template.
_PLAN_HOST = "127.0.0.1"
_PLAN_PORT = 8000


def check_engine_can_serve(name: str, spec: EndpointSpec, box: SecretBox) -> None:
    """Raises InvalidSpec with a field path rooted at "spec" when the engine rejects the spec.

    Whether the engine is installed on this host is not checked: the API may run apart from
    the machines that run replicas; the controller reports that as an event.
    """
    from modelport.engines.registry import get_adapter  # the registry imports every adapter

    adapter = get_adapter(spec.framework)
    try:
        env = engine_environment(spec, box)
        ctx = LaunchContext(
            host=_PLAN_HOST, port=_PLAN_PORT, env=env, name=name, model_path=_fetched(spec)
        )
        adapter.plan(spec, ctx)
    except InvalidSpec as exc:
        field = exc.field or "spec"
        if field != "spec" and not field.startswith("spec."):
            field = f"spec.{field}"
        detail = exc.message.removeprefix(f"{exc.field}: ") if exc.field else exc.message
        raise InvalidSpec(f"{field}: {detail}", field=field) from exc


def _fetched(spec: EndpointSpec) -> str | None:
    """Where a fetched model's files will be (they are fetched only at launch): a model_id's
    directory, or with hf_id the repo's file named by model.path (else the repo's folder)."""
    if spec.model.model_id is not None:
        return f"/models/{spec.model.model_id}"
    if spec.model.hf_id is not None:
        return f"/models/hf/{spec.model.path or ''}".rstrip("/")
    return None
