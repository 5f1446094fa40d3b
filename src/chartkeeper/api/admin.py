"""Account administration over HTTP (`/accounts`): admin role only, every call audited.

The same domain functions as `chartkeeper user …`; refusals are audited by `works`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from chartkeeper.errors import BadRequest
from chartkeeper.privacy import audit, users

from .auth import audit_alone, client_address, works
from .bodies import json_object

router = APIRouter(prefix="/accounts", tags=["administration"])
Admin = Annotated[users.User, Depends(works("user-accounts"))]


def _audited(request: Request, admin: users.User, action: str, detail: str) -> None:
    audit_alone(
        request,
        audit.AuditEntry(
            action=f"user-{action}",
            username=admin.username,
            role=admin.role,
            source=client_address(request),
            detail=detail,
        ),
    )


def _engine(request: Request):
    return request.app.state.repo.engine


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"'{name}' is required, as a string")
    return value


@router.get("", summary="Every account: role, state, failed sign-ins")
def list_users(request: Request, admin: Admin) -> dict:
    accounts = users.list_accounts(_engine(request))
    _audited(request, admin, "list", f"{len(accounts)} users")
    return {"users": [a.to_json() for a in accounts]}


@router.post("", status_code=201, summary="Add an account")
async def add_user(request: Request, admin: Admin) -> dict:
    body = await json_object(request)
    engine = _engine(request)
    made = users.add_user(
        engine, _text(body, "username"), _text(body, "password"), _text(body, "role")
    )
    _audited(request, admin, "add", f"{made.username} as {made.role}")
    return users.account(engine, made.username).to_json()


def _changed(request: Request, admin: users.User, action: str, account: users.Account) -> dict:
    """An account as the domain function (`privacy.users`, as the CLI) read or changed it,
    audited."""
    _audited(request, admin, action, account.username)
    return account.to_json()


@router.get("/{username}", summary="One account")
def get_user(request: Request, username: str, admin: Admin) -> dict:
    return _changed(request, admin, "read", users.account(_engine(request), username))


@router.post("/{username}/disable", summary="Stop an account signing in (tokens revoked)")
def disable_user(request: Request, username: str, admin: Admin) -> dict:
    changed = users.disable(_engine(request), username, by=admin.username)
    return _changed(request, admin, "disable", changed)


@router.post("/{username}/enable", summary="Let a disabled account sign in again")
def enable_user(request: Request, username: str, admin: Admin) -> dict:
    return _changed(request, admin, "enable", users.enable(_engine(request), username))


@router.post("/{username}/unlock", summary="Lift a lock after failed sign-ins")
def unlock_user(request: Request, username: str, admin: Admin) -> dict:
    return _changed(request, admin, "unlock", users.unlock(_engine(request), username))


@router.put("/{username}/password", summary="Set a new password (tokens revoked)")
async def set_password(request: Request, username: str, admin: Admin) -> dict:
    password = _text(await json_object(request), "password")
    changed = users.set_password(_engine(request), username, password)
    return _changed(request, admin, "password", changed)


@router.put("/{username}/role", summary="Give the account another role (not your own)")
async def change_role(request: Request, username: str, admin: Admin) -> dict:
    role = _text(await json_object(request), "role")
    changed = users.change_role(_engine(request), username, role, by=admin.username)
    return _changed(request, admin, "role", changed)
