"""Fixtures shared by the whole suite: stores on SQLite and PostgreSQL, sample data paths.

Store tests take the `repo` fixture and run once per backend. PostgreSQL runs when
CHARTKEEPER_TEST_POSTGRES_URL is set (`.ci/run` sets it); each test session gets its own
database, dropped afterwards. Without the URL the PostgreSQL cases skip locally and fail
under CI=true, so a CI run can never pass by quietly testing one backend.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from chartkeeper.store import Repository
from chartkeeper.store.engine import make_engine, upgrade
from chartkeeper.store.schema import metadata

POSTGRES_URL = os.environ.get("CHARTKEEPER_TEST_POSTGRES_URL", "")


@pytest.fixture(scope="session")
def postgres_database_url() -> str:
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI=true but CHARTKEEPER_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL tests skipped: set CHARTKEEPER_TEST_POSTGRES_URL to run them")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"ck_test_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = request.getfixturevalue("postgres_database_url")
    engine = make_engine(url)
    with engine.begin() as conn:  # each test starts from an empty schema
        metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return url


@pytest.fixture
def repo(database_url: str) -> Repository:
    engine = make_engine(database_url)
    upgrade(engine)
    yield Repository(engine)
    engine.dispose()


def pytest_terminal_summary(terminalreporter) -> None:
    if not POSTGRES_URL:
        skipped = len(terminalreporter.stats.get("skipped", []))
        terminalreporter.write_line(
            f"PostgreSQL: not tested ({skipped} skipped); set CHARTKEEPER_TEST_POSTGRES_URL "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run those tests too."
        )
