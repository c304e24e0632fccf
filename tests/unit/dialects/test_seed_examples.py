"""The example requests the dialect tests post are the vendors' own (tests/fixtures/seeds/),
only with their placeholders filled: same fields, same nesting, same literal values."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.unit.catalog.seeds import seed_text
from tests.unit.dialects.deepinfra.conftest import seed_example
from tests.unit.dialects.tensormesh.test_deploy import SEED_REQUEST

_PLACEHOLDER = re.compile(r"^<[a-z]+>$")


def _curl_data(number: str) -> dict[str, Any]:
    """The JSON body of the document's curl example (`--data '...'`)."""
    found = re.search(r"--data '\s*(\{.*?\})\s*'", seed_text(number), re.DOTALL)
    assert found, f"no curl --data example in seed {number}"
    body: dict[str, Any] = json.loads(found.group(1))
    return body


def _same_shape(doc: Any, ours: Any, path: str = "") -> None:
    """Placeholders and numbers the document uses as samples may differ; everything else not."""
    if isinstance(doc, dict):
        assert isinstance(ours, dict) and set(ours) == set(doc), f"{path}: {set(ours) ^ set(doc)}"
        for key, value in doc.items():
            _same_shape(value, ours[key], f"{path}.{key}")
    elif isinstance(doc, list) and len(doc) == 1 and _PLACEHOLDER.match(str(doc[0])):
        assert isinstance(ours, list) and ours and all(isinstance(o, str) for o in ours), path
    elif isinstance(doc, list):
        assert isinstance(ours, list) and len(ours) == len(doc), path
        for i, (d, o) in enumerate(zip(doc, ours, strict=True)):
            _same_shape(d, o, f"{path}[{i}]")
    elif isinstance(doc, str) and _PLACEHOLDER.match(doc):
        assert isinstance(ours, str) and ours, f"{path}: a placeholder must be filled"
    elif isinstance(doc, bool) or doc is None:
        assert ours == doc, path
    elif isinstance(doc, int):
        assert isinstance(ours, int) and not isinstance(ours, bool), path
    else:
        assert ours == doc, f"{path}: the document says {doc!r}"


@pytest.mark.parametrize(
    ("seed", "example"),
    [("002", seed_example()), ("003", SEED_REQUEST)],
    ids=["deepinfra", "tensormesh"],
)
def test_the_posted_example_is_the_vendors_own(seed: str, example: dict[str, Any]) -> None:
    _same_shape(_curl_data(seed), example)


def test_the_tir_snippets_are_seed_000s_own() -> None:
    from tests.unit.dialects.tir.conftest import SEED_PRIVATE_CLUSTER, SEED_TIR_CLUSTER

    def squeeze(text: str) -> str:
        return " ".join(text.split())

    document = squeeze(seed_text("000"))
    assert squeeze(SEED_TIR_CLUSTER) in document
    assert squeeze(SEED_PRIVATE_CLUSTER) in document
