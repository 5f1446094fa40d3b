"""One workbench over one demo store for the whole web test session (generated once per
worker: the synthetic demo set, a user per role, a sensitive record, a duplicate patient
for the review queue), an in-process client, and, when Debian's chromium is installed, one
headless browser on a live server."""

from __future__ import annotations

import base64
import copy
import dataclasses
import fcntl
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


@pytest.fixture(scope="session")
def workbench(tmp_path_factory) -> Workbench:
    """Built once per test run, under a lock, and shared by the xdist workers (building the
    demo is the costly part; the tests choose their own records, so they can share it)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    settings = Settings(data_dir=root / "workbench")
    with (root / "workbench.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (settings.data_dir / Workbench.FACTS).exists():
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            Workbench.build(settings)
    # Parse the code set and build the encoder's index now (once per process, shared with
    # the coding tests), so no page in a browser test waits for it.
    search.index_for(codesets.load(data_dir=settings.data_dir), settings.data_dir)
    return Workbench(settings)


@pytest.fixture(scope="session")
def web_app(workbench):
    return create_app(workbench.settings)


@pytest.fixture
def client(web_app):
    with TestClient(web_app, base_url="http://127.0.0.1") as test_client:
        yield test_client


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(web_app):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
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


@pytest.fixture
def page_for(browser, live_server):
    """page_for(role) -> a page in a fresh context, signed in as that role's user."""
    contexts = []

    def open_as(role: str, viewport=(1280, 800)):
        context = browser.new_context(
            base_url=live_server,
            viewport={"width": viewport[0], "height": viewport[1]},
            accept_downloads=True,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/signin")
        page.get_by_label("User name").fill(role)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server}/")
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
