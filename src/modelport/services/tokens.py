"""API tokens of a project: minted (plaintext shown once), listed without secrets, revoked."""

from __future__ import annotations

from collections.abc import Sequence

from modelport.domain.errors import Conflict, InvalidSpec, NotFound
from modelport.domain.ids import hash_token, new_token, token_display_prefix
from modelport.domain.records import Role, Token
from modelport.services.auth import Principal
from modelport.store.base import Store

MAX_TOKEN_NAME = 100
# A caller-chosen secret (e.g. Tensormesh's apiKey) is hashed with plain SHA-256 like ours, so
# it must carry enough entropy on its own: at least this long, printable ASCII, no spaces.
MIN_CHOSEN_SECRET = 16
MAX_CHOSEN_SECRET = 256
CHOSEN_PREFIX = 4


def check_chosen_secret(secret: str) -> None:
    """InvalidSpec (field "secret") unless `secret` is usable as a caller-chosen token."""
    if not MIN_CHOSEN_SECRET <= len(secret) <= MAX_CHOSEN_SECRET:
        raise InvalidSpec(
            f"secret: must be {MIN_CHOSEN_SECRET}-{MAX_CHOSEN_SECRET} characters",
            field="secret",
        )
    if any(not 33 <= ord(char) <= 126 for char in secret):
        raise InvalidSpec(
            "secret: printable ASCII only, without spaces (it travels in an HTTP header)",
            field="secret",
        )


def mint_token(
    store: Store,
    project_id: int,
    name: str,
    role: Role,
    endpoint_id: int | None = None,
    *,
    secret: str | None = None,
    server_admin: bool = False,
) -> tuple[Token, str]:
    """Store a new token's hash; return the record and the plaintext (never stored).

    `secret`, when given, is the caller's own plaintext (checked by `check_chosen_secret`)
    instead of a fresh random one; it is stored hashed all the same. A secret some token
    already has (live or revoked) is a Conflict on field "secret". `server_admin` makes it
    the server operator's token (bootstrap only): projects, limits, host grants.
    """
    if secret is not None:
        check_chosen_secret(secret)
    plaintext = new_token() if secret is None else secret
    # A chosen secret may be short: listings show only its first few characters.
    prefix = token_display_prefix(plaintext) if secret is None else secret[:CHOSEN_PREFIX]
    try:
        token = store.create_token(
            project_id,
            name,
            role,
            hash_token(plaintext),
            prefix,
            endpoint_id=endpoint_id,
            server_admin=server_admin,
        )
    except Conflict as exc:
        if secret is None:
            raise
        raise Conflict("secret: already in use; choose another", field="secret") from exc
    return token, plaintext


class TokenService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(
        self, principal: Principal, name: str, role: Role, endpoint: str | None = None
    ) -> tuple[Token, str]:
        """Admin only. `endpoint` (a name) makes it an inference key for that endpoint only."""
        principal.require_admin()
        if not name.strip() or len(name) > MAX_TOKEN_NAME:
            raise InvalidSpec(f"name: must be 1-{MAX_TOKEN_NAME} characters", field="name")
        endpoint_id = None
        if endpoint is not None:
            if role is Role.ADMIN:
                raise InvalidSpec(
                    "role: an endpoint-scoped key cannot be admin (use member or viewer)",
                    field="role",
                )
            try:
                endpoint_id = self._store.get_endpoint_by_name(principal.project_id, endpoint).id
            except NotFound as exc:
                raise NotFound(f"endpoint '{endpoint}' not found", field="endpoint") from exc
        return mint_token(self._store, principal.project_id, name, role, endpoint_id)

    def list(self, principal: Principal) -> Sequence[Token]:
        """Admin only; revoked tokens are left out."""
        principal.require_admin()
        return [t for t in self._store.list_tokens(principal.project_id) if not t.revoked]

    def revoke(self, principal: Principal, token_id: int) -> None:
        """Admin only; another project's token id is NotFound. Revoking twice is fine."""
        principal.require_admin()
        self._store.revoke_token(principal.project_id, token_id)

    def add_endpoint_key(
        self, principal: Principal, endpoint: str, secret: str, *, only: bool = False
    ) -> Token:
        """Register the caller's own `secret` as an inference key of one endpoint.

        For dialects whose clients choose the key (Tensormesh's apiKey). Whoever may change the
        endpoint may do this (no admin needed): it grants no more than the key that
        `EndpointService.create` mints for them. The key is a member key scoped to the
        endpoint, stored hashed. Registering the same secret for the same endpoint again
        returns the existing token (a retried request); a secret in use elsewhere is a
        Conflict on "secret". `only`: revoke the endpoint's other keys, so this is its one key.
        """
        principal.require_mutate()
        check_chosen_secret(secret)
        try:
            target = self._store.get_endpoint_by_name(principal.project_id, endpoint)
        except NotFound as exc:
            raise NotFound(f"endpoint '{endpoint}' not found", field="endpoint") from exc
        token = self._store.find_token(hash_token(secret))
        if token is None:
            token, _ = mint_token(
                self._store,
                principal.project_id,
                f"{endpoint}-inference",
                Role.MEMBER,
                target.id,
                secret=secret,
            )
        elif token.endpoint_id != target.id or token.project_id != principal.project_id:
            raise Conflict("secret: already in use; choose another", field="secret")
        if only:
            for other in self._store.list_tokens(principal.project_id):
                if other.endpoint_id == target.id and other.id != token.id and not other.revoked:
                    self._store.revoke_token(principal.project_id, other.id)
        return token
