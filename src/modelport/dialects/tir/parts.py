"""Translation of the parts of a TIR request: commands, env variables, probes, autoscaling.

Every error is an InvalidSpec whose `field` is the TIR request path at fault, e.g.
"custom_endpoint_details.resource_details.env_variables.1.key".
"""

from __future__ import annotations

import ast
import base64
import binascii
import json
import re
import shlex
from typing import Literal

from pydantic import ValidationError

from modelport.dialects.tir.schemas import (
    TIR_SERVING_PORT,
    AutoScalePolicyIn,
    EngineArg,
    EnvVariableIn,
    ProbeIn,
)
from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import (
    AutoscalePolicy,
    EngineArgValue,
    EnvVar,
    ProbeProtocol,
    ProbeSpec,
    ScaleMetric,
    ScaleRule,
)
from modelport.services.validation import invalid_spec

ENV_FIELD = "custom_endpoint_details.resource_details.env_variables"
PROBE_FIELD = "custom_endpoint_details.container.advance_config"

_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_TO_METRIC = {
    "cpu": ScaleMetric.CPU,
    "concurrency": ScaleMetric.CONCURRENCY,
    "requestRate": ScaleMetric.REQUEST_RATE,
    "custom": ScaleMetric.CUSTOM,
}
METRIC_NAMES = {metric: name for name, metric in _TO_METRIC.items()}

# TIR's names for vLLM options that vLLM itself spells differently.
VLLM_ARG_NAMES = {
    "data_type": "dtype",
    "max_model_length": "max_model_len",
    "kv_cache_data_type": "kv_cache_dtype",
    "lora_data_type": "lora_dtype",
}


def parse_command(text: str, field: str) -> list[str]:
    """A TIR command string as argv: a JSON list, a Python list (the e2enetworks SDK sends
    `str(['python', 'app.py'])`), a command line, or any of them base64-encoded (the SDK and
    the Terraform provider encode `commands` and `args`)."""
    text = _unbase64(text.strip())
    if not text:
        return []
    if text.startswith("["):
        value = _list_literal(text, field)
        argv = [v for v in value if isinstance(v, str)]
        if len(argv) != len(value):
            raise InvalidSpec(f"{field}: the list must hold strings only", field=field)
        return argv
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise InvalidSpec(f"{field}: cannot split the command line ({exc})", field=field) from exc


def _list_literal(text: str, field: str) -> list[object]:
    """A JSON list, else a Python literal list (parsed, never evaluated)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
            raise InvalidSpec(
                f"{field}: not a list of strings (JSON, or Python as the e2enetworks SDK "
                f"sends it: ['python', 'app.py'])",
                field=field,
            ) from exc
    if not isinstance(value, list):
        raise InvalidSpec(f"{field}: must be a list of strings", field=field)
    return value


def _unbase64(text: str) -> str:
    if not text or len(text) % 4 or not _BASE64.fullmatch(text):
        return text
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return text
    printable = decoded.strip() and all(c.isprintable() or c in "\t\n" for c in decoded)
    return decoded.strip() if printable else text


def env_vars(entries: list[EnvVariableIn]) -> list[EnvVar]:
    """TIR env variables as EnvVars; marked ones are secret, and so are credential-like names
    (EnvVar applies the rule every API shares)."""
    out: list[EnvVar] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        field = f"{ENV_FIELD}.{index}.key"
        key = entry.key.strip()
        if not key:
            if not entry.value:
                continue  # an empty row of a form: nothing to set
            raise InvalidSpec(f"{field}: required when value is set", field=field)
        if key in seen:
            raise InvalidSpec(f"{field}: {key!r} appears twice", field=field)
        seen.add(key)
        try:
            var = EnvVar(name=key, value=entry.value, secret=entry.secret, required=entry.required)
        except ValidationError as exc:
            if any(error["loc"][:1] == ("value",) for error in exc.errors()):
                raise invalid_spec(exc, prefix=(ENV_FIELD, str(index))) from exc
            raise InvalidSpec(
                f"{field}: {key!r} is not a valid name (letters, digits and '_', not starting "
                "with a digit)",
                field=field,
            ) from exc
        out.append(var)
    return out


def probe(given: ProbeIn, which: Literal["readiness_probe", "liveness_probe"]) -> ProbeSpec:
    """A TIR probe as a ProbeSpec. TIR's container port (8080) is the replica's serving port."""
    prefix = f"{PROBE_FIELD}.{which}"
    commands = parse_command(given.commands, f"{prefix}.commands")
    protocol = ProbeProtocol(given.protocol)
    if protocol is ProbeProtocol.EXEC and not commands:
        field = f"{prefix}.commands"
        raise InvalidSpec(f"{field}: an exec probe needs a command", field=field)
    path = given.path.strip() or None
    if path is not None and not path.startswith("/"):
        field = f"{prefix}.path"
        raise InvalidSpec(f"{field}: must start with '/'", field=field)
    try:
        return ProbeSpec(
            protocol=protocol,
            path=path if protocol is ProbeProtocol.HTTP else None,
            port=None if given.port == TIR_SERVING_PORT else given.port,
            commands=commands,
            grpc_service=given.grpc_service or None,
            initial_delay_seconds=given.initial_delay_seconds,
            period_seconds=given.period_seconds,
            timeout_seconds=given.timeout_seconds,
            success_threshold=given.success_threshold,
            failure_threshold=given.failure_threshold,
        )
    except ValidationError as exc:
        raise invalid_spec(exc, prefix=prefix.split(".")) from exc


def autoscale(
    enabled: bool, policy: AutoScalePolicyIn, keep: AutoscalePolicy | None = None
) -> AutoscalePolicy:
    """TIR's auto_scale_policy as an AutoscalePolicy; rules without a metric are form rows
    left empty, and an error once autoscaling is on. `keep`: the endpoint's current policy,
    whose fields TIR cannot say (the idle timeout before scaling to zero) are kept."""
    rules: list[ScaleRule] = []
    for index, rule in enumerate(policy.rules):
        if not rule.metric:
            if enabled:
                field = f"auto_scale_policy.rules.{index}.metric"
                raise InvalidSpec(
                    f"{field}: required when is_auto_scale_enabled is true; one of "
                    "concurrency, requestRate, custom",
                    field=field,
                )
            continue
        rules.append(
            ScaleRule(
                metric=_TO_METRIC[rule.metric],
                value=rule.value,
                custom_metric_name=rule.custom_metric_name.strip() or None,
                condition_type=rule.condition_type,
                window_seconds=rule.window,
                watch_period_seconds=rule.watch_period,
                granularity_seconds=rule.granularity,
            )
        )
    if enabled and not rules:
        field = "auto_scale_policy.rules"
        raise InvalidSpec(
            f"{field}: autoscaling needs at least one rule (metric concurrency, requestRate "
            "or custom)",
            field=field,
        )
    return AutoscalePolicy(
        enabled=enabled,
        min_replicas=policy.min_replicas,
        max_replicas=policy.max_replicas,
        stability_period_seconds=policy.stability_period,
        initial_cooldown_seconds=policy.initial_cooldown_period,
        idle_timeout_seconds=(keep or AutoscalePolicy()).idle_timeout_seconds,
        rules=rules,
    )


def engine_args(given: dict[str, EngineArg], *, vllm: bool) -> dict[str, EngineArgValue]:
    """engine_args without unset (null or empty) values; TIR's vLLM names in vLLM's spelling."""
    out: dict[str, EngineArgValue] = {}
    for key, value in given.items():
        if value is None or value == "":
            continue
        out[VLLM_ARG_NAMES.get(key, key) if vllm else key] = value
    return out
