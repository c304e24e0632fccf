"""MODELPORT_PLANS_FILE: the operator's plan catalog replaces the shipped one at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from modelport.api.container import ApiServices
from modelport.catalog import PlanCatalogError
from modelport.clock import FakeClock
from modelport.security.secrets import SecretBox
from modelport.settings import Settings
from modelport.store import open_store

OWN_PLANS = """
locations:
  Pune: {runtime: local}
plans:
  - sku_id: 7
    sku_name: tiny
    cpu: 1
    memory_mb: 2048
    locations: [Pune]
    prices:
      - {sku_item_price_id: 70, sku_type: hourly, price_per_hour: 1.5, currency: INR}
"""


def _services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plans: str) -> ApiServices:
    path = tmp_path / "plans.yaml"
    path.write_text(plans)
    monkeypatch.setenv("MODELPORT_PLANS_FILE", str(path))
    settings = Settings(home=tmp_path / "home")
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    return ApiServices.build(store, SecretBox(Fernet.generate_key()), FakeClock(), settings)


def test_the_servers_plans_come_from_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    services = _services(tmp_path, monkeypatch, OWN_PLANS)
    assert [p.sku_name for p in services.plans.plans()] == ["tiny"]
    assert [loc.name for loc in services.plans.locations()] == ["Pune"]


def test_a_broken_file_stops_start_up_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with pytest.raises(PlanCatalogError, match="cpu"):
        _services(tmp_path, monkeypatch, OWN_PLANS.replace("cpu: 1", "cpu: -1"))
