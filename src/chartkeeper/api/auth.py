"""Sign-in (OAuth2 password flow) and the dependency every protected route uses.

`authorized(action)` is the one check: it resolves the bearer token to a user and asks
the role policy whether the action is allowed on the resource type in the path. Later
access-control work (sensitivity labels, break-the-glass, audit) extends this function.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel

from chartkeeper.errors import AuthenticationFailed
from chartkeeper.privacy import policy, users

router = APIRouter(prefix="/auth", tags=["sign-in"])
_bearer = HTTPBearer(auto_error=False)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


@router.post("/token", response_model=TokenResponse, summary="Sign in and get a bearer token")
def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenResponse:
    engine = request.app.state.repo.engine
    user = users.authenticate(engine, form.username, form.password)
    lifetime = timedelta(minutes=request.app.state.settings.token_minutes)
    issued = users.issue_token(engine, user, lifetime)
    return TokenResponse(
        access_token=issued.token, expires_in=int(lifetime.total_seconds()), role=user.role
    )


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> users.User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("sign in first: send 'Authorization: Bearer <token>'")
    return users.user_for_token(request.app.state.repo.engine, credentials.credentials)


def authorized(action: str, scope: str = "type"):
    """Dependency: the signed-in user, allowed to `action`.

    scope "type": on the resource type in the path (`/fhir/Patient/…`);
    "system": on every type (system-wide history, export of everything);
    "any": on at least one type; the route checks each resource itself (a transaction).
    """

    def check(request: Request, user: Annotated[users.User, Depends(current_user)]) -> users.User:
        if scope == "any":
            policy.check_any(user, action)
        elif scope == "system":
            policy.check(user, action, policy.ALL)
        else:
            resource_type = request.path_params.get("resource_type") or _type_in_path(request)
            policy.check(user, action, resource_type)
        return user

    return check


def _type_in_path(request: Request) -> str:
    parts = request.url.path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "fhir" else policy.ALL
