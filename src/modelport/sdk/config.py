"""Where the SDK connects and with which token: explicit arguments, then environment, then defaults.

Order for the base URL: argument > MODELPORT_URL > MODELPORT_HOST/MODELPORT_PORT > 127.0.0.1:8080.
Order for the token: argument > MODELPORT_TOKEN > the local admin token file
($MODELPORT_HOME/admin-token), read only when the server is on this machine (a loopback host).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 (a file name, not a secret)

# A server bound to every interface is reached on loopback from its own host.
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True, slots=True)
class ClientConfig:
    base_url: str  # no trailing slash
    token: str | None
    token_source: str  # "argument", "MODELPORT_TOKEN", the admin token file's path, or "none"


def resolve_config(
    base_url: str | None = None,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ClientConfig:
    environ = os.environ if env is None else env
    url = resolve_base_url(base_url, environ)
    if token:
        return ClientConfig(url, token, "argument")
    env_token = environ.get("MODELPORT_TOKEN", "").strip()
    if env_token:
        return ClientConfig(url, env_token, "MODELPORT_TOKEN")
    if is_loopback_url(url):
        path = admin_token_path(environ)
        file_token = _read_token_file(path)
        if file_token:
            return ClientConfig(url, file_token, str(path))
    return ClientConfig(url, None, "none")


def resolve_base_url(base_url: str | None, env: Mapping[str, str]) -> str:
    if base_url:
        return base_url.rstrip("/")
    env_url = env.get("MODELPORT_URL", "").strip()
    if env_url:
        return env_url.rstrip("/")
    host = env.get("MODELPORT_HOST", "").strip() or DEFAULT_HOST
    if host in _WILDCARD_HOSTS:
        host = DEFAULT_HOST
    port = env.get("MODELPORT_PORT", "").strip() or str(DEFAULT_PORT)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def admin_token_path(env: Mapping[str, str]) -> Path:
    home = env.get("MODELPORT_HOME", "").strip()
    base = Path(home).expanduser() if home else Path.home() / ".modelport"
    return base / ADMIN_TOKEN_FILE


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_token_file(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        return None
