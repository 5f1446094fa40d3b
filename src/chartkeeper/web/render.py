"""Rendering pages: the Jinja2 environment, the security headers every page carries and
the navigation. How people are named on screen (names, MRNs and birth dates, never bare
ids) is `chartkeeper.privacy.people`, shared with the API, CLI and paper labels.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from chartkeeper.privacy import policy

from .session import CSRF_FIELD

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Pages hold PHI: nothing is kept in a shared or back-button cache.
    "Cache-Control": "no-store",
}

env = Environment(
    loader=PackageLoader("chartkeeper.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

# What each worklist is called in the navigation, and where it lives.
WORKLIST_PAGES = (
    ("deficiencies", "Deficiencies", "/him/deficiencies"),
    ("patient-index", "Patient index", "/him/mpi"),
    ("release-of-information", "Release of information", "/him/roi"),
    ("coding", "Coding queue", "/coder"),
    ("physician-queries", "Physician queries", "/coder/queries"),
    ("cancer-registry", "Cancer registry", "/registrar"),
    ("paper-records", "File room", "/fileroom"),
)


def secure(response):
    response.headers.update(SECURITY_HEADERS)
    return response


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    user = session.user if session else None
    html = env.get_template(template).render(
        request=request,
        user=user,
        csrf=session.csrf if session else "",
        csrf_field=CSRF_FIELD,
        nav=navigation(user) if user else [],
        path=request.url.path,
        **context,
    )
    return secure(HTMLResponse(html, status_code=status_code))


def redirect(url: str) -> RedirectResponse:
    # 303: after a POST the browser fetches the next page with GET (no re-post on reload).
    return secure(RedirectResponse(url, status_code=303))


def navigation(user) -> list[tuple[str, str]]:
    items = [("Home", "/")]
    if policy.allows(user, "search", "Patient"):
        items.append(("Charts", "/chart"))
    for worklist, label, url in WORKLIST_PAGES:
        if user.role in policy.WORKLISTS[worklist]:
            items.append((label, url))
    if policy.allows(user, "search", "AuditEvent"):
        items.append(("Privacy and audit", "/privacy"))
    if user.role in policy.WORKLISTS["user-accounts"]:
        items.append(("Users", "/admin/users"))
    return items


def static_file(name: str) -> bytes:
    return (resources.files("chartkeeper.web") / "static" / name).read_bytes()


def age_days(stamp: str | None, now: datetime | None = None) -> int | None:
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, ((now or datetime.now(UTC)) - when).days)


def day(stamp: str | None) -> str:
    return (stamp or "")[:10]


env.filters["day"] = day
