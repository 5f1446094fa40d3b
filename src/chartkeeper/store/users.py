"""Sign-in tables and their queries: users with hashed passwords, hashed bearer tokens.

The rules (password policy, lock-out, idle log-off) live in `chartkeeper.privacy.users`;
this module only reads and writes the rows.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Index,
    Integer,
    String,
    Table,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from chartkeeper.store.base import STAMP, metadata

app_user = Table(
    "app_user",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),  # argon2id, never the password
    Column("role", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created", String(STAMP), nullable=False),
    Column("failed_sign_ins", Integer, nullable=False, server_default="0"),
    Column("locked_until", String(STAMP)),
)

access_token = Table(
    "access_token",
    metadata,
    Column(
        "token_hash", String(64), primary_key=True
    ),  # sha256 of the token; the token is not kept
    Column("username", String(64), nullable=False),
    Column("issued", String(STAMP), nullable=False),
    Column("expires", String(STAMP), nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("last_used", String(STAMP)),  # for log-off after inactivity
)
Index("ix_access_token_user", access_token.c.username)


# --- the rows behind sign-in and `chartkeeper user …` / /accounts ----------------------------


def insert_user(engine: Engine, row: dict) -> bool:
    """Add an account; False when the username is taken."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(app_user), [row])
    except IntegrityError:
        return False
    return True


def user_row(engine: Engine, username: str):
    """The whole account row (hash included, for sign-in), or None."""
    with engine.connect() as conn:
        return conn.execute(select(app_user).where(app_user.c.username == username)).first()


def list_accounts(engine: Engine, username: str | None = None) -> list[dict]:
    """Every account (or the one named), by username, without its password hash; with its
    last sign-in (the newest token issued to it: each sign-in, to the API or the workbench,
    issues one)."""
    u = app_user.c
    last = (
        select(func.max(access_token.c.issued))
        .where(access_token.c.username == u.username)
        .scalar_subquery()
        .label("last_sign_in")
    )
    query = select(u.username, u.role, u.active, u.created, u.failed_sign_ins, u.locked_until, last)
    if username is not None:
        query = query.where(u.username == username)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query.order_by(u.username))]


def update_account(engine: Engine, username: str, *, revoke_tokens: bool = False, **values) -> bool:
    """Set columns of one account (and, when asked, revoke its tokens in the same
    transaction); False when there is no such account."""
    with engine.begin() as conn:
        changed = conn.execute(
            update(app_user).where(app_user.c.username == username).values(**values)
        ).rowcount
        if changed and revoke_tokens:
            conn.execute(
                update(access_token)
                .where(access_token.c.username == username, access_token.c.revoked.is_(False))
                .values(revoked=True)
            )
    return bool(changed)


def insert_token(engine: Engine, row: dict) -> None:
    with engine.begin() as conn:
        conn.execute(insert(access_token), [row])


def token_row(engine: Engine, token_hash: str):
    """The token's times with its account's name, role and state, or None."""
    t, u = access_token.c, app_user.c
    query = (
        select(t.expires, t.revoked, t.issued, t.last_used, u.username, u.role, u.active)
        .join_from(access_token, app_user, t.username == u.username)
        .where(t.token_hash == token_hash)
    )
    with engine.connect() as conn:
        return conn.execute(query).first()


def update_token(engine: Engine, token_hash: str, **values) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(access_token).where(access_token.c.token_hash == token_hash).values(**values)
        )
