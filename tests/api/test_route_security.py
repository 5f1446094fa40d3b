"""No route that can return patient data answers without a valid token: every route of the
app is listed and called anonymously, with a junk token and with an expired one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chartkeeper.privacy.users import User, issue_token
from chartkeeper.web import WEB_PREFIXES

# Routes that hold no patient data and must stay open (FHIR requires /metadata to be public).
PUBLIC = {
    "/fhir/metadata",
    "/auth/token",
    "/docs",
    "/docs/oauth2-redirect",
    "/openapi.json",
    "/redoc",
    "/docs-assets/{name}",  # Swagger UI and ReDoc scripts (api/docs.py)
}


def _routes(app):
    def walk(routes):
        for route in routes:
            if hasattr(route, "original_router"):
                yield from walk(route.original_router.routes)
            else:
                yield route

    for route in walk(app.routes):
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method != "HEAD":
                yield method, route.path


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: {"resource_type": "Patient"}.get(m.group(1), "x1"), path)


def _is_workbench(path: str) -> bool:
    return path == "/" or path.startswith(WEB_PREFIXES)


def test_every_route_is_listed_and_protected(client, repo):
    routes = list(_routes(client.app))
    assert len(routes) >= 20  # the list really is the app's, not an empty walk
    expired = issue_token(repo.engine, User("him", "him"), timedelta(seconds=-1)).token
    protected = [(m, p) for m, p in routes if p not in PUBLIC and not _is_workbench(p)]
    for method, path in protected:
        url = _concrete(path)
        for headers in (
            {},
            {"Authorization": "Bearer junk"},
            {"Authorization": f"Bearer {expired}"},
        ):
            answer = client.request(method, url, headers=headers, json={"resourceType": "Patient"})
            assert answer.status_code == 401, f"{method} {url} {headers} -> {answer.status_code}"
            assert answer.json()["resourceType"] == "OperationOutcome"
            assert answer.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("username", "password"), [("him", "wrong password!"), ("nobody", "x" * 12)]
)
def test_sign_in_failures_are_401(client, username, password):
    answer = client.post("/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 401 and "wrong username or password" in answer.text


def test_public_routes_serve_no_patient_data(client, him):
    client.post(
        "/fhir/Patient",
        json={"resourceType": "Patient", "name": [{"family": "Qzxwvutsr"}]},
        headers=him,
    )
    for path in ("/fhir/metadata", "/openapi.json", "/docs"):
        assert "Qzxwvutsr" not in client.get(path).text


def test_workbench_pages_never_answer_a_stranger(client):
    """The workbench's pages answer an anonymous visitor with the sign-in page (a redirect or
    401), never with content; only its static assets (no patient data) are public."""
    routes = [(m, p) for m, p in _routes(client.app) if _is_workbench(p)]
    assert any(p.startswith("/chart") for _, p in routes)
    for method, path in routes:
        if path == "/signin" or path.startswith("/static"):
            continue
        answer = client.request(method, _concrete(path), follow_redirects=False)
        # A form posted without a session is refused before it is read (400/403), never served.
        assert answer.status_code in (303, 307, 400, 401, 403), (
            f"{method} {path} -> {answer.status_code}"
        )
        if answer.status_code in (303, 307):
            assert answer.headers["location"].startswith("/signin"), path
