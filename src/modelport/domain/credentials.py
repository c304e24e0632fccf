"""Which env variable names and engine argument keys hold credentials: one rule for every API.

Such values are secret whatever the client says: encrypted at rest, masked in every answer.
Names are split into words (at '_', '-', '.', and lower-to-upper case changes) so that counts
and settings that merely contain a credential word are not caught: `max_tokens`,
`TOKENIZERS_PARALLELISM` and `tokenizer` are plain, `HF_TOKEN`, `hfToken` and `api-key` secret.
"""

from __future__ import annotations

import re
from itertools import pairwise

# Substrings that mean a credential wherever they appear (PGPASSWORD, client_secret, ...).
_ANYWHERE = ("password", "passwd", "passphrase", "secret", "credential")
# Words that mean a credential, alone or as a word's end (HF_TOKEN, HFTOKEN, OPENAIAPIKEY).
_WORDS = ("token", "apikey", "accesskey", "privatekey", "authkey", "bearer")
# A word then "key": API_KEY, access-key, privateKey, auth_key.
_KEY_QUALIFIERS = frozenset({"api", "access", "private", "auth", "signing", "encryption"})

_WORD_BREAK = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def credential_words(name: str) -> list[str]:
    """`name` as lower-case words: "OPENAI_API_KEY" and "openaiApiKey" -> [openai, api, key]."""
    return [word.lower() for word in _WORD_BREAK.split(name) if word]


def looks_like_credential(name: str) -> bool:
    """True for names such as HF_TOKEN, OPENAI_API_KEY, DB_PASSWORD, api_key, hf-token."""
    lowered = name.lower()
    if any(part in lowered for part in _ANYWHERE):
        return True
    words = credential_words(name)
    if any(word.endswith(_WORDS) for word in words):
        return True
    return any(first in _KEY_QUALIFIERS and second == "key" for first, second in pairwise(words))
