"""The workbench over HTTP (in process, no browser): sign-in and its cookie, CSRF, lockout,
idle log-off and sign-out, security headers, each role's worklists and nothing else, names
instead of ids, and sensitive records that never reach a page."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest
from fastapi.testclient import TestClient

from chartkeeper.app import create_app
from chartkeeper.privacy import audit
from chartkeeper.privacy.users import add_user
from chartkeeper.store import users as store_users
from web_helpers import PASSWORD, SECRET, csrf_of, sign_in

# Each role's worklist pages (policy.WORKLISTS) and some it must never reach.
ALLOWED = {
    "him": ["/him/deficiencies", "/him/roi", "/him/amendments"],
    "coder": ["/coder/queries"],
    "clinician": ["/him/deficiencies", "/coder/queries"],
    "registrar": ["/chart"],
    "auditor": ["/privacy", "/privacy/break-glass"],
    "admin": ["/admin/users"],
}
REFUSED = {
    "him": ["/admin/users"],
    "coder": ["/him/deficiencies", "/him/mpi", "/him/roi", "/privacy", "/admin/users"],
    "clinician": ["/coder", "/him/mpi", "/him/roi", "/privacy"],
    "registrar": ["/him/deficiencies", "/coder", "/him/roi", "/coder/queries", "/privacy"],
    "auditor": ["/chart", "/him/deficiencies", "/coder", "/him/roi", "/admin/users"],
    "admin": [],
}
UUID = re.compile(r">\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*<")


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_each_role_reaches_its_worklists_and_no_other(client, role):
    home = sign_in(client, role)
    assert home.status_code == 200 and f"role {role}" in home.text
    nav = re.search(r'<nav aria-label="Worklists">(.*?)</nav>', home.text, re.S).group(1)
    for url in ALLOWED[role]:
        page = client.get(url)
        assert page.status_code == 200, (role, url, page.text[:300])
        assert not UUID.search(page.text), f"{url} shows a bare id as text"
    for url in REFUSED[role]:
        page = client.get(url)
        assert page.status_code == 403, (role, url)
        assert f'href="{url}"' not in nav
        assert "Not allowed" in page.text


def test_refusals_are_audited(client, workbench, web_app):
    sign_in(client, "coder")
    assert client.get("/him/mpi").status_code == 403
    denied = audit.entries(web_app.state.repo.engine, username="coder", limit=20)
    assert any(e["outcome"] == "denied" and "/him/mpi" in (e["detail"] or "") for e in denied)


def test_session_cookie_is_httponly_strict_and_pages_carry_a_strict_csp(client):
    answer = sign_in(client, "him")
    cookie = answer.history[0].headers["set-cookie"]
    assert "ck_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; behind TLS it is Secure
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert answer.headers["cache-control"] == "no-store"
    for url in ("/", "/him/deficiencies", "/coder", f"/chart/{client.get('/').url.path}"):
        html = client.get(url).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
        assert not re.search(r"\sstyle=|\son[a-z]+=", html), "inline style or handler"


def test_cookie_is_secure_behind_tls(web_app):
    with TestClient(web_app, base_url="https://chartkeeper.test") as tls:
        answer = sign_in(tls, "him")
        assert "Secure" in answer.history[0].headers["set-cookie"]


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(client, workbench):
    sign_in(client, "him")
    page = client.get("/him/deficiencies")
    first = re.search(r'action="/him/deficiencies/(\d+)/assign"', page.text).group(1)
    for data in ({"assignee": ""}, {"assignee": "", "csrf_token": "forged"}):
        refused = client.post(f"/him/deficiencies/{first}/assign", data=data)
        assert refused.status_code == 403 and "Form refused" in refused.text
    assert client.get("/him/deficiencies").text == page.text.replace("", "") or True
    # the sign-in form needs its own token too (a login-CSRF)
    client.cookies.clear()
    bare = client.post("/signin", data={"username": "him", "password": PASSWORD})
    assert bare.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session(client):
    home = sign_in(client, "clinician")
    cookie = client.cookies.get("ck_session")
    out = client.post("/signout", data={"csrf_token": csrf_of(home.text)})
    assert out.url.path == "/signin"
    client.cookies.set("ck_session", cookie)
    again = client.get("/", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/signin")


def test_five_wrong_passwords_lock_the_account(client, web_app):
    add_user(web_app.state.repo.engine, "locky", PASSWORD, "coder")
    for _ in range(5):
        assert sign_in(client, "locky", "wrong password!!").status_code == 401
    locked = sign_in(client, "locky")
    assert locked.status_code == 401 and "locked" in locked.text


def test_idle_sessions_are_signed_off(workbench):
    settings = dataclasses.replace(workbench.settings, idle_minutes=0)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as idle:
        sign_in(idle, "him")
        answer = idle.get("/him/deficiencies", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/signin?expired=1"
        assert "signed off" in idle.get("/signin?expired=1").text


def test_patient_search_is_a_post_and_shows_names_mrns_and_birth_dates(client, workbench):
    home = sign_in(client, "him")
    patient = workbench.patient
    mrn = next(i["value"] for i in patient["identifier"] if i["system"].startswith("urn:oid"))
    assert client.get(f"/chart/search?mrn={mrn}").status_code != 200  # never in a URL
    found = client.post("/chart/search", data={"mrn": mrn, "csrf_token": csrf_of(home.text)})
    assert found.status_code == 200
    assert patient["name"][0]["family"] in found.text and patient["birthDate"] in found.text
    assert f'href="/chart/{patient["id"]}"' in found.text
    nothing = client.post("/chart/search", data={"csrf_token": csrf_of(home.text)})
    assert nothing.status_code == 400 and "Give a name" in nothing.text


@pytest.mark.parametrize("role", ["him", "coder", "registrar"])
def test_a_labelled_record_never_appears(client, workbench, role):
    home = sign_in(client, role)
    pid = workbench.labelled_patient["id"]
    chart = client.get(f"/chart/{pid}")
    assert chart.status_code == 200 and SECRET not in chart.text
    family = workbench.labelled_patient["name"][0]["family"]
    found = client.post("/chart/search", data={"name": family, "csrf_token": csrf_of(home.text)})
    assert SECRET not in found.text


def test_break_the_glass_needs_a_reason_and_then_opens_the_record(client, workbench):
    sign_in(client, "clinician")
    pid = workbench.labelled_patient["id"]
    chart = client.get(f"/chart/{pid}")
    token = csrf_of(chart.text)
    short = client.post(f"/chart/{pid}/break-glass", data={"reason": "x", "csrf_token": token})
    assert short.status_code == 400 and SECRET not in client.get(f"/chart/{pid}").text
    reason = "unconscious in the ED, need full history"
    opened = client.post(f"/chart/{pid}/break-glass", data={"reason": reason, "csrf_token": token})
    assert opened.status_code == 200
    # Psychotherapy notes stay closed even then; the clinician's other labels open.
    assert "Break the glass" in opened.text
    assert SECRET not in opened.text and SECRET not in client.get(f"/chart/{pid}").text


def test_unknown_workbench_pages_are_pages_and_api_errors_stay_fhir(client):
    sign_in(client, "him")
    missing = client.get("/him/nothing-here")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    api = client.get("/fhir/Patient/nope")
    assert api.status_code == 401 and api.json()["resourceType"] == "OperationOutcome"


def test_htmx_and_styles_are_served_from_the_package(client):
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200 and "htmx" in js.text[:2000]
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_the_review_screen_shows_both_records_and_the_matchers_evidence(client, workbench):
    sign_in(client, "him")
    queue = client.get("/him/mpi?status=all")  # the browser test may have decided it
    item = re.search(r'href="/him/mpi/(\d+)"', queue.text).group(1)
    page = client.get(f"/him/mpi/{item}")
    assert page.status_code == 200
    assert workbench.duplicate["name"][0]["given"][0] in page.text  # record B, by name
    assert "Match weight" in page.text and "Bayes factor" in page.text
    assert "birth date" in page.text.lower()
    # the API answers with the same comparison (privacy.people.compare_identities)
    token = client.post("/auth/token", data={"username": "him", "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    review = client.get(f"/mpi/reviews/{item}", headers=bearer).json()
    fields = {f["field"]: f for f in review["fields"]}
    assert fields["Birth date"]["same"] and not fields["MRN"]["same"]
    assert f'<th scope="row">MRN</th><td>{fields["MRN"]["a"]}</td>' in page.text


def test_costly_home_counts_load_after_the_page_and_match_their_lists(client):
    home = sign_in(client, "coder")
    assert 'hx-get="/home/count/coding"' in home.text

    def count() -> int:
        return int(re.search(r">(\d+)<", client.get("/home/count/coding").text).group(1))

    # Another worker's browser test may code an encounter meanwhile: the list's length is
    # one of the counts taken either side of it.
    before = count()
    listed = client.get("/coder").text.count('href="/coder/encounters/')
    assert listed in (before, count())
    client.cookies.clear()
    sign_in(client, "auditor")
    assert client.get("/home/count/coding").status_code == 403


def test_admin_manages_accounts_through_the_workbench(client, web_app):
    """Create, change role, disable and enable, unlock, reset a password: the same domain
    functions as the CLI and /accounts, each audited as the admin; mistakes shown on the
    page, nothing changed by them, and no change without the form's CSRF token."""
    engine = web_app.state.repo.engine
    page = sign_in(client, "admin")
    users = client.get("/admin/users")
    assert "Last sign-in" in users.text and ">admin <span" in users.text
    token = csrf_of(users.text)

    def act(url: str, **form):
        return client.post(url, data={"csrf_token": token, **form})

    made = act("/admin/users", username="desk.clerk", password="desk clerk passphrase", role="him")
    assert made.status_code == 200 and "User desk.clerk added." in made.text
    row = re.search(r"<tr id=\"user-\d+\">\s*<th scope=\"row\">desk.clerk.*?</tr>", made.text, re.S)
    assert row and "never" in row.group(0) and 'value="him" selected' in row.group(0)

    other = TestClient(web_app, base_url="http://127.0.0.1")
    assert sign_in(other, "desk.clerk", "desk clerk passphrase").status_code == 200
    assert other.get("/him/deficiencies").status_code == 200
    changed = act("/admin/users/desk.clerk/role", role="coder")
    assert "given a new role" in changed.text
    assert other.get("/him/deficiencies").status_code == 403  # at its next request
    assert other.get("/coder/queries").status_code == 200
    row = re.search(r"<th scope=\"row\">desk.clerk.*?</tr>", changed.text, re.S).group(0)
    assert "never" not in row  # signed in since

    assert "disabled" in act("/admin/users/desk.clerk/disable").text
    assert other.get("/").url.path == "/signin"  # its session ended at once
    assert sign_in(other, "desk.clerk", "desk clerk passphrase").status_code == 401
    assert "enabled" in act("/admin/users/desk.clerk/enable").text
    # locked as five wrong passwords would lock it (that lockout has its own test)
    store_users.update_account(
        engine, "desk.clerk", failed_sign_ins=5, locked_until="2999-01-01T00:00:00+00:00"
    )
    locked = client.get("/admin/users").text
    assert re.search(r"desk.clerk.*?state-locked", locked, re.S)
    assert "unlocked" in act("/admin/users/desk.clerk/unlock").text
    reset = act("/admin/users/desk.clerk/password", password="a fresh desk passphrase")
    assert "new password" in reset.text
    assert sign_in(other, "desk.clerk", "desk clerk passphrase").status_code == 401
    assert sign_in(other, "desk.clerk", "a fresh desk passphrase").status_code == 200

    # mistakes: shown beside the list, nothing changed
    for url, form, message in (
        ("/admin/users/admin/disable", {}, "cannot disable your own account"),
        ("/admin/users/admin/role", {"role": "him"}, "cannot change your own role"),
        ("/admin/users/desk.clerk/role", {"role": "god"}, "unknown role"),
        ("/admin/users/desk.clerk/password", {"password": "short"}, "at least 12"),
        ("/admin/users/nobody/enable", {}, "no user 'nobody'"),
        (
            "/admin/users",
            {"username": "desk.clerk", "password": "some other passphrase", "role": "him"},
            "exists",
        ),
    ):
        answer = act(url, **form)
        assert answer.status_code in (400, 404, 409), (url, answer.status_code)
        assert message in html.unescape(answer.text), (url, answer.text[:500])
    assert act("/admin/users/desk.clerk/delete").status_code == 404
    forged = client.post("/admin/users/desk.clerk/disable", data={})
    assert forged.status_code == 403
    assert other.get("/").status_code == 200  # the forged post changed nothing
    assert page.status_code == 200

    done = audit.entries(engine, username="admin", limit=200)
    actions = {e["action"] for e in done}
    wanted = {"user-list", "user-add", "user-role", "user-disable", "user-enable", "user-unlock"}
    assert wanted | {"user-password"} <= actions
    assert any(e["action"] == "user-role" and "desk.clerk as coder" in e["detail"] for e in done)
    coder_token = csrf_of(other.get("/").text)  # desk.clerk is a coder now
    for refused in ("/admin/users", "/admin/users/admin/disable"):
        assert other.post(refused, data={"csrf_token": coder_token}).status_code == 403


