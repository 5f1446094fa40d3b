"""GET /coding/search: a token is required (401 without), any role may search."""

from __future__ import annotations

import pytest

from chartkeeper.privacy.users import ROLES


@pytest.fixture
def app_data_dir(code_set_cache):
    return code_set_cache  # the code sets are parsed once per session, not per test


def test_search_requires_a_token(client):
    assert client.get("/coding/search", params={"q": "CHF"}).status_code == 401


def test_search_any_role(client, sign_in):
    for role in ROLES:
        answer = client.get(
            "/coding/search",
            params={"q": "CHF", "limit": 3, "fy": "2026-03-01"},
            headers=sign_in(role),
        )
        assert answer.status_code == 200, (role, answer.text)
        body = answer.json()
        assert body["query"] == "CHF" and len(body["codes"]) == 3
        first = body["codes"][0]
        assert first["code"] == "I50.9" and first["path"] and "prompts" in first


def test_search_bad_fy(client, sign_in):
    answer = client.get("/coding/search", params={"q": "CHF", "fy": "soon"}, headers=sign_in("him"))
    assert answer.status_code == 400
