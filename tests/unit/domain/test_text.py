"""Control characters in spec strings are refused with the field named."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from modelport.domain.ids import validate_env_name, validate_name
from modelport.domain.specs import EndpointSpec


def _spec(**fields: Any) -> dict[str, Any]:
    return {"framework": "custom", "command": ["serve", "{port}"], **fields}


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"command": ["serve", "a\x00b"]}, ("command", 1)),
        ({"extra_args": ["--x\x1b[2J"]}, ("extra_args", 0)),
        ({"env": [{"name": "A", "value": "x\x00"}]}, ("env", 0, "value")),
        ({"model": {"path": "/m/x\x00.gguf"}}, ("model", "path")),
        ({"model": {"hf_id": "org/name\n"}}, ("model", "hf_id")),
        ({"labels": {"team": "a\x00"}}, ("labels", "team")),
        ({"labels": {"te\x00am": "a"}}, ("labels", "te\x00am", "[key]")),
        ({"mounts": [{"path": "/data\x00"}]}, ("mounts", 0, "path")),
        ({"readiness": {"path": "/health\r\nX: y"}}, ("readiness", "path")),
        ({"liveness": {"protocol": "exec", "commands": ["true\x00"]}}, ("liveness", "commands", 0)),
        ({"description": "ok\x07"}, ("description",)),
    ],
)
def test_control_characters_are_refused_where_they_are(
    fields: dict[str, Any], loc: tuple[Any, ...]
):
    with pytest.raises(ValidationError) as caught:
        EndpointSpec.model_validate(_spec(**fields))
    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [loc], errors
    assert "control characters" in errors[0]["msg"]


def test_a_control_character_in_an_engine_arg_names_its_key():
    with pytest.raises(ValidationError) as caught:
        EndpointSpec.model_validate(_spec(engine_args={"chat_template": "a\x00"}))
    assert "chat_template: must not contain control characters" in str(caught.value)


def test_newlines_and_tabs_are_kept_where_they_make_sense():
    spec = EndpointSpec.model_validate(
        _spec(
            command=["python", "-c", "import sys\n\tprint(sys.argv)"],
            env=[{"name": "PEM", "value": "-----BEGIN-----\nabc\n-----END-----\n"}],
            description="line one\nline two",
        )
    )
    assert spec.command[2] == "import sys\n\tprint(sys.argv)"


@pytest.mark.parametrize("check", [validate_name, validate_env_name])
def test_a_trailing_newline_does_not_pass_a_name_check(check: Any):
    with pytest.raises(ValueError, match="name"):
        check("web\n")
