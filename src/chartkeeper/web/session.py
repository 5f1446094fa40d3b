"""Sign-in for the workbench: the session cookie, CSRF tokens, and the guarded store each
page works through.

The session is the same opaque token the API issues (`users.issue_token`): stored only as
its hash, revoked at sign-out, signed off after `idle_minutes` without a request, and
refused for a disabled account. It travels in an HttpOnly, SameSite=Strict cookie (Secure
when the request came over TLS), never in a URL. Each form carries a CSRF token derived
from the session token, so a page from another site cannot post one; the sign-in form, which
has no session yet, uses a double-submit cookie. Lockout after repeated failures is
`users.authenticate`'s, the same as for the API.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request
from starlette.datastructures import FormData

from chartkeeper.errors import AuthenticationFailed, Forbidden
from chartkeeper.privacy import audit, policy, users
from chartkeeper.privacy.access import UserGuard
from chartkeeper.store import Repository

SESSION_COOKIE = "ck_session"
SIGNIN_COOKIE = "ck_signin"  # double-submit CSRF token for the sign-in form
CSRF_FIELD = "csrf_token"


class SignInRequired(Exception):
    """No valid session: the page answers with the sign-in form (a redirect for GETs)."""

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


class CsrfRefused(Exception):
    """A state-changing request without the form's CSRF token."""


@dataclass(frozen=True)
class Session:
    user: users.User
    token: str

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)


def csrf_for(token: str) -> str:
    # A one-way function of the (secret, HttpOnly) session token: a script on another site
    # can neither read the cookie nor compute this; nothing extra is stored.
    return hashlib.sha256(b"chartkeeper-csrf:" + token.encode()).hexdigest()


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def audit_alone(request: Request, entry: audit.AuditEntry) -> None:
    audit.record_alone(request.app.state.repo.engine, request.app.state.audit_key, entry)


def is_tls(request: Request) -> bool:
    return request.url.scheme == "https"


def current_session(request: Request) -> Session:
    """The signed-in session, or SignInRequired. Each request restarts the idle clock."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired()
    settings = request.app.state.settings
    try:
        user = users.user_for_token(
            request.app.state.repo.engine, token, timedelta(minutes=settings.idle_minutes)
        )
    except AuthenticationFailed as exc:
        raise SignInRequired(str(exc)) from None
    request.state.user = user
    session = Session(user, token)
    request.state.session = session
    return session


async def check_csrf(request: Request, session: Session) -> FormData:
    """The posted form, if its CSRF token is this session's; else CsrfRefused (audited)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    if not (isinstance(sent, str) and hmac.compare_digest(sent, session.csrf)):
        audit_alone(
            request,
            audit.AuditEntry(
                action="csrf",
                outcome="denied",
                username=session.user.username,
                role=session.user.role,
                source=client_address(request),
                detail=f"{request.method} {request.url.path}: missing or wrong CSRF token",
            ),
        )
        raise CsrfRefused()
    return form


def new_signin_token() -> str:
    return secrets.token_urlsafe(24)


def may_work(user: users.User, worklist: str) -> bool:
    return user.role in policy.WORKLISTS.get(worklist, set())


def require_work(request: Request, user: users.User, worklist: str) -> None:
    """The page's worklist is one the role works (policy.WORKLISTS); a refusal is audited."""
    try:
        policy.check_work(user, worklist)
    except Forbidden as exc:
        audit_alone(
            request,
            audit.AuditEntry(
                action=worklist,
                outcome="denied",
                username=user.username,
                role=user.role,
                source=client_address(request),
                detail=f"{request.method} {request.url.path}: {exc}",
            ),
        )
        raise


def store(request: Request, *, purpose: str = "TREAT") -> Repository:
    """The store as the signed-in user may see it; every access through it is audited."""
    guard = UserGuard(
        request.app.state.repo.engine,
        request.app.state.audit_key,
        request.state.user,
        source=client_address(request),
        purpose=purpose,
    )
    return request.app.state.repo.guarded(guard)
