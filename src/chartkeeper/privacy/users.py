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

from chartkeeper.errors import AuthenticationFailed, BadRequest, Conflict, NotFound
from chartkeeper.store import users as store_users
from chartkeeper.store.engine import Engine

ROLES = ("him", "coder", "registrar", "clinician", "auditor", "admin")
MIN_PASSWORD_LENGTH = 12
MAX_FAILED_SIGN_INS = 5  # then the account is locked for LOCKOUT
LOCKOUT = timedelta(minutes=15)
_COMMON = {
    "password1234",
    "123456789012",
    "qwertyuiop12",
    "letmein12345",
    "welcome12345",
    "chartkeeper1",
    "administrator",
    "passwordpassword",
}
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
    check_password_strength(username, password)
    row = {
        "username": username,
        "password_hash": _hasher.hash(password),
        "role": role,
        "active": True,
        "created": _stamp(_now()),
    }
    if not store_users.insert_user(engine, row):
        raise Conflict(f"user '{username}' exists already")
    return User(username, role)


def check_password_strength(username: str, password: str) -> None:
    """NIST SP 800-63B: length over composition rules, and no known-bad passwords."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    if lowered in _COMMON or len(set(password)) < 5 or username.lower() in lowered:
        raise BadRequest("that password is too easy to guess (common, repetitive or your name)")


def authenticate(engine: Engine, username: str, password: str) -> User:
    """The user, if the password is right, the account active and not locked.

    Five failures in a row lock the account for 15 minutes (ONC 170.315(d)(1)); the lock is
    checked before the password so a locked account cannot be probed.
    """
    now = _stamp(_now())
    row = store_users.user_row(engine, username)
    if row is not None and row.locked_until and row.locked_until > now:
        raise AuthenticationFailed(
            f"the account is locked until {row.locked_until[:19]}Z after repeated failed sign-ins"
        )
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        if row is not None:
            _count_failure(engine, username, row.failed_sign_ins + 1)
        raise AuthenticationFailed("wrong username or password") from None
    if not row.active:
        raise AuthenticationFailed("wrong username or password")
    if row.failed_sign_ins:
        store_users.update_account(engine, username, failed_sign_ins=0, locked_until=None)
    return User(row.username, row.role)


def _count_failure(engine: Engine, username: str, failures: int) -> None:
    locked = _stamp(_now() + LOCKOUT) if failures >= MAX_FAILED_SIGN_INS else None
    store_users.update_account(
        engine, username, failed_sign_ins=0 if locked else failures, locked_until=locked
    )


def issue_token(engine: Engine, user: User, lifetime: timedelta) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    issued = _now()
    store_users.insert_token(
        engine,
        {
            "token_hash": _token_hash(token),
            "username": user.username,
            "issued": _stamp(issued),
            "expires": _stamp(issued + lifetime),
            "revoked": False,
            "last_used": _stamp(issued),
        },
    )
    return IssuedToken(token, issued + lifetime, user)


def user_for_token(engine: Engine, token: str, idle: timedelta | None = None) -> User:
    """The token's user. `idle`: sign off a token unused for that long (automatic log-off,
    45 CFR 164.312(a)(2)(iii)); each use restarts the clock."""
    row = store_users.token_row(engine, _token_hash(token))
    if row is None or row.revoked or not row.active:
        raise AuthenticationFailed("the access token is not valid; sign in again")
    now = _now()
    if row.expires <= _stamp(now):
        raise AuthenticationFailed("the access token has expired; sign in again")
    last = row.last_used or row.issued
    if idle is not None and last <= _stamp(now - idle):
        raise AuthenticationFailed(
            f"signed off after {int(idle.total_seconds() // 60)} minutes "
            "without activity; sign in again"
        )
    if last <= _stamp(now - timedelta(seconds=30)):  # not a write on every request
        store_users.update_token(engine, _token_hash(token), last_used=_stamp(now))
    return User(row.username, row.role)


def revoke_token(engine: Engine, token: str) -> None:
    store_users.update_token(engine, _token_hash(token), revoked=True)


# --- administration: list, disable, enable, unlock, reset a password ----------------------


@dataclass(frozen=True)
class Account:
    """An account as an administrator sees it (never the password hash)."""

    username: str
    role: str
    active: bool
    created: str
    failed_sign_ins: int
    locked_until: str | None
    last_sign_in: str | None = None

    @property
    def locked(self) -> bool:
        return bool(self.locked_until) and self.locked_until > _stamp(_now())

    @property
    def state(self) -> str:
        return "disabled" if not self.active else "locked" if self.locked else "active"

    def to_json(self) -> dict:
        return {
            "username": self.username,
            "role": self.role,
            "state": self.state,
            "active": self.active,
            "created": self.created,
            "failedSignIns": self.failed_sign_ins,
            "lockedUntil": self.locked_until if self.locked else None,
            "lastSignIn": self.last_sign_in,
        }


def list_accounts(engine: Engine) -> list[Account]:
    return [Account(**row) for row in store_users.list_accounts(engine)]


def account(engine: Engine, username: str) -> Account:
    rows = store_users.list_accounts(engine, username)
    if not rows:
        raise NotFound(f"there is no user '{username}'")
    return Account(**rows[0])


def _change(engine: Engine, username: str, revoke_tokens: bool = False, **values) -> Account:
    if not store_users.update_account(engine, username, revoke_tokens=revoke_tokens, **values):
        raise NotFound(f"there is no user '{username}'")
    return account(engine, username)


def disable(engine: Engine, username: str, *, by: str | None = None) -> Account:
    """The account can no longer sign in, and its tokens stop working at once. Kept, not
    deleted: the audit trail names it. An administrator cannot lock themself out."""
    if by is not None and by == username:
        raise BadRequest("you cannot disable your own account; ask another administrator")
    return _change(engine, username, revoke_tokens=True, active=False)


def enable(engine: Engine, username: str) -> Account:
    return _change(engine, username, active=True, failed_sign_ins=0, locked_until=None)


def change_role(engine: Engine, username: str, role: str, *, by: str | None = None) -> Account:
    """Give the account another role. It takes effect at the account's next request (the
    role is read with the session on every request), so an open session cannot keep a
    role it lost. An administrator cannot change their own role (nor so remove the last
    administrator by accident)."""
    if role not in ROLES:
        raise BadRequest(f"unknown role '{role}'; roles are {', '.join(ROLES)}")
    if by is not None and by == username:
        raise BadRequest("you cannot change your own role; ask another administrator")
    return _change(engine, username, role=role)


def unlock(engine: Engine, username: str) -> Account:
    """Lift a lock-out after failed sign-ins (before its 15 minutes are up)."""
    return _change(engine, username, failed_sign_ins=0, locked_until=None)


def set_password(engine: Engine, username: str, password: str) -> Account:
    """A new password (same strength rules as a new account); every token of the account is
    revoked, so whoever held the old password is signed off."""
    check_password_strength(username, password)
    return _change(
        engine,
        username,
        revoke_tokens=True,
        password_hash=_hasher.hash(password),
        failed_sign_ins=0,
        locked_until=None,
    )