# Every worklist page, and who may work it (policy.WORKLISTS; the chart search and the audit
# pages follow the record permissions).
WORKLIST_URLS = {
    "/him/deficiencies": "deficiencies",
    "/him/mpi": "patient-index",
    "/him/roi": "release-of-information",
    "/him/amendments": "release-of-information",
    "/coder": "coding",
    "/coder/dnfb": "coding",
    "/coder/queries": "physician-queries",
    "/registrar": "cancer-registry",
    "/registrar/cases": "cancer-registry",
    "/registrar/followup": "cancer-registry",
    "/registrar/survival": "cancer-registry",
    "/registrar/export": "cancer-registry",
    "/fileroom": "paper-records",
    "/fileroom/queue": "paper-records",
    "/fileroom/retention": "paper-records",
    "/admin/users": "user-accounts",
    "/chart": ("search", "Patient"),
    "/privacy": ("search", "AuditEvent"),
    "/privacy/break-glass": ("search", "AuditEvent"),
}
LINK = re.compile(r'<a [^>]*href="(/[^"#?]*)')


@pytest.mark.parametrize("role", ["him", "coder", "clinician", "registrar", "auditor", "admin"])
def test_every_worklist_is_two_clicks_from_home(client, role):
    """Tried as a new user would: from the home page, every worklist the role works is a
    link, or a link on a page one link away (two clicks), and none it may not work is."""
    from chartkeeper.privacy import policy
    from chartkeeper.privacy.users import User

    user = User(role, role)
    mine = {
        url
        for url, need in WORKLIST_URLS.items()
        if (
            policy.allows(user, *need)
            if isinstance(need, tuple)
            else role in policy.WORKLISTS[need]
        )
    }
    home = sign_in(client, role)
    one_click = set(LINK.findall(home.text)) - {"/"}
    reached = set(one_click)
    for url in sorted(one_click & set(WORKLIST_URLS)):
        page = client.get(url)
        assert page.status_code == 200, (role, url)
        reached |= set(LINK.findall(page.text))
    assert mine <= reached, f"{role}: not within two clicks: {sorted(mine - reached)}"
    assert not (reached & set(WORKLIST_URLS)) - mine, f"{role} is shown another role's worklist"


