"""Account administration: `/admin/users` (admin only, audited) and `chartkeeper user …`."""

from __future__ import annotations

import pytest

from chartkeeper.privacy import audit

NEW_PASSWORD = "a brand new passphrase"


def _token(client, username: str, password: str):
    return client.post("/auth/token", data={"username": username, "password": password})


def test_only_admin_manages_users_and_refusals_are_audited(module_client):
    client, sign_in = module_client
    for role in ("him", "auditor", "clinician"):
        answer = client.get("/accounts", headers=sign_in(role))
        assert answer.status_code == 403, role
    assert client.get("/accounts").status_code == 401
    engine = client.app.state.repo.engine
    refused = audit.entries(engine, action="user-accounts", limit=50)
    assert any(r["outcome"] == "denied" and r["username"] == "him" for r in refused)


def test_admin_lifecycle_of_an_account(module_client):
    client, sign_in = module_client
    admin = sign_in("admin")
    made = client.post(
        "/accounts",
        json={"username": "temp.clerk", "password": "temporary clerk pass", "role": "him"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "active"
    listed = client.get("/accounts", headers=admin).json()["users"]
    assert {"temp.clerk", "admin"} <= {u["username"] for u in listed}
    assert all("password" not in str(u).lower() for u in listed)

    token = _token(client, "temp.clerk", "temporary clerk pass").json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/fhir/Patient", headers=bearer).status_code == 200

    disabled = client.post("/accounts/temp.clerk/disable", headers=admin)
    assert disabled.json()["state"] == "disabled"
    assert client.get("/fhir/Patient", headers=bearer).status_code == 401  # token revoked
    assert _token(client, "temp.clerk", "temporary clerk pass").status_code == 401
    assert client.post("/accounts/temp.clerk/enable", headers=admin).json()["state"] == "active"

    for _ in range(5):
        _token(client, "temp.clerk", "wrong password!!")
    assert client.get("/accounts/temp.clerk", headers=admin).json()["state"] == "locked"
    assert _token(client, "temp.clerk", "temporary clerk pass").status_code == 401
    assert client.post("/accounts/temp.clerk/unlock", headers=admin).json()["state"] == "active"
    assert _token(client, "temp.clerk", "temporary clerk pass").status_code == 200

    weak = client.put("/accounts/temp.clerk/password", json={"password": "short"}, headers=admin)
    assert weak.status_code == 400
    reset = client.put(
        "/accounts/temp.clerk/password", json={"password": NEW_PASSWORD}, headers=admin
    )
    assert reset.status_code == 200
    assert _token(client, "temp.clerk", "temporary clerk pass").status_code == 401
    assert _token(client, "temp.clerk", NEW_PASSWORD).status_code == 200

    role = client.put("/accounts/temp.clerk/role", json={"role": "coder"}, headers=admin)
    assert role.status_code == 200 and role.json()["role"] == "coder", role.text
    assert role.json()["lastSignIn"]  # it signed in above
    token = _token(client, "temp.clerk", NEW_PASSWORD).json()["access_token"]
    assert client.get("/coding/queue", headers={"Authorization": f"Bearer {token}"}).is_success

    engine = client.app.state.repo.engine
    actions = {r["action"] for r in audit.entries(engine, username="admin", limit=500)}
    assert {"user-add", "user-disable", "user-enable", "user-unlock", "user-password"} <= actions
    assert "user-role" in actions


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/accounts/nobody/disable", None, 404),
        ("POST", "/accounts/admin/disable", None, 400),  # not yourself
        (
            "POST",
            "/accounts",
            {"username": "x", "password": "long enough pass", "role": "god"},
            400,
        ),
        (
            "POST",
            "/accounts",
            {"username": "admin", "password": "long enough pass", "role": "him"},
            409,
        ),
        ("POST", "/accounts", {"username": 5}, 400),
        ("PUT", "/accounts/him/password", {}, 400),
        ("PUT", "/accounts/him/password", {"password": ""}, 400),
        ("PUT", "/accounts/him/password", {"password": "short"}, 400),
        ("PUT", "/accounts/nobody/password", {"password": "long enough passphrase 9"}, 404),
        ("POST", "/accounts/nobody/enable", None, 404),
        ("POST", "/accounts/nobody/unlock", None, 404),
        ("PUT", "/accounts/him/role", {"role": "god"}, 400),
        ("PUT", "/accounts/him/role", {}, 400),
        ("PUT", "/accounts/admin/role", {"role": "him"}, 400),  # not yourself
        ("PUT", "/accounts/nobody/role", {"role": "him"}, 404),
        ("POST", "/accounts", {"username": "newbie", "password": "short", "role": "him"}, 400),
        ("POST", "/accounts", {"username": "newbie", "password": "", "role": "him"}, 400),
    ],
)
def test_admin_mistakes_are_clear(module_client, method, path, body, status):
    client, sign_in = module_client
    answer = client.request(method, path, json=body, headers=sign_in("admin"))
    assert answer.status_code == status, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_cli_user_administration(tmp_path, capsys, monkeypatch):
    from chartkeeper.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    data = ["--data-dir", str(tmp_path / "d")]

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as exited:
            main([*args, *data])
        captured = capsys.readouterr()
        return exited.value.code, captured.out + captured.err

    monkeypatch.setenv("CHARTKEEPER_NEW_PASSWORD", "first desk passphrase 1")
    assert run("user", "add", "clerk", "--role", "him")[0] == 0
    code, text = run("user", "list")
    assert code == 0 and "clerk" in text and "active" in text
    assert "disabled" in run("user", "disable", "clerk")[1]
    assert "active" in run("user", "enable", "clerk")[1]
    assert "active" in run("user", "unlock", "clerk")[1]
    monkeypatch.setenv("CHARTKEEPER_NEW_PASSWORD", "second desk passphrase 2")
    assert run("user", "password", "clerk")[0] == 0
    code, text = run("user", "role", "clerk", "coder")
    assert code == 0 and "clerk (coder)" in text, text
    code, text = run("user", "role", "clerk", "god")
    assert code == 2 and "'god' is not one of: him" in text and "Traceback" not in text
    code, text = run("user", "role", "nobody", "him")
    assert code == 1 and "no user 'nobody'" in text
    code, text = run("user", "disable", "nobody")
    assert code == 1 and "no user 'nobody'" in text
    code, text = run("user", "disable", "has space")
    assert code == 2 and len(text.strip().splitlines()) == 1
    for name in ("enable", "unlock", "password"):
        code, text = run("user", name, "nobody")
        assert code == 1 and "no user 'nobody'" in text, (name, text)
    for weak in ("short", "clerk clerk clerk 1"):  # too short; contains the name
        monkeypatch.setenv("CHARTKEEPER_NEW_PASSWORD", weak)
        code, text = run("user", "password", "clerk")
        assert code in (1, 2) and "Traceback" not in text and len(text.strip().splitlines()) == 1
        monkeypatch.setenv("CHARTKEEPER_NEW_PASSWORD", weak.replace("clerk", "temp"))
        code, text = run("user", "add", "temp", "--role", "him")
        assert code in (1, 2) and "Traceback" not in text, text
    assert "temp" not in run("user", "list")[1]  # the refused account was not made

    from chartkeeper.config import Settings
    from chartkeeper.privacy.users import authenticate
    from chartkeeper.store import open_store

    engine = open_store(Settings(data_dir=tmp_path / "d")).engine
    assert authenticate(engine, "clerk", "second desk passphrase 2").role == "coder"
    operator = audit.entries(engine, limit=100)
    assert {"user-disable", "user-enable", "user-unlock", "user-password", "user-role"} <= {
        r["action"] for r in operator
    }


def test_docs_are_served_without_a_cdn(module_client):
    client, _ = module_client
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = client.get(page).text
        assert f"/docs-assets/{asset}" in html
        assert "cdn." not in html and "fonts.googleapis" not in html
        script = client.get(f"/docs-assets/{asset}")
        assert script.status_code == 200 and len(script.content) > 100_000
    assert client.get("/docs-assets/../../etc/passwd").status_code == 404
    assert client.get("/docs-assets/secrets.txt").status_code == 404
