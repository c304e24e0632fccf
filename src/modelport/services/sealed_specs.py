"""Comparing and checking specs whose secret values may be sealed (encrypted).

Sealing is not deterministic, so two sealed copies of one spec differ byte for byte: compare
them unsealed. The mask shown to users must never be stored as a secret's value.
"""

from __future__ import annotations

from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import EndpointSpec
from modelport.security.secrets import ENCRYPTED_PREFIX, REDACTED, SecretBox
from modelport.services.spec_secrets import redact, secret_fields


def same_but_secret_values(a: EndpointSpec, b: EndpointSpec) -> bool:
    """Equal apart from the values of secrets (their names and places do count).

    The idempotent create compares this way: answering "same" or "conflict" by whether a
    secret value matches would let a caller test guesses of a secret it cannot read.
    """
    return redact(a) == redact(b)


def reject_masks(spec: EndpointSpec, stored: EndpointSpec | None = None) -> None:
    """InvalidSpec for a secret whose value is the mask (storing it would lose the secret), or
    a sealed value that is not this endpoint's own (`stored`): sealing passes sealed text
    through, so a copied one would be decrypted into this endpoint's engine."""
    own = {value for _, value in secret_fields(stored)} if stored is not None else set()
    for field, value in secret_fields(spec):
        if value == REDACTED:
            raise InvalidSpec(
                f"{field}: '{REDACTED}' is the mask shown for a stored secret, and there is "
                "none stored here; send the secret value itself",
                field=field,
            )
        if SecretBox.is_encrypted(value) and value not in own:
            raise InvalidSpec(
                f"{field}: values starting with '{ENCRYPTED_PREFIX}' are reserved for sealed "
                "secrets; send the secret value itself",
                field=field,
            )
