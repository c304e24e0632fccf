"""MODELPORT_PUBLIC_URL: endpoint URLs name the address clients reach (a load balancer in front
of several servers, docs/deploy.md), not the server that answered."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from modelport.api.container import gateway_base_url
from modelport.services.endpoint_views import endpoint_url
from modelport.settings import Settings


def test_endpoint_urls_use_the_public_url_when_set(tmp_path: Path) -> None:
    own = Settings(home=tmp_path, host="0.0.0.0", port=9000)
    assert gateway_base_url(own) == "http://127.0.0.1:9000"
    behind = Settings(home=tmp_path, host="0.0.0.0", port=9000, public_url="https://mp.example/")
    assert gateway_base_url(behind) == "https://mp.example"
    assert endpoint_url(gateway_base_url(behind), "chat") == "https://mp.example/endpoints/chat/v1"


def test_a_public_url_that_is_not_http_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="MODELPORT_PUBLIC_URL"):
        Settings(home=tmp_path, public_url="mp.example:8080")
