"""Rendering pages: the Jinja2 environment, the security headers every page carries, and
how people and records are named on screen (names, MRNs and birth dates, never bare ids).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import resources

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from chartkeeper.privacy import policy
from chartkeeper.store import Repository

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
MRN_TYPE = "MR"

# What each worklist is called in the navigation, and where it lives.
WORKLIST_PAGES = (
    ("deficiencies", "Deficiencies", "/him/deficiencies"),
    ("patient-index", "Patient index", "/him/mpi"),
    ("release-of-information", "Release of information", "/him/roi"),
    ("coding", "Coding queue", "/coder"),
    ("physician-queries", "Physician queries", "/coder/queries"),
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
    if user.role == "admin":
        items.append(("Users", "/admin/users"))
    return items


def static_file(name: str) -> bytes:
    return (resources.files("chartkeeper.web") / "static" / name).read_bytes()


# --- naming people and records ------------------------------------------------------------


def human_name(res: dict | None) -> str:
    if not res:
        return ""
    names = res.get("name") or []
    if isinstance(names, str):  # Organization, Location
        return names
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if not name:
        return ""
    if name.get("text"):
        return name["text"]
    given = " ".join(name.get("given", []))
    family = name.get("family", "")
    return f"{family}, {given}".strip(", ") if family else given


def mrn_of(patient: dict | None) -> str:
    for ident in (patient or {}).get("identifier", []):
        codes = [c.get("code") for c in (ident.get("type") or {}).get("coding", [])]
        if MRN_TYPE in codes:
            return ident.get("value", "")
    return ""


def ref_id(reference: str | None) -> str:
    return (reference or "").rsplit("/", 1)[-1]


class People:
    """Patients and practitioners named for display, read once per page through the guarded
    store (so each read is audited, and a record the user may not see stays unnamed)."""

    def __init__(self, repo: Repository, refs: Iterable[str | None]):
        keys = set()
        for ref in refs:
            if ref and "/" in ref:
                rtype, rid = ref.split("/", 1)
                keys.add((rtype, rid.rsplit("/", 1)[-1]))
        self.found: dict[str, dict] = {}
        if keys:
            with repo.reading() as tx:
                for res in tx.read_many(sorted(keys)):
                    self.found[f"{res['resourceType']}/{res['id']}"] = res

    def patient(self, patient_id: str | None) -> dict:
        ref = patient_id if patient_id and "/" in patient_id else f"Patient/{patient_id}"
        res = self.found.get(ref)
        if res is None:
            return {"id": ref_id(ref), "name": "(record not shown)", "mrn": "", "birth": ""}
        return {
            "id": res["id"],
            "name": human_name(res) or "(no name)",
            "mrn": mrn_of(res),
            "birth": res.get("birthDate", ""),
            "gender": res.get("gender", ""),
            "merged": any(link.get("type") == "replaced-by" for link in res.get("link", [])),
        }

    def name(self, ref: str | None) -> str:
        if not ref:
            return "HIM pool"
        res = self.found.get(ref)
        return human_name(res) if res else ref if "/" not in ref else "(not shown)"


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
