"""Oversight: a patient's access report, the break-the-glass report and the audit chain's
status (privacy officers and auditors: the roles the policy lets read AuditEvent), and the
users and roles (admin). The audit trail is read with `privacy.audit`, and reading it is
itself recorded, as the API does."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chartkeeper.errors import ChartkeeperError, Forbidden, NotFound
from chartkeeper.privacy import audit, policy, users
from chartkeeper.privacy.access import btg_report
from chartkeeper.privacy.people import People

from .render import redirect, render
from .session import (
    audit_alone,
    check_csrf,
    client_address,
    current_session,
    require_work,
    store,
)

router = APIRouter(include_in_schema=False)


def _auditor(request: Request):
    session = current_session(request)
    try:
        policy.check(session.user, "search", "AuditEvent")
    except Forbidden as exc:
        _note(request, session.user, "privacy-report", outcome="denied", detail=str(exc))
        raise
    return session


def _note(request: Request, user, action: str, **what) -> None:
    audit_alone(
        request,
        audit.AuditEntry(
            action=action,
            username=user.username,
            role=user.role,
            source=client_address(request),
            **what,
        ),
    )


def _rows(request: Request, rows: list[dict]) -> tuple[list[dict], People]:
    patients = {p for r in rows for p in _patients(r)}
    # Auditors may not read Patient resources: they see ids, the others see names.
    people = People(store(request), [f"Patient/{p}" for p in patients])
    return rows, people


def _patients(row: dict) -> list[str]:
    value = row.get("patients") or []
    if isinstance(value, str):
        import orjson

        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            value = []
    return list(value)


def _privacy_page(request: Request, chain: dict | None) -> Response:
    """The privacy page: the latest 50 audit entries, and the chain check if one was run."""
    rows, people = _rows(request, audit.entries(request.app.state.repo.engine, limit=50))
    return render(
        request, "privacy.html", rows=rows, people=people, patients_of=_patients, chain=chain
    )


@router.get("/privacy")
def privacy_home(request: Request) -> Response:
    session = _auditor(request)
    _note(request, session.user, "search", detail="AuditEvent (workbench, latest 50)")
    return _privacy_page(request, chain=None)


@router.post("/privacy/verify")
async def verify_chain(request: Request) -> Response:
    session = _auditor(request)
    await check_csrf(request, session)
    problems = audit.verify(request.app.state.repo.engine, request.app.state.audit_key)
    _note(request, session.user, "audit-verify", detail=f"{len(problems)} problems")
    return _privacy_page(request, chain={"ok": not problems, "problems": problems})


@router.get("/privacy/access/{patient_id}")
def access_report(request: Request, patient_id: str) -> Response:
    session = _auditor(request)
    rows = audit.entries(request.app.state.repo.engine, patient=patient_id, limit=1000)
    _note(
        request,
        session.user,
        "search",
        detail=f"AuditEvent?patient={patient_id} (workbench)",
        patients=(patient_id,),
    )
    rows, people = _rows(request, rows)
    return render(
        request,
        "access_report.html",
        rows=rows,
        people=people,
        patient=people.patient(patient_id),
        patients_of=_patients,
    )


@router.post("/privacy/access")
async def access_report_lookup(request: Request) -> Response:
    """The form on the privacy page: a patient id (from a chart or an audit row)."""
    session = _auditor(request)
    form = await check_csrf(request, session)
    return redirect(
        f"/privacy/access/{str(form.get('patient', '')).strip().removeprefix('Patient/')}"
    )


@router.get("/privacy/break-glass")
def break_glass_report(request: Request) -> Response:
    session = _auditor(request)
    rows = btg_report(request.app.state.repo.engine)
    _note(request, session.user, "search", detail="AuditEvent?break-glass (workbench)")
    rows, people = _rows(request, rows)
    return render(request, "btg_report.html", rows=rows, people=people, patients_of=_patients)


# --- users and roles -------------------------------------------------------------------------
# The same domain functions as `chartkeeper user …` and the /accounts API (privacy.users),
# audited under the same actions (user-list, user-add, user-disable, ...).

ACCOUNT_ACTIONS = ("disable", "enable", "unlock", "password", "role")
DONE = {
    "added": "added",
    "disable": "disabled: it cannot sign in, and its sessions have ended",
    "enable": "enabled",
    "unlock": "unlocked",
    "password": "given a new password; its sessions have ended",
    "role": "given a new role",
}


def _admin(request: Request):
    session = current_session(request)
    require_work(request, session.user, "user-accounts")
    return session


def _users_page(
    request: Request, *, done: str = "", problem: str = "", status_code: int = 200
) -> Response:
    session = request.state.session
    accounts = users.list_accounts(request.app.state.repo.engine)
    _note(request, session.user, "user-list", detail=f"{len(accounts)} users (workbench)")
    return render(
        request,
        "users.html",
        status_code=status_code,
        accounts=accounts,
        me=session.user.username,
        roles=users.ROLES,
        policy=policy.POLICY,
        worklists=policy.WORKLISTS,
        labels=policy.ROLE_LABELS,
        done=done,
        problem=problem,
    )


@router.get("/admin/users")
def user_admin(request: Request, changed: str = "", what: str = "") -> Response:
    _admin(request)
    done = f"User {changed} {DONE[what]}." if changed and what in DONE else ""
    return _users_page(request, done=done)


@router.post("/admin/users")
async def add_user(request: Request) -> Response:
    session = _admin(request)
    form = await check_csrf(request, session)
    try:
        made = users.add_user(
            request.app.state.repo.engine,
            str(form.get("username", "")).strip(),
            str(form.get("password", "")),
            str(form.get("role", "")),
        )
    except ChartkeeperError as exc:
        return _users_page(request, problem=exc.message, status_code=exc.http_status)
    _note(request, session.user, "user-add", detail=f"{made.username} as {made.role}")
    return redirect(f"/admin/users?changed={quote(made.username)}&what=added")


@router.post("/admin/users/{username}/{action}")
async def change_account(request: Request, username: str, action: str) -> Response:
    """Disable, enable, unlock, reset the password of, or change the role of an account."""
    session = _admin(request)
    form = await check_csrf(request, session)
    if action not in ACCOUNT_ACTIONS:
        raise NotFound(f"no account action {action!r}")
    engine, me = request.app.state.repo.engine, session.user.username
    change = {
        "disable": lambda: users.disable(engine, username, by=me),
        "enable": lambda: users.enable(engine, username),
        "unlock": lambda: users.unlock(engine, username),
        "password": lambda: users.set_password(engine, username, str(form.get("password", ""))),
        "role": lambda: users.change_role(engine, username, str(form.get("role", "")), by=me),
    }[action]
    try:
        changed = change()
    except ChartkeeperError as exc:
        return _users_page(
            request, problem=f"{username}: {exc.message}", status_code=exc.http_status
        )
    detail = f"{changed.username} as {changed.role}" if action == "role" else changed.username
    _note(request, session.user, f"user-{action}", detail=detail)
    return redirect(f"/admin/users?changed={quote(changed.username)}&what={action}")