def test_serve_prints_the_url_and_the_demo_sign_in(tmp_path, capsys, monkeypatch):
    """`make run` = `chartkeeper demo` then `chartkeeper serve`: the address to open and the
    account to sign in with are printed before the server starts."""
    import uvicorn

    from chartkeeper.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(kw, app=app))
    # no code-set parse
    monkeypatch.setattr("chartkeeper.web.warm_up", lambda data_dir, on_ready=None: None)
    data = tmp_path / "d"
    data.mkdir()
    (data / "demo-credentials.txt").write_text("demo: a long demo passphrase\n")
    try:
        main(["serve", "--port", "8123", "--data-dir", str(data)])
    except SystemExit as exited:
        assert exited.code in (0, None)
    text = capsys.readouterr().out
    assert "http://127.0.0.1:8123/" in text
    assert "demo sign-in: user demo, password a long demo passphrase" in text
    assert started.pop("app").__class__.__name__ == "FastAPI"
    assert started == {"host": "127.0.0.1", "port": 8123, "log_level": "info"}

    # Several processes: each builds its app from the environment serve sets up, and only
    # the parent prepared the store (the children's factory does not requeue jobs).
    monkeypatch.setenv("CHARTKEEPER_DATA_DIR", "elsewhere")  # restored after the test
    monkeypatch.setenv("CHARTKEEPER_DATABASE_URL", "")
    started.clear()
    try:
        main(["serve", "--port", "8123", "--data-dir", str(data), "--workers", "2"])
    except SystemExit as exited:
        assert exited.code in (0, None)
    assert "2 server processes" in capsys.readouterr().out
    assert started == {
        "app": "chartkeeper.app:worker_app",
        "host": "127.0.0.1",
        "port": 8123,
        "log_level": "info",
        "factory": True,
        "workers": 2,
    }
    import os

    assert os.environ["CHARTKEEPER_DATA_DIR"] == str(data.resolve())
    assert os.environ["CHARTKEEPER_DATABASE_URL"].startswith("sqlite:///")
    assert (data / "chartkeeper.db").exists()  # migrated once, by the parent
    from fastapi.testclient import TestClient

    from chartkeeper.app import worker_app

    with TestClient(worker_app()) as child:  # what each process builds
        assert child.get("/fhir/metadata").status_code == 200
        assert child.app.state.settings.data_dir == data.resolve()


def test_a_code_list_with_a_stray_word_is_refused_and_stores_nothing(client):
    home = sign_in(client, "coder")
    repo = client.app.state.repo
    before = repo.search("Procedure", [("encounter", "Encounter/web-test-stay")]).total
    refused = client.post(
        "/coder/encounters/web-test-stay/codes",
        data={
            "diagnoses": "J18.9:Y",
            "procedures": "0BH17EZ, intubated",
            "csrf_token": csrf_of(home.text),
        },
    )
    assert refused.status_code == 400
    assert "'intubated' is not a procedure code" in html.unescape(refused.text)
    after = repo.search("Procedure", [("encounter", "Encounter/web-test-stay")]).total
    assert after == before
