"""The migrations build exactly the schema the code declares, and upgrade is idempotent."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from chartkeeper.store.engine import current_revision, make_engine, upgrade
from chartkeeper.store.schema import metadata


def test_migrations_match_schema(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)  # a second run changes nothing and does not fail
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert current_revision(engine) is not None
    engine.dispose()
