"""API tokens of a project: minted (plaintext shown once), listed without secrets, revoked."""

from __future__ import annotations

from collections.abc import Sequence

from modelport.domain.errors import InvalidSpec, NotFound
from modelport.domain.ids import hash_token, new_token, token_display_prefix
from modelport.domain.records import Role, Token
from modelport.services.auth import Principal
from modelport.store.base import Store

MAX_TOKEN_NAME = 100


def mint_token(
    store: Store, project_id: int, name: str, role: Role, endpoint_id: int | None = None
) -> tuple[Token, str]:
    """Store a new token's hash; return the record and the plaintext (never stored)."""
    plaintext = new_token()
    token = store.create_token(
        project_id,
        name,
        role,
        hash_token(plaintext),
        token_display_prefix(plaintext),
        endpoint_id=endpoint_id,
    )
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
