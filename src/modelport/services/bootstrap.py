"""First start: a "default" project and an admin token, saved to a file only its owner reads."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from modelport.domain.errors import Conflict, NotFound
from modelport.domain.records import Project, Role
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
    if project is not None and store.list_tokens(project.id):
        return None
    if project is None:
        try:
            project = store.create_project(DEFAULT_PROJECT)
        except Conflict:
            return None  # another server process bootstrapped at the same moment
    _, plaintext = mint_token(store, project.id, BOOTSTRAP_TOKEN_NAME, Role.ADMIN)
    write_private_file(settings.admin_token_path, plaintext + "\n")
    log.info("bootstrapped project %r with an admin token", DEFAULT_PROJECT)
    return plaintext


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
