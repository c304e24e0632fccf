"""JSON nesting measured on the bytes: brackets in strings do not count, hostile input stays
linear."""

from __future__ import annotations

import json

from modelport.domain.json_depth import nesting_exceeds


def test_depth_counts_arrays_and_objects_but_not_brackets_in_strings() -> None:
    body = b'{"a": [1, {"b": [2]}], "s": "[[[[{{{{", "e": "\\"[[[["}'
    assert not nesting_exceeds(body, 4)
    assert nesting_exceeds(body, 3)
    assert not nesting_exceeds(b"[" * 70 + b"]" * 70, 70)
    assert nesting_exceeds(b"[" * 70 + b"]" * 70, 64)


def test_many_brackets_side_by_side_are_not_depth() -> None:
    wide = json.dumps({"input": [[i, [i]] for i in range(10_000)]}).encode()
    assert not nesting_exceeds(wide, 4)  # {"input": [[i, [i]], ...]}
    assert nesting_exceeds(wide, 3)


def test_an_unterminated_string_hides_nothing_after_it() -> None:
    # Everything after an unclosed quote is string: the body is not JSON, the parser says so.
    assert not nesting_exceeds(b'{"a": "' + b"[" * 100, 64)
    assert nesting_exceeds(b"[" * 100 + b'"\\"\\"\\"', 64)
