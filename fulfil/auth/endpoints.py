"""/api/v1/tokens (ops only) and /api/v1/me"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from fulfil.api_types import RecordId
from fulfil.auth import service
from fulfil.auth.schemas import ScopedTokenCreate, TokenCreate, TokenIssued, TokenRead
from fulfil.auth.service import Principal
from fulfil.deps import CommittingRoute, OpsOnly, SessionDep, get_principal
from fulfil.openapi import errors

router = APIRouter(tags=["auth"], route_class=CommittingRoute)


@router.get("/me")
def whoami(principal: Annotated[Principal, Depends(get_principal)]) -> dict[str, object]:
    """The caller's token: name, role and location scope (any role)."""
    return {"token_id": principal.token_id, "name": principal.name, "role": principal.role.value, "location_id": principal.location_id}


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(session: SessionDep, _: OpsOnly, include_revoked: bool = False) -> list[TokenRead]:
    """Tokens (hashes only are stored; secrets are never listed)."""
    return [TokenRead.model_validate(t) for t in service.list_tokens(session, include_revoked=include_revoked)]


@router.post("/tokens", response_model=TokenIssued, status_code=status.HTTP_201_CREATED, responses=errors(404))
def create_token(data: TokenCreate, session: SessionDep, _: OpsOnly) -> TokenIssued:
    """Issue a token; the response carries its secret, shown this once."""
    location_id = data.location_id if isinstance(data, ScopedTokenCreate) else None
    issued = service.create_token(session, role=data.role, name=data.name, location_id=location_id)
    return TokenIssued(**TokenRead.model_validate(issued.token).model_dump(), secret=issued.secret)


@router.delete("/tokens/{token_id}", response_model=TokenRead)
def revoke_token(token_id: RecordId, session: SessionDep, _: OpsOnly) -> TokenRead:
    """Revoke a token at once."""
    return TokenRead.model_validate(service.revoke_token(session, token_id))
