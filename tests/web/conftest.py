"""One workbench over one demo store for the whole web test session (generated once per
worker: the synthetic demo set, a user per role, a sensitive record, a duplicate patient
for the review queue), an in-process client, and, when Debian's chromium is installed, one
headless browser on a live server."""

from __future__ import annotations

import base64
import copy
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chartkeeper.app import create_app
from chartkeeper.coding import cac, codesets, search
from chartkeeper.config import Settings
from chartkeeper.demo import load_demo
from chartkeeper.privacy.users import ROLES, add_user
from chartkeeper.quality.mpi import enqueue, scan_repo
from chartkeeper.store import open_store
from web_helpers import PASSWORD, SECRET

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_DIR = Path(__file__).parent / ".node"  # ignored by git; `npm install axe-core` lands here


class Workbench:
    """The demo store, with what the tests need added once, and the facts they look up."""

    FACTS = "workbench-facts.json"

    def __init__(self, settings: Settings):
        self.settings = settings
        facts = json.loads((settings.data_dir / self.FACTS).read_text())
        self.patient = facts["patient"]
        self.labelled_patient = facts["labelled_patient"]
        self.duplicate = facts["duplicate"]
        self.stay = facts["stay"]

    @classmethod
    def build(cls, settings: Settings) -> None:
        load_demo(settings, patients=20)
        repo = open_store(settings)
        for role in ROLES:
            add_user(repo.engine, role, PASSWORD, role)
        patients = repo.search("Patient", [("_count", "1000")]).resources
        cls._add_sensitive_record(repo, patients[1]["id"])
        duplicate = cls._add_duplicate(repo, patients[2])
        stay = cls._add_recent_stay(repo)
        # A real scan finds the pair (with its evidence); it waits for a reviewer rather
        # than being linked automatically.
        found = scan_repo(repo, queue=False)
        pairs = [p for p in found if f"Patient/{duplicate['id']}" in (p.a, p.b)]
        assert pairs, "the MPI scan did not find the duplicate"
        enqueue(repo, [dataclasses.replace(p, decision="review") for p in pairs])
        repo.engine.dispose()
        facts = {
            "patient": patients[0],
            "labelled_patient": patients[1],
            "duplicate": duplicate,
            "stay": stay,
        }
        (settings.data_dir / cls.FACTS).write_text(json.dumps(facts))

    @staticmethod
    def _add_sensitive_record(repo, patient_id: str) -> None:
        label = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSYTHPN"}
        note = {
            "resourceType": "DocumentReference",
            "id": "web-test-psychotherapy-note",
            "meta": {"security": [label]},
            "status": "current",
            "docStatus": "final",
            "type": {"text": SECRET},
            "subject": {"reference": f"Patient/{patient_id}"},
            "date": "2024-03-01T10:00:00Z",
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "data": base64.b64encode(SECRET.encode()).decode(),
                    }
                }
            ],
        }
        condition = {
            "resourceType": "Condition",
            "id": "web-test-labelled-condition",
            "meta": {"security": [label]},
            "code": {"text": SECRET},
            "subject": {"reference": f"Patient/{patient_id}"},
        }
        with repo.transaction() as tx:
            tx.update(note)
            tx.update(condition)

    @staticmethod
    def _add_recent_stay(repo) -> dict:
        """An inpatient stay discharged inside the MS-DRG grouper's years (v40 and later: the
        demo's stays may be older): the demo's first finished stay, moved to March 2025 with
        its signed notes."""
        stays = repo.search("Encounter", [("status", "finished"), ("class", "IMP")]).resources
        original = next(s for s in stays if cac.encounter_documents(repo, s["id"]))
        stay = copy.deepcopy(original)
        stay["id"] = "web-test-stay"
        stay["period"] = {"start": "2025-03-10T08:00:00Z", "end": "2025-03-14T11:00:00Z"}
        stay.pop("meta", None)
        notes = []
        for n, doc in enumerate(cac.encounter_documents(repo, original["id"])):
            note = copy.deepcopy(doc)
            note.pop("meta", None)
            note["id"] = f"web-test-stay-note-{n}"
            note["date"] = "2025-03-14T10:00:00Z"
            note["context"]["encounter"] = [{"reference": "Encounter/web-test-stay"}]
            notes.append(note)
        with repo.transaction() as tx:
            tx.update(stay)
            for note in notes:
                tx.update(note)
        return stay

    @staticmethod
    def _add_duplicate(repo, patient: dict) -> dict:
        """The same person registered again: a second MRN, a typo in the given name."""
        dup = copy.deepcopy(patient)
        dup["id"] = "web-test-duplicate"
        dup.pop("meta", None)
        for ident in dup.get("identifier", []):
            if ident.get("system", "").startswith("urn:oid:"):
                ident["value"] = "99" + ident["value"][2:]
        given = dup["name"][0]["given"]
        given[0] = given[0][:-1] + ("a" if given[0][-1] != "a" else "e")
        dup.pop("telecom", None)
        with repo.transaction() as tx:
            tx.update(dup)
        return dup


