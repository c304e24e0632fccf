"""Where the SDK connects and which token it sends: argument > environment > admin token file."""

from __future__ import annotations

from pathlib import Path

from modelport.sdk import resolve_config


def write_admin_token(home: Path, token: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "admin-token").write_text(token + "\n")


def test_defaults_to_the_local_server_without_a_token(tmp_path: Path) -> None:
    config = resolve_config(env={"MODELPORT_HOME": str(tmp_path)})
    assert config.base_url == "http://127.0.0.1:8080"
    assert config.token is None


def test_explicit_arguments_beat_the_environment(tmp_path: Path) -> None:
    write_admin_token(tmp_path, "from-file")
    env = {
        "MODELPORT_URL": "http://env-host:1",
        "MODELPORT_TOKEN": "from-env",
        "MODELPORT_HOME": str(tmp_path),
    }
    config = resolve_config("http://explicit:9/", "from-arg", env=env)
    assert (config.base_url, config.token) == ("http://explicit:9", "from-arg")


def test_environment_beats_the_admin_token_file(tmp_path: Path) -> None:
    write_admin_token(tmp_path, "from-file")
    env = {"MODELPORT_TOKEN": "from-env", "MODELPORT_HOME": str(tmp_path)}
    config = resolve_config(env=env)
    assert config.token == "from-env"
    assert config.token_source == "MODELPORT_TOKEN"


def test_admin_token_file_is_used_for_a_local_server(tmp_path: Path) -> None:
    write_admin_token(tmp_path, "from-file")
    for url in ("http://127.0.0.1:8080", "http://localhost:9000", "http://[::1]:8080"):
        config = resolve_config(url, env={"MODELPORT_HOME": str(tmp_path)})
        assert config.token == "from-file", url
        assert config.token_source == str(tmp_path / "admin-token")


def test_admin_token_file_is_not_sent_to_a_remote_server(tmp_path: Path) -> None:
    write_admin_token(tmp_path, "from-file")
    config = resolve_config("https://modelport.example.com", env={"MODELPORT_HOME": str(tmp_path)})
    assert config.token is None


def test_url_from_host_and_port_variables(tmp_path: Path) -> None:
    env = {"MODELPORT_HOST": "10.0.0.5", "MODELPORT_PORT": "9999", "MODELPORT_HOME": str(tmp_path)}
    assert resolve_config(env=env).base_url == "http://10.0.0.5:9999"


def test_a_wildcard_bind_address_is_reached_on_loopback(tmp_path: Path) -> None:
    env = {"MODELPORT_HOST": "0.0.0.0", "MODELPORT_PORT": "7000", "MODELPORT_HOME": str(tmp_path)}
    assert resolve_config(env=env).base_url == "http://127.0.0.1:7000"


def test_modelport_url_beats_host_and_port(tmp_path: Path) -> None:
    env = {"MODELPORT_URL": "http://a:1", "MODELPORT_HOST": "b", "MODELPORT_PORT": "2"}
    assert resolve_config(env=env).base_url == "http://a:1"
