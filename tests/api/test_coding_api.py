"""GET /coding/search: a token is required (401 without), any role may search."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from chartkeeper.api import coding as coding_api
from chartkeeper.app import create_app
from chartkeeper.config import Settings
from chartkeeper.privacy.users import ROLES, add_user

PASSWORD = "correct horse battery"


@pytest.fixture
def coding_client(repo, tmp_path_factory):
    for role in ROLES:
        add_user(repo.engine, role, PASSWORD, role)
    shared = tmp_path_factory.getbasetemp().parent / "coding-shared"  # parsed code set cache
    shared.mkdir(exist_ok=True)
    app = create_app(Settings(data_dir=shared), repo=repo)
    if not any(getattr(r, "path", "") == "/coding/search" for r in app.routes):
        app.include_router(coding_api.router)  # until the app registers it itself
    with TestClient(app) as client:
        yield client


def _headers(client, role):
    answer = client.post("/auth/token", data={"username": role, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_search_requires_a_token(coding_client):
    assert coding_client.get("/coding/search", params={"q": "CHF"}).status_code == 401


def test_search_any_role(coding_client):
    for role in ROLES:
        answer = coding_client.get(
            "/coding/search",
            params={"q": "CHF", "limit": 3, "fy": "2026-03-01"},
            headers=_headers(coding_client, role),
        )
        assert answer.status_code == 200, (role, answer.text)
        body = answer.json()
        assert body["query"] == "CHF" and len(body["codes"]) == 3
        first = body["codes"][0]
        assert first["code"] == "I50.9" and first["path"] and "prompts" in first


def test_search_bad_fy(coding_client):
    answer = coding_client.get(
        "/coding/search", params={"q": "CHF", "fy": "soon"}, headers=_headers(coding_client, "him")
    )
    assert answer.status_code == 400
