"""/api/v1/tokens: admin-only management of the project's API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from modelport.api.deps import AuthenticatorDep, CurrentPrincipal, Services
from modelport.domain.ids import MAX_ID
from modelport.schemas.native import TokenCreate, TokenCreated, TokenList, TokenPublic

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("", response_model=TokenList)
def list_tokens(principal: CurrentPrincipal, services: Services) -> TokenList:
    """Live tokens of the caller's project; never their secret or hash."""
    tokens = services.tokens.list(principal)
    return TokenList(items=[TokenPublic.model_validate(t, from_attributes=True) for t in tokens])


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(
    body: TokenCreate, principal: CurrentPrincipal, services: Services
) -> TokenCreated:
    """The token is in this response only; the server keeps just its hash."""
    token, plaintext = services.tokens.create(principal, body.name, body.role, body.endpoint)
    public = TokenPublic.model_validate(token, from_attributes=True)
    return TokenCreated(**dict(public), token=plaintext)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    principal: CurrentPrincipal,
    services: Services,
    authenticator: AuthenticatorDep,
) -> None:
    services.tokens.revoke(principal, token_id)
    authenticator.forget()  # a revoked token stops working now, not after the cache TTL
