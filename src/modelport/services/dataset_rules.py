"""What a dataset may point at (docs/security.md, docs/datasets.md).

Members keep results under the server home or in object stores on public addresses. A host
path anywhere else, an fsspec protocol other than the object stores (file://, chained URLs) and
an endpoint_url on a loopback, private or link-local address reach the host or its network:
those need host access (the server admin, or a project it granted), like a spec's host paths.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from modelport.domain.datasets import StorageKind
from modelport.domain.errors import Forbidden, InvalidSpec
from modelport.services.host_policy import HOW_TO_GET_IT, PERMISSION

# Object stores a member may name; anything else fsspec speaks may read the host.
OBJECT_STORE_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})


def infer_kind(url: str | None) -> StorageKind:
    return StorageKind.FSSPEC if url is not None and "://" in url else StorageKind.LOCAL


def local_directory(url: str | None, default: Path, *, may_use_host: bool) -> Path:
    """The directory a local dataset keeps its objects in: `default` when no url is given, a
    relative url under the project's datasets directory, an absolute one only with host access."""
    if url is None:
        return default
    path = PurePosixPath(url)
    if "\x00" in url or "://" in url:
        raise InvalidSpec("url: a local dataset's url is a directory path", field="url")
    if not path.is_absolute():
        if any(part in ("..", ".") for part in path.parts) or not path.parts:
            raise InvalidSpec("url: a relative path may not contain '.' or '..'", field="url")
        return default.parent / path
    if not may_use_host:
        raise Forbidden(
            f"url: a dataset outside the server home needs {PERMISSION}; {HOW_TO_GET_IT}",
            field="url",
        )
    return Path(url).resolve()


def check_fsspec_url(url: str, *, may_use_host: bool) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme:
        raise InvalidSpec("url: must be an fsspec URL such as s3://bucket/prefix", field="url")
    if scheme not in OBJECT_STORE_PROTOCOLS:
        if not may_use_host:
            raise Forbidden(
                f"url: protocol '{parts.scheme}' reaches the host and needs {PERMISSION}; "
                f"{HOW_TO_GET_IT}",
                field="url",
            )
        return url
    if not parts.netloc or parts.query or parts.fragment:
        raise InvalidSpec(
            "url: must be <protocol>://bucket[/prefix], options go in 'options'", field="url"
        )
    return url.rstrip("/")


def check_endpoint_url(endpoint_url: str, *, may_use_host: bool) -> None:
    """An S3-compatible server's URL; one on the host's own networks needs host access."""
    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidSpec(
            "options.endpoint_url: must be an http(s) URL with a host", field="options.endpoint_url"
        )
    if may_use_host or not _is_internal(parts.hostname):
        return
    raise Forbidden(
        f"options.endpoint_url: '{parts.hostname}' is on this host's own networks; that "
        f"needs {PERMISSION}; {HOW_TO_GET_IT}",
        field="options.endpoint_url",
    )


def _is_internal(host: str) -> bool:
    """Loopback, private, link-local or unresolvable (judged as internal: fail closed)."""
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return True
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return any(
        a.is_loopback or a.is_private or a.is_link_local or a.is_unspecified or a.is_reserved
        for a in addresses
    )
