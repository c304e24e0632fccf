"""How deeply a JSON document nests, measured on its bytes before anything parses it.

Parsers and validators recurse once per level: json.loads raises RecursionError near 1,000
levels, and validation or serialisation of what it returns fails far earlier (300 levels of
`spec.extensions` was a 500). So request bodies deeper than a fixed limit are refused first.
An ordinary body costs two `bytes.count` calls: a document cannot nest deeper than it has
opening brackets. Only a body with more brackets than the limit is measured, in C-speed steps
(strings cut out, brackets turned into +1 / -1, running sum), linear in its size.
"""

from __future__ import annotations

import re
from itertools import accumulate

# A string, escapes included; an unterminated one runs to the end (possessive: no backtracking,
# so a hostile body stays linear).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
# "[" and "{" become 1, "]" and "}" become -1 (0xFF read as a signed byte).
_STEPS = bytes.maketrans(_BRACKETS, b"\x01\xff\x01\xff")


def nesting_exceeds(body: bytes, limit: int) -> bool:
    """True when `body`, read as JSON, nests arrays and objects more than `limit` deep."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    steps = _STRING.sub(b"", body).translate(_STEPS, _NOT_BRACKETS)
    # The first running depth above the limit, if any (stops there: no need to read on).
    return next(filter(limit.__lt__, accumulate(memoryview(steps).cast("b"))), None) is not None
