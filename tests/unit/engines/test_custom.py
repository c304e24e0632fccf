"""Custom command plans: placeholders, one-string commands, engine_args and probes."""

from __future__ import annotations

import pytest

from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import ProbeProtocol
from modelport.engines.custom import CustomAdapter
from tests.unit.engines.conftest import HOST, PORT, at, spec_of


def test_placeholders_are_filled_in_every_argument() -> None:
    spec = spec_of(
        framework="custom",
        command=["my-server", "--bind={host}:{port}", '{"json": true}'],
        extra_args=["--advertise", "http://{host}:{port}"],
    )

    plan = CustomAdapter().plan(spec, at("x", env={"KEY": "v"}))

    assert plan.argv == [
        "my-server", f"--bind={HOST}:{PORT}", '{"json": true}',
        "--advertise", f"http://{HOST}:{PORT}",
    ]  # fmt: skip
    assert plan.env == {"KEY": "v", "HOST": HOST, "PORT": str(PORT)}


def test_a_one_string_command_is_split_like_a_shell_would() -> None:
    spec = spec_of(framework="custom", command=["python -m http.server {port} --bind '{host}'"])

    plan = CustomAdapter().plan(spec, at("x"))

    assert plan.argv == ["python", "-m", "http.server", str(PORT), "--bind", HOST]


def test_engine_args_become_flags() -> None:
    spec = spec_of(
        framework="custom",
        command=["srv"],
        engine_args={"workers": 2, "debug": True, "quiet": False},
    )

    argv = CustomAdapter().plan(spec, at("x")).argv

    assert argv == ["srv", "--workers", "2", "--debug"]


def test_default_probes_are_tcp_connects() -> None:
    plan = CustomAdapter().plan(spec_of(framework="custom", command=["srv"]), at("x"))

    assert plan.readiness.protocol is ProbeProtocol.TCP
    assert plan.readiness.period_seconds == 1
    assert plan.liveness.protocol is ProbeProtocol.TCP
    assert plan.liveness.failure_threshold == 3


def test_an_image_without_command_runs_the_image_default() -> None:
    spec = spec_of(framework="custom", model={"image": "registry.local/srv:1"})

    plan = CustomAdapter().plan(spec, at("x"))

    assert plan.argv == [] and plan.image == "registry.local/srv:1"


def test_an_unbalanced_quote_names_the_command() -> None:
    spec = spec_of(framework="custom", command=["srv --name 'oops"])

    with pytest.raises(InvalidSpec) as caught:
        CustomAdapter().plan(spec, at("x"))
    assert caught.value.field == "command"


def test_always_available() -> None:
    assert CustomAdapter().available() is None
