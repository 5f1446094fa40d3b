"""Accounts and bearer tokens.

Passwords are stored only as argon2id hashes. Tokens are random (256 bits) and stored only
as their SHA-256, so a copy of the database does not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from chartkeeper.errors import AuthenticationFailed, BadRequest, Conflict
from chartkeeper.store.schema import access_token, app_user

ROLES = ("him", "coder", "registrar", "clinician", "auditor", "admin")
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Verified when the user is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone's")


@dataclass(frozen=True)
class User:
    username: str
    role: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires: datetime
    user: User


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(engine: Engine, username: str, password: str, role: str) -> User:
    if role not in ROLES:
        raise BadRequest(f"unknown role '{role}'; roles are {', '.join(ROLES)}")
    if not username or len(username) > 64:
        raise BadRequest("a username has 1 to 64 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    row = {
        "username": username,
        "password_hash": _hasher.hash(password),
        "role": role,
        "active": True,
        "created": _stamp(_now()),
    }
    try:
        with engine.begin() as conn:
            conn.execute(insert(app_user), [row])
    except IntegrityError:
        raise Conflict(f"user '{username}' exists already") from None
    return User(username, role)


def authenticate(engine: Engine, username: str, password: str) -> User:
    """The user, if the password is right and the account active; else AuthenticationFailed."""
    with engine.connect() as conn:
        row = conn.execute(select(app_user).where(app_user.c.username == username)).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        row = None
    if row is None or not row.active:
        raise AuthenticationFailed("wrong username or password")
    return User(row.username, row.role)


def issue_token(engine: Engine, user: User, lifetime: timedelta) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    issued = _now()
    with engine.begin() as conn:
        conn.execute(
            insert(access_token),
            [
                {
                    "token_hash": _token_hash(token),
                    "username": user.username,
                    "issued": _stamp(issued),
                    "expires": _stamp(issued + lifetime),
                    "revoked": False,
                }
            ],
        )
    return IssuedToken(token, issued + lifetime, user)


def user_for_token(engine: Engine, token: str) -> User:
    t, u = access_token.c, app_user.c
    query = (
        select(t.expires, t.revoked, u.username, u.role, u.active)
        .join_from(access_token, app_user, t.username == u.username)
        .where(t.token_hash == _token_hash(token))
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row.revoked or not row.active:
        raise AuthenticationFailed("the access token is not valid; sign in again")
    if row.expires <= _stamp(_now()):
        raise AuthenticationFailed("the access token has expired; sign in again")
    return User(row.username, row.role)


def revoke_token(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(access_token)
            .where(access_token.c.token_hash == _token_hash(token))
            .values(revoked=True)
        )