POSTGRES_URL = os.environ.get("CHARTKEEPER_TEST_POSTGRES_URL", "")
# The browser tests drive the SQLite workbench; set this to drive the PostgreSQL one too.
BROWSER_ON_POSTGRES = os.environ.get("CHARTKEEPER_TEST_BROWSER_ON_POSTGRES") == "1"


def _shared_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


def _postgres_settings(root: Path) -> Settings:
    """A database of the run's own for the PostgreSQL workbench (named after the run's
    temporary folder, so workers share it and parallel runs never do)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = "ck_workbench_" + hashlib.sha1(str(root).encode()).hexdigest()[:12]
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    return Settings(data_dir=root / "workbench-postgresql", database_url=url)


def _drop_postgres(settings: Settings) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(settings.database_url).database
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def workbench(request, tmp_path_factory) -> Workbench:
    """One demo store per backend for the whole run, built once under a lock and shared by
    the xdist workers (building the demo is the costly part; the tests choose their own
    records, so they can share it). The in-process tests run on both backends; PostgreSQL
    only when CHARTKEEPER_TEST_POSTGRES_URL is set (under CI it always is)."""
    backend = request.param
    root = _shared_root(tmp_path_factory)
    if backend == "postgresql" and not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI=true but CHARTKEEPER_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL tests skipped: set CHARTKEEPER_TEST_POSTGRES_URL to run them")
    with (root / f"workbench-{backend}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if backend == "postgresql":
            settings = _postgres_settings(root)
        else:
            settings = Settings(data_dir=root / "workbench")
        if not (settings.data_dir / Workbench.FACTS).exists():
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            Workbench.build(settings)
        # The encoder's index, built and cached in the data directory by the first worker
        # (the others load it), so no coding page waits for it.
        search.index_for(codesets.load(data_dir=settings.data_dir), settings.data_dir)
        users = root / f"workbench-{backend}.users"
        users.write_text(str(int(users.read_text() or 0) + 1) if users.exists() else "1")
    yield Workbench(settings)
    if backend == "postgresql":
        # The last worker using the database drops it (a later one would build it again).
        with (root / f"workbench-{backend}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            left = int(users.read_text() or 1) - 1
            users.write_text(str(left))
            if left <= 0:
                _drop_postgres(settings)
                (settings.data_dir / Workbench.FACTS).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def web_app(workbench):
    app = create_app(workbench.settings)
    yield app
    app.state.repo.engine.dispose()  # before the database may be dropped


@pytest.fixture
def client(web_app):
    with TestClient(web_app, base_url="http://127.0.0.1") as test_client:
        yield test_client


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(web_app, workbench):
    import uvicorn

    if workbench.settings.database_url and not BROWSER_ON_POSTGRES:
        pytest.skip(
            "browser tests drive the SQLite workbench (the in-process tests cover PostgreSQL); "
            "CHARTKEEPER_TEST_BROWSER_ON_POSTGRES=1 drives this one too"
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def missing(what: str) -> None:
    """Skip locally; under CI (.ci/run installs both) a missing tool fails the run."""
    if os.environ.get("CI"):
        pytest.fail(f"{what}: .ci/run should have installed it")
    pytest.skip(what)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        missing("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        # Never a downloaded browser: Debian's chromium, by path.
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def signed_in() -> dict:
    """Each role's signed-in cookies (a Playwright storage state), kept for the session:
    a test starts on its home page without going through the sign-in form again."""
    return {}


@pytest.fixture
def page_for(browser, live_server, signed_in):
    """page_for(role) -> a page in a fresh context, signed in as that role's user, on the
    home page. `init_script` runs in every page of the context before the page's own."""
    contexts = []

    def open_as(role: str, viewport=(1280, 800), init_script: str | None = None):
        context = browser.new_context(
            base_url=live_server,
            viewport={"width": viewport[0], "height": viewport[1]},
            accept_downloads=True,
            storage_state=signed_in.get(live_server, {}).get(role),
        )
        if init_script:
            context.add_init_script(script=init_script)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/")
        if page.url.endswith("/signin") or "/signin?" in page.url:
            # first use of the role (or its session ended): through the form, as a user would
            page.get_by_label("User name").fill(role)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{live_server}/")
            signed_in.setdefault(live_server, {})[role] = context.storage_state()
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core from npm, installed on first use into an ignored folder (never committed)."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists() and shutil.which("npm"):
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR), "axe-core@4"],
            check=False,
            capture_output=True,
            timeout=300,
        )
    if not script.exists():
        missing("axe-core is not installed (npm install axe-core --prefix tests/web/.node)")
    return script.read_text()
