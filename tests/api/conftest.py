"""An in-process app over the backend-parametrised store, with one signed-in user per role."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chartkeeper.app import create_app
from chartkeeper.config import Settings
from chartkeeper.privacy.users import ROLES, add_user

PASSWORD = "correct horse battery"


@pytest.fixture
def app_data_dir(tmp_path) -> Path:
    """The app's data directory; test modules that need a warm cache override this."""
    return tmp_path


@pytest.fixture(scope="session")
def code_set_cache(tmp_path_factory) -> Path:
    """A data directory kept for the session, where parsed code sets are cached."""
    return tmp_path_factory.mktemp("coding-shared")


@pytest.fixture
def client(repo, app_data_dir) -> TestClient:
    for role in ROLES:
        add_user(repo.engine, role, PASSWORD, role)
    app = create_app(Settings(data_dir=app_data_dir), repo=repo)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def sign_in(client):
    """sign_in(role) -> the Authorization header of a fresh token for that role's user."""

    def headers(role: str) -> dict[str, str]:
        answer = client.post("/auth/token", data={"username": role, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    return headers


@pytest.fixture
def him(sign_in) -> dict[str, str]:
    return sign_in("him")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def module_client(request, tmp_path_factory):
    """One app per test module and backend, in a database of its own, with one user per
    role: for long lists of requests (hostile input, fuzzing) whose setup per test would
    cost more than the requests. Yields (client, sign_in)."""
    import os
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from chartkeeper.store import Repository
    from chartkeeper.store.engine import make_engine, upgrade

    data_dir = tmp_path_factory.mktemp("module-app")
    admin = name = None
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'store.db'}"
    else:
        base = os.environ.get("CHARTKEEPER_TEST_POSTGRES_URL", "")
        if not base:
            request.getfixturevalue("postgres_database_url")  # skips (or fails under CI)
        name = f"ck_mod_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    repo = Repository(engine)
    for role in ROLES:
        add_user(repo.engine, role, PASSWORD, role)
    app = create_app(Settings(data_dir=data_dir), repo=repo)
    tokens: dict[str, dict[str, str]] = {}
    with TestClient(app) as test_client:

        def sign_in(role: str) -> dict[str, str]:
            if role not in tokens:
                answer = test_client.post(
                    "/auth/token", data={"username": role, "password": PASSWORD}
                )
                assert answer.status_code == 200, answer.text
                tokens[role] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            return tokens[role]

        yield test_client, sign_in
    engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
