"""Sign-in, sign-out, the static files, and the home page: each role's worklists with counts."""

from __future__ import annotations

import hmac
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from chartkeeper.coding import workflow
from chartkeeper.errors import AuthenticationFailed
from chartkeeper.privacy import amendments, audit, disclosures, policy, users
from chartkeeper.quality import deficiencies as dq
from chartkeeper.quality.mpi import list_reviews

from .render import redirect, render, secure, static_file
from .session import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    audit_alone,
    client_address,
    current_session,
    is_tls,
    may_work,
    new_signin_token,
    require_work,
    store,
)

router = APIRouter(include_in_schema=False)
_STATIC = {
    "app.css": "text/css",
    "app.js": "text/javascript",
}
# A working day: the idle log-off (Settings.idle_minutes) ends a forgotten session long before.
SESSION_LIFETIME = timedelta(hours=10)


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name == "htmx.min.js":
        return _htmx()
    if name not in _STATIC:
        return Response(status_code=404)
    response = Response(static_file(name), media_type=_STATIC[name])
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _htmx() -> Response:
    from importlib import resources

    # htmx from the django-js-lib-htmx wheel (package data only; Django is not imported).
    body = (resources.files("js_lib_htmx") / "static" / "htmx" / "htmx.min.js").read_bytes()
    response = Response(body, media_type="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@router.get("/signin")
def signin_form(request: Request, expired: int = 0) -> Response:
    token = new_signin_token()
    message = "You were signed off; sign in again." if expired else ""
    response = render(request, "signin.html", signin_token=token, message=message)
    _set_cookie(request, response, SIGNIN_COOKIE, token, max_age=1800)
    return response


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    sent, expected = str(form.get("signin_token", "")), request.cookies.get(SIGNIN_COOKIE, "")
    if not expected or not hmac.compare_digest(sent, expected):
        return _signin_again(request, "The sign-in form had expired; please try again.", 403)
    engine = request.app.state.repo.engine
    try:
        user = users.authenticate(engine, username, password)
    except AuthenticationFailed as exc:
        audit_alone(
            request,
            audit.AuditEntry(
                action="login-failed",
                outcome="failure",
                username=username,
                source=client_address(request),
                detail=f"workbench: {exc}",
            ),
        )
        return _signin_again(request, exc.message, 401, username)
    issued = users.issue_token(engine, user, SESSION_LIFETIME)
    audit_alone(
        request,
        audit.AuditEntry(
            action="login",
            username=user.username,
            role=user.role,
            source=client_address(request),
            detail="workbench",
        ),
    )
    response = redirect("/")
    _set_cookie(request, response, SESSION_COOKIE, issued.token)
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


def _signin_again(request: Request, message: str, status: int, username: str = "") -> Response:
    token = new_signin_token()
    response = render(
        request,
        "signin.html",
        status_code=status,
        signin_token=token,
        message=message,
        username=username,
    )
    _set_cookie(request, response, SIGNIN_COOKIE, token, max_age=1800)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, **kw) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=is_tls(request), path="/", **kw
    )


@router.post("/signout")
async def signout(request: Request) -> Response:
    from .session import check_csrf

    session = current_session(request)
    await check_csrf(request, session)
    users.revoke_token(request.app.state.repo.engine, session.token)
    audit_alone(
        request,
        audit.AuditEntry(
            action="logout",
            username=session.user.username,
            role=session.user.role,
            source=client_address(request),
            detail="workbench",
        ),
    )
    response = redirect("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return secure(response)


@router.get("/")
def home(request: Request) -> Response:
    session = current_session(request)
    return render(request, "home.html", cards=worklist_cards(request, session.user))


LAZY = "…"
_LAZY_COUNTS = {
    "coding": lambda repo: len(workflow.queue(repo)),
    "dnfb": lambda repo: workflow.dnfb(repo)["count"],
}


@router.get("/home/count/{name}")
def lazy_count(request: Request, name: str) -> Response:
    """One home-page count, as a fragment htmx puts in its card."""
    session = current_session(request)
    if name not in _LAZY_COUNTS:
        return Response(status_code=404)
    require_work(request, session.user, "coding")
    count = _LAZY_COUNTS[name](store(request))
    return secure(HTMLResponse(f'<span class="count">{int(count)}</span>'))


def worklist_cards(request: Request, user: users.User) -> list[dict]:
    """The role's worklists, each with its count, computed by the same domain functions the
    worklist pages use (so a count never disagrees with its list)."""
    repo = store(request)
    engine = request.app.state.repo.engine
    cards: list[dict] = []

    def card(title: str, url: str, count, what: str, lazy: str | None = None) -> None:
        cards.append({"title": title, "url": url, "count": count, "what": what, "lazy": lazy})

    if may_work(user, "deficiencies"):
        card(
            "Chart deficiencies",
            "/him/deficiencies",
            len(dq.list_deficiencies(repo, limit=1000)),
            "open",
        )
    if may_work(user, "patient-index"):
        card(
            "Possible duplicate patients",
            "/him/mpi",
            len(list_reviews(repo, limit=1000)),
            "to review",
        )
    if may_work(user, "release-of-information"):
        waiting = [
            r
            for r in disclosures.list_requests(request.app.state.repo)
            if r.status in ("logged", "validated")
        ]
        card("Release of information", "/him/roi", len(waiting), "waiting")
        card(
            "Amendment requests",
            "/him/amendments",
            len(amendments.list_amendments(request.app.state.repo, status="requested")),
            "open",
        )
    if may_work(user, "coding"):
        # These two walk every finished encounter: their counts load after the page (htmx),
        # so the home page answers at once; without JavaScript the card still links.
        card("Coding queue", "/coder", LAZY, "ready to code", lazy="/home/count/coding")
        card(
            "DNFB and productivity",
            "/coder/dnfb",
            LAZY,
            "discharged, not final billed",
            lazy="/home/count/dnfb",
        )
    if may_work(user, "physician-queries"):
        card(
            "Physician queries",
            "/coder/queries",
            len(workflow.list_queries(repo, status="open")),
            "open",
        )
    if may_work(user, "cancer-registry"):
        from chartkeeper.registry import casefinding

        card(
            "Cancer registry",
            "/registrar",
            len(casefinding.worklist(repo, "suspected")),
            "suspected cases",
        )
    if policy.allows(user, "search", "AuditEvent"):
        card(
            "Break-the-glass report",
            "/privacy/break-glass",
            len(audit.entries(engine, break_glass=True, action="break-glass", limit=1000)),
            "grants",
        )
    if user.role in policy.WORKLISTS["user-accounts"]:
        card("Users and roles", "/admin/users", None, "")
    return cards
