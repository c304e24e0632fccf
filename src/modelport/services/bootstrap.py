"""First start: a "default" project and the server admin's token, in a file only its owner
reads. That token is the server's operator: it alone creates projects, sets their limits and
grants host access (docs/security.md)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from modelport.domain.errors import Conflict, NotFound
from modelport.domain.records import Project, Role, Token
from modelport.services.tokens import mint_token
from modelport.settings import Settings
from modelport.store.base import Store

DEFAULT_PROJECT = "default"
BOOTSTRAP_TOKEN_NAME = "bootstrap-admin"  # noqa: S105 (a label, not a secret)

log = logging.getLogger(__name__)


def ensure_bootstrap(store: Store, settings: Settings) -> str | None:
    """The new admin token on first start (also written to settings.admin_token_path, 0600).

    Later starts return None and leave the file alone, even if it was deleted: an operator
    with a token mints more through the API, and nothing is minted behind their back.
    """
    project = _existing_default(store)
    if project is not None and (tokens := store.list_tokens(project.id)):
        _promote_bootstrap_token(store, tokens)
        return None
    if project is None:
        try:
            project = store.create_project(DEFAULT_PROJECT)
        except Conflict:
            return None  # another server process bootstrapped at the same moment
    # The operator's token: the one that creates projects, sets limits and grants host access.
    _, plaintext = mint_token(
        store, project.id, BOOTSTRAP_TOKEN_NAME, Role.ADMIN, server_admin=True
    )
    write_private_file(settings.admin_token_path, plaintext + "\n")
    log.info("bootstrapped project %r with an admin token", DEFAULT_PROJECT)
    return plaintext


def _promote_bootstrap_token(store: Store, tokens: Sequence[Token]) -> None:
    """A server bootstrapped before server admins existed: its live bootstrap token becomes
    the server admin's, as a fresh start would have made it, unless some token already is."""
    if any(t.server_admin for t in tokens):
        return
    first = next((t for t in tokens if t.name == BOOTSTRAP_TOKEN_NAME and not t.revoked), None)
    if first is not None and first.role is Role.ADMIN and first.endpoint_id is None:
        store.make_server_admin(first.id)
        log.info("the bootstrap admin token of project %r is now the server admin", DEFAULT_PROJECT)


def _existing_default(store: Store) -> Project | None:
    try:
        return store.get_project_by_name(DEFAULT_PROJECT)
    except NotFound:
        return None


def write_private_file(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only, replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
