"""Specs read from the store are parsed once per stored text: full passes over every endpoint
(route resyncs, the controller's) reuse them, so a spec must not change after it is parsed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from modelport.domain.specs import EndpointSpec
from modelport.store.rows import parse_spec

TEXT = '{"framework": "custom", "command": ["serve", "{port}"], "replicas": 0}'


def test_the_same_stored_text_gives_the_same_parsed_spec_and_a_change_a_new_one() -> None:
    first = parse_spec(TEXT)
    assert parse_spec(TEXT) is first
    changed = parse_spec(TEXT.replace('"replicas": 0', '"replicas": 2'))
    assert changed is not first and changed.replicas == 2 and first.replicas == 0


def test_a_parsed_spec_cannot_be_changed_in_place() -> None:
    spec = parse_spec(TEXT)
    with pytest.raises(ValidationError, match="frozen"):
        spec.replicas = 3  # type: ignore[misc]
    assert spec.model_copy(update={"replicas": 3}).replicas == 3  # how a patch makes a new one


def test_a_stored_text_that_is_no_spec_is_refused_each_time() -> None:
    for _ in range(2):  # errors are not remembered as results
        with pytest.raises(ValidationError):
            parse_spec('{"framework": "custom"}')
    assert isinstance(parse_spec(TEXT), EndpointSpec)
