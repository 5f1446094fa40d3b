"""Sign-in (OAuth2 password flow), the dependency every protected route uses, and the
guarded store each request works through.

`authorized(action)` resolves the bearer token to a user (signing it off after
inactivity) and asks the role policy; a refusal is audited. `store(request)` then gives
the route a Repository guarded for that user: label filtering and an audit entry for every
access happen inside the store, in the same transaction as the access.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel

from chartkeeper.errors import AuthenticationFailed, Forbidden
from chartkeeper.privacy import audit, policy, users
from chartkeeper.privacy.access import UserGuard
from chartkeeper.store import Repository

log = logging.getLogger("chartkeeper.api")
router = APIRouter(prefix="/auth", tags=["sign-in"])
_bearer = HTTPBearer(auto_error=False)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def audit_alone(request: Request, entry: audit.AuditEntry) -> None:
    audit.record_alone(request.app.state.repo.engine, request.app.state.audit_key, entry)


@router.post("/token", response_model=TokenResponse, summary="Sign in and get a bearer token")
def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenResponse:
    engine = request.app.state.repo.engine
    try:
        user = users.authenticate(engine, form.username, form.password)
    except AuthenticationFailed as exc:
        audit_alone(
            request,
            audit.AuditEntry(
                action="login-failed",
                outcome="failure",
                username=form.username,
                source=client_address(request),
                detail=str(exc),
            ),
        )
        raise
    lifetime = timedelta(minutes=request.app.state.settings.token_minutes)
    issued = users.issue_token(engine, user, lifetime)
    audit_alone(
        request,
        audit.AuditEntry(
            action="login", username=user.username, role=user.role, source=client_address(request)
        ),
    )
    return TokenResponse(
        access_token=issued.token, expires_in=int(lifetime.total_seconds()), role=user.role
    )


@router.post("/logout", status_code=204, summary="Sign out: the token stops working at once")
def logout(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    user = current_user(request, credentials)
    users.revoke_token(request.app.state.repo.engine, credentials.credentials)
    audit_alone(
        request,
        audit.AuditEntry(
            action="logout", username=user.username, role=user.role, source=client_address(request)
        ),
    )


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> users.User:
    try:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise AuthenticationFailed("sign in first: send 'Authorization: Bearer <token>'")
        idle = timedelta(minutes=request.app.state.settings.idle_minutes)
        user = users.user_for_token(request.app.state.repo.engine, credentials.credentials, idle)
    except AuthenticationFailed as exc:  # a refusal like any other: in the trail
        audit_alone(
            request,
            audit.AuditEntry(
                action="access",
                outcome="denied",
                source=client_address(request),
                detail=f"{request.method} {request.url.path}: 401 {exc}",
            ),
        )
        raise
    request.state.user = user
    return user


def audit_error(request: Request, error: Exception) -> None:
    """A server error is audited like a refusal: who asked for what, and that it failed.
    Best effort: when the database itself is what failed, the server log has it."""
    user = getattr(request.state, "user", None)
    entry = audit.AuditEntry(
        action="access",
        outcome="error",
        username=user.username if user else None,
        role=user.role if user else None,
        source=client_address(request),
        detail=f"{request.method} {request.url.path}: 500 {type(error).__name__}",
    )
    try:
        audit_alone(request, entry)
    except Exception:  # the error being answered matters more
        log.exception("could not audit a server error")


def authorized(action: str, scope: str = "type"):
    """Dependency: the signed-in user, allowed to `action`.

    scope "type": on the resource type in the path (`/fhir/Patient/…`);
    "system": on every type (system-wide history, export of everything);
    "any": on at least one type; the store checks each resource itself (a transaction).
    """

    def check(request: Request, user: Annotated[users.User, Depends(current_user)]) -> users.User:
        resource_type = request.path_params.get("resource_type") or _type_in_path(request)
        try:
            if scope == "any":
                policy.check_any(user, action)
            elif scope == "system":
                policy.check(user, action, policy.ALL)
            else:
                policy.check(user, action, resource_type)
        except Forbidden as exc:
            _audit_refusal(request, user, action, exc)
            raise
        return user

    return check


def works(worklist: str):
    """Dependency: the signed-in user, whose role may work this worklist (policy.WORKLISTS);
    a refusal is audited like any other."""

    def check(request: Request, user: Annotated[users.User, Depends(current_user)]) -> users.User:
        try:
            policy.check_work(user, worklist)
        except Forbidden as exc:
            _audit_refusal(request, user, worklist, exc)
            raise
        return user

    return check


def _audit_refusal(request: Request, user: users.User, action: str, exc: Exception) -> None:
    audit_alone(
        request,
        audit.AuditEntry(
            action=action,
            outcome="denied",
            username=user.username,
            role=user.role,
            source=client_address(request),
            detail=f"{request.method} {request.url.path}: {exc}",
        ),
    )


def store(request: Request, *, purpose: str | None = None) -> Repository:
    """The store as the signed-in user may see it; every access through it is audited,
    under `purpose` or else the caller's X-Purpose-Of-Use header (default TREAT)."""
    guard = UserGuard(
        request.app.state.repo.engine,
        request.app.state.audit_key,
        request.state.user,
        source=client_address(request),
        purpose=purpose or request.headers.get("X-Purpose-Of-Use", "TREAT"),
    )
    return request.app.state.repo.guarded(guard)


def _type_in_path(request: Request) -> str:
    parts = request.url.path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "fhir" else policy.ALL
