"""Persistence: the engine, schema and migrations, the Repository, history and search.

`open_store(settings)` is how the CLI, the API and the tests get a Repository on an
up-to-date schema, on SQLite by default or on the database `CHARTKEEPER_DATABASE_URL` names.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError as DatabaseError
from sqlalchemy.exc import IntegrityError as DuplicateKey

from chartkeeper.config import Settings
from chartkeeper.errors import StoreUnavailable
from chartkeeper.store.engine import make_engine, upgrade
from chartkeeper.store.repository import PutItem, Repository, Transaction, WriteResult
from chartkeeper.store.search import SearchPage

# The database's own failures, named here so no other package imports the driver layer:
# DuplicateKey (two writers raced to one key; retry) and DatabaseError (the database
# refused or is unreachable).
# Connection and Engine are handed through other packages as opaque handles (the Guard's
# audit sink writes on the caller's connection); only store code calls methods on them.
__all__ = [
    "Connection",
    "DatabaseError",
    "DuplicateKey",
    "Engine",
    "PutItem",
    "Repository",
    "SearchPage",
    "Transaction",
    "WriteResult",
    "open_store",
]


def open_store(settings: Settings, *, migrate: bool = True) -> Repository:
    """A Repository on the configured database, its schema brought up to date. A database
    that cannot be reached or opened is one clear StoreUnavailable naming it (without its
    password), for every command and the server alike, not a driver traceback."""
    url = settings.effective_database_url
    engine = make_engine(url)
    try:  # a first connection: any failure here is the database's, not a migration's
        with engine.connect():
            pass
    except DatabaseError as exc:  # not reached, refused the sign-in, not a database file
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        shown = make_url(url).render_as_string(hide_password=True)
        raise StoreUnavailable(f"cannot open the database at {shown}: {reason}") from None
    if migrate:
        upgrade(engine)
    return Repository(engine)
