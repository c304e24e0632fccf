"""Secret engine_args go through the same seal / redact / unseal / keep-the-mask path as
secret env values."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import EndpointSpec, Framework
from modelport.security.secrets import REDACTED, SecretBox
from modelport.services.sealed_specs import reject_masks, same_but_secret_values
from modelport.services.spec_secrets import keep_unchanged_secrets, redact, seal, unseal

KEY = "sk-unit-s3cret"


def _spec(**engine_args: str | int | bool) -> EndpointSpec:
    return EndpointSpec(framework=Framework.CUSTOM, command=["serve"], engine_args=engine_args)


def test_secret_engine_args_are_sealed_redacted_and_unsealed():
    box = SecretBox(Fernet.generate_key())
    plain = _spec(api_key=KEY, max_tokens=5, use_auth_token=True)
    sealed = seal(plain, box)
    assert sealed.engine_args["api_key"] != KEY and KEY not in sealed.model_dump_json()
    assert sealed.engine_args["max_tokens"] == 5 and sealed.engine_args["use_auth_token"] is True
    assert redact(sealed).engine_args == {
        "api_key": REDACTED,
        "max_tokens": 5,
        "use_auth_token": True,
    }
    assert unseal(sealed, box) == plain


def test_the_mask_sent_back_keeps_the_stored_value_and_is_refused_without_one():
    box = SecretBox(Fernet.generate_key())
    stored = seal(_spec(api_key=KEY), box)
    kept = keep_unchanged_secrets(_spec(api_key=REDACTED, max_tokens=9), stored)
    assert unseal(kept, box).engine_args == {"api_key": KEY, "max_tokens": 9}
    with pytest.raises(InvalidSpec) as caught:
        reject_masks(keep_unchanged_secrets(_spec(hf_token=REDACTED), stored))
    assert caught.value.field == "spec.engine_args.hf_token"


def test_specs_that_differ_only_in_secret_values_compare_the_same():
    assert same_but_secret_values(_spec(api_key=KEY), _spec(api_key="a-guess"))
    assert not same_but_secret_values(_spec(api_key=KEY), _spec(api_key=KEY, max_tokens=1))
    assert not same_but_secret_values(_spec(api_key=KEY), _spec(hf_token=KEY))


def test_a_sealed_value_from_elsewhere_is_refused_and_the_endpoints_own_is_kept():
    """Sealing passes sealed text through: a copied ciphertext would be decrypted into this
    endpoint's engine."""
    box = SecretBox(Fernet.generate_key())
    elsewhere = seal(_spec(api_key="another-projects-key"), box).engine_args["api_key"]
    assert isinstance(elsewhere, str)
    with pytest.raises(InvalidSpec) as caught:
        reject_masks(_spec(api_key=elsewhere))
    assert caught.value.field == "spec.engine_args.api_key"
    stored = seal(_spec(api_key=KEY), box)
    reject_masks(keep_unchanged_secrets(_spec(api_key=REDACTED), stored), stored)  # its own
    with pytest.raises(InvalidSpec):
        reject_masks(_spec(api_key=KEY, hf_token=elsewhere), stored)
