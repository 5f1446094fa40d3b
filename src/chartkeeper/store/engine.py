"""Engines for the two supported databases, and schema upgrades through Alembic.

SQLite runs in WAL mode so readers never wait for the writer. Its write transactions
start with BEGIN IMMEDIATE: taking the write lock up front means two writers queue on the
busy timeout instead of one failing with "database is locked" halfway through a bundle.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from chartkeeper.store.resources import INDEX_TABLES, resource, resource_history

log = logging.getLogger(__name__)

WRITE = "chartkeeper_write"  # execution option that marks a connection as a writer


BACKENDS = ("sqlite", "postgresql")


def check_url(url: str) -> str:
    """The backend of a database URL the store can use, or BadRequest saying why not."""
    from sqlalchemy.exc import ArgumentError

    from chartkeeper.errors import BadRequest

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise BadRequest(
            f"'{url[:80]}' is not a database URL (e.g. postgresql+psycopg://user@host/db)"
        ) from None
    if backend not in BACKENDS:
        raise BadRequest(f"chartkeeper stores to {' or '.join(BACKENDS)}, not {backend}")
    return backend


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    # A pool as large as the server's thread pool is busy: a request waiting for a pooled
    # connection is latency for nothing (the default, 5 + 10, queues 40 API threads).
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30)


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    pool = {"pool_size": 10, "max_overflow": 30} if database and database != ":memory:" else {}
    engine = create_engine(url, connect_args={"timeout": 60}, **pool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        # Checkpoint every ~40 MB of WAL instead of 4 MB: bulk loads sync far less often.
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        # 64 MiB of page cache (the default is 2 MiB): each resource touches a dozen
        # B-trees, and with a small cache their pages are read back from disk constantly.
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.execute("PRAGMA mmap_size=1073741824")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction of its own, outside any Repository (a grant with its audit row,
    a head's seal, a refusal recorded after its own transaction rolled back)."""
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        yield conn


@contextmanager
def durable_write(engine: Engine) -> Iterator[Connection]:
    """A short write transaction whose commit survives a power cut, not only a crash: on
    SQLite the connection syncs the WAL at this commit (synchronous=FULL; the store's
    default NORMAL may lose the last commits on power loss), on PostgreSQL every commit
    is flushed (synchronous_commit on, the default). For audit rows that must be stored
    before the answer they record leaves."""
    with engine.connect().execution_options(**{WRITE: True}) as conn:
        # On the driver's connection, outside any transaction (SQLAlchemy would begin one).
        raw = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA synchronous=FULL")
        try:
            with conn.begin():
                yield conn
        finally:
            if raw is not None:
                raw.execute("PRAGMA synchronous=NORMAL")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("chartkeeper.store") / "migrations"))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (creating it on an empty database)."""
    config = alembic_config(engine)
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def refresh_statistics(engine: Engine) -> None:
    """Bring the planner's table statistics up to date after a load.

    PostgreSQL plans from statistics that autovacuum refreshes only some time after a big
    write. Until then a store just loaded looks empty to the planner, which then nests
    chained searches (`Observation?encounter.subject:Patient.family=x`) as loops of
    filtered scans: seen here as a 20 ms search taking over half an hour. ANALYZE samples
    each table (a bounded cost, whatever its size). SQLite's planner needs no statistics
    for these plans; its ANALYZE reads whole indexes, so it is left to the administrator.

    Statistics only make later plans better: when ANALYZE fails (a lost connection, a
    statement timeout) the load it follows has committed already, so the failure is logged
    and the load's answer stands; autovacuum will analyse the tables later anyway.
    """
    if engine.dialect.name != "postgresql":
        return
    tables = [resource.name, resource_history.name, *(t.name for t in INDEX_TABLES.values())]
    try:
        with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")
    except DBAPIError as exc:
        log.warning("planner statistics not refreshed (autovacuum will): %s", exc)
