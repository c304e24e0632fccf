"""Names, identifiers and token material."""

from __future__ import annotations

import hashlib
import re
import secrets

# Used with fullmatch: Python's "$" alone also matches before a trailing newline.
DNS_LABEL_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
_DNS_LABEL = re.compile(DNS_LABEL_PATTERN)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Row ids, generations and event cursors are signed 64-bit integers in SQLite and PostgreSQL:
# a larger number in a path or query is invalid input, not a database error.
MAX_ID = 2**63 - 1

TOKEN_PREFIX = "mp_"  # noqa: S105 - a public prefix that makes leaked keys greppable


def validate_name(name: str) -> str:
    """Endpoint and project names are DNS labels: they appear in URLs and hostnames."""
    if not _DNS_LABEL.fullmatch(name):
        raise ValueError(
            "name: must be a DNS label (1-63 chars of a-z, 0-9 and '-', "
            "starting and ending with a letter or digit)"
        )
    return name


def validate_env_name(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise ValueError("name: environment variable names are letters, digits and '_'")
    return name


def new_token() -> str:
    """A fresh API token: high-entropy, so a plain SHA-256 is a safe at-rest hash."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_display_prefix(token: str) -> str:
    """The first characters of a token, safe to show in listings to tell tokens apart."""
    return token[: len(TOKEN_PREFIX) + 6]
