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
