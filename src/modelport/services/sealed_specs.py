"""Comparing and checking specs whose secret env values may be sealed (encrypted).

Sealing is not deterministic, so two sealed copies of one spec differ byte for byte: compare
them unsealed. The mask shown to users must never be stored as a secret's value.
"""

from __future__ import annotations

from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import EndpointSpec
from modelport.security.secrets import REDACTED, SecretBox


def unseal(spec: EndpointSpec, box: SecretBox) -> EndpointSpec:
    """The spec with secret values decrypted (plaintext values pass through unchanged)."""
    env = [
        e.model_copy(update={"value": box.decrypt(e.value)}) if e.secret else e for e in spec.env
    ]
    return spec.model_copy(update={"env": env})


def same_spec(a: EndpointSpec, b: EndpointSpec, box: SecretBox) -> bool:
    """Equal once unsealed: a re-encrypted secret is not a change."""
    return unseal(a, box) == unseal(b, box)


def reject_masks(spec: EndpointSpec) -> None:
    """InvalidSpec for a secret whose value is the mask: storing it would lose the secret."""
    for index, env in enumerate(spec.env):
        if env.secret and env.value == REDACTED:
            field = f"spec.env.{index}.value"
            raise InvalidSpec(
                f"{field}: '{REDACTED}' is the mask shown for a stored secret, and "
                f"'{env.name}' has none; send the secret value itself",
                field=field,
            )
