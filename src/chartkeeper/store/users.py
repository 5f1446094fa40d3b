"""Sign-in tables and their queries: users with hashed passwords, hashed bearer tokens.

The rules (password policy, lock-out, idle log-off) live in `chartkeeper.privacy.users`;
this module only reads and writes the rows.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table

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


# --- account administration: the rows behind `chartkeeper user …` and /admin/users --------


def list_accounts(engine) -> list[dict]:
    """Every account, by username, without its password hash."""
    from sqlalchemy import select

    u = app_user.c
    query = select(u.username, u.role, u.active, u.created, u.failed_sign_ins, u.locked_until)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query.order_by(u.username))]


def update_account(engine, username: str, *, revoke_tokens: bool = False, **values) -> bool:
    """Set columns of one account (and, when asked, revoke its tokens in the same
    transaction); False when there is no such account."""
    from sqlalchemy import update

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
