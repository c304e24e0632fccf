"""The one rule that makes env variables and engine arguments secret by their name."""

from __future__ import annotations

import pytest

from modelport.domain.credentials import looks_like_credential
from modelport.domain.specs import EndpointSpec, EnvVar, Framework, is_secret_engine_arg


@pytest.mark.parametrize(
    "name",
    [
        "HF_TOKEN",
        "hf_token",
        "hf-token",
        "hfToken",
        "HUGGING_FACE_HUB_TOKEN",
        "HFTOKEN",
        "OPENAI_API_KEY",
        "api_key",
        "api-key",
        "apiKey",
        "APIKEY",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "client_secret",
        "DB_PASSWORD",
        "PGPASSWORD",
        "passwd",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "PRIVATE_KEY",
        "token",
    ],
)
def test_credential_names_are_recognised(name: str):
    assert looks_like_credential(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "max_num_batched_tokens",
        "max-new-tokens",
        "TOKENIZERS_PARALLELISM",
        "tokenizer",
        "n_ctx",
        "PORT",
        "key_cache_dtype",
        "ssl_keyfile",
        "CUDA_VISIBLE_DEVICES",
    ],
)
def test_settings_that_merely_mention_a_word_are_not(name: str):
    assert not looks_like_credential(name)


def test_a_credential_named_env_variable_is_secret_even_when_not_marked():
    assert EnvVar(name="HF_TOKEN", value="hf_x", secret=False).secret
    assert not EnvVar(name="LOG_LEVEL", value="debug").secret


def test_credential_engine_args_are_secret_and_kept_as_text():
    spec = EndpointSpec(
        framework=Framework.CUSTOM,
        command=["serve"],
        engine_args={"api_key": 1234, "use_auth_token": True, "max_tokens": 5},
    )
    # A number under a credential key is a credential too; it is sealed as text.
    assert spec.engine_args["api_key"] == "1234"
    assert is_secret_engine_arg("api_key", spec.engine_args["api_key"])
    assert not is_secret_engine_arg("use_auth_token", True)  # a switch, not a credential
    assert not is_secret_engine_arg("max_tokens", 5)
