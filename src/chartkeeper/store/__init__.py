"""Persistence: the engine, schema and migrations, the Repository, history and search.

`open_store(settings)` is how the CLI, the API and the tests get a Repository on an
up-to-date schema, on SQLite by default or on the database `CHARTKEEPER_DATABASE_URL` names.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError as DatabaseError
from sqlalchemy.exc import IntegrityError as DuplicateKey

from chartkeeper.config import Settings
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
    engine = make_engine(settings.effective_database_url)
    if migrate:
        upgrade(engine)
    return Repository(engine)
