"""The registrar's screens (/registrar): in process, who may use them, names and MRNs on
the worklist, refusals and bad forms; in the browser, a registrar accepts a suspected case,
edits the abstract, sees the edit it fails, overrides it, completes the abstract and
downloads NAACCR XML; and an axe accessibility check of the registry pages."""

from __future__ import annotations

import base64
import fcntl
import re
from pathlib import Path

import pytest

from chartkeeper.registry import casefinding
from chartkeeper.store import open_store
from web_helpers import PASSWORD, csrf_of, sign_in

pytestmark = pytest.mark.usefixtures("registry_reference")

REPORT = """SURGICAL PATHOLOGY REPORT
FINAL DIAGNOSIS:
A. BREAST, LEFT, LUMPECTOMY:
   INVASIVE DUCTAL CARCINOMA, NOTTINGHAM GRADE 2, 1.8 CM, UPPER OUTER QUADRANT.
   MARGINS NEGATIVE.
B. SENTINEL LYMPH NODE, LEFT AXILLA: ONE LYMPH NODE, NEGATIVE FOR CARCINOMA (0/1).
"""
PATIENT = {
    "resourceType": "Patient",
    "id": "web-test-registry-patient",
    "identifier": [
        {
            "type": {"coding": [{"code": "MR"}]},
            "system": "urn:oid:2.16.840.1.113883.19.5",
            "value": "77001234",
        }
    ],
    "name": [{"use": "official", "family": "Quintero", "given": ["Marisol"]}],
    "gender": "female",
    "birthDate": "1961-04-12",
}


@pytest.fixture(scope="session")
def registry_reference():
    from chartkeeper.registry import reference

    for parts in (("icdo3", "primarySite.csv"), ("naaccr", "naaccr-dictionary-260.xml")):
        if not reference.available(*parts):
            pytest.skip(f"reference file not present: {'/'.join(parts)}")


@pytest.fixture(scope="session")
def suspected_case(workbench) -> int:
    """A breast cancer pathology report for a patient of our own, screened once into a
    suspected case (under a lock: the xdist workers share the workbench)."""
    root = workbench.settings.data_dir
    with (root / "registry.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        repo = open_store(workbench.settings)
        report = {
            "resourceType": "DiagnosticReport",
            "id": "web-test-registry-report",
            "status": "final",
            "category": [{"coding": [{"system": "http://loinc.org", "code": "LP7839-6"}]}],
            "code": {
                "coding": [{"system": "http://loinc.org", "code": "22637-3"}],
                "text": "Surgical pathology report",
            },
            "subject": {"reference": f"Patient/{PATIENT['id']}"},
            "effectiveDateTime": "2025-02-03T10:00:00Z",
            "presentedForm": [
                {"contentType": "text/plain", "data": base64.b64encode(REPORT.encode()).decode()}
            ],
        }
        with repo.transaction() as tx:
            tx.update(dict(PATIENT))
            tx.update(report)
        casefinding.run(repo, by="web-test")
        cases = [c for c in casefinding.worklist(repo, None) if c["patient_id"] == PATIENT["id"]]
        repo.engine.dispose()
    assert len(cases) == 1, "the report should make exactly one case"
    return cases[0]["id"]


def test_registrar_home_and_worklist_show_names_and_mrns(client, suspected_case):
    home = sign_in(client, "registrar")
    assert 'href="/registrar"' in home.text  # in the navigation, and a card on home
    page = client.get("/registrar")
    assert page.status_code == 200 and "Suspected cases" in page.text
    # The browser test (maybe in another worker, on the same store) moves the case on:
    # it is on one of the lists, named with its MRN.
    listings = [
        client.get(f"/registrar/cases?status={status}")
        for status in ("suspected", "abstracting", "complete")
    ]
    assert all(page.status_code == 200 for page in listings)
    listing = next(page for page in listings if "Quintero, Marisol" in page.text)
    assert "MRN 77001234" in listing.text
    assert "C50.4" in listing.text and "8500/3" in listing.text
    case = client.get(f"/registrar/cases/{suspected_case}")
    assert case.status_code == 200 and "<mark" in case.text  # the evidence in the report


@pytest.mark.parametrize("role", ["coder", "clinician", "auditor"])
def test_other_roles_are_refused(client, role, suspected_case):
    sign_in(client, role)
    for url in ("/registrar", "/registrar/cases", f"/registrar/cases/{suspected_case}"):
        assert client.get(url).status_code == 403, (role, url)
    assert client.get("/registrar/export.xml").status_code == 403


def test_bad_forms_are_refused_and_change_nothing(client, suspected_case):
    page = sign_in(client, "registrar")
    csrf = csrf_of(page.text)
    # No CSRF token: refused (403), the case stays suspected.
    assert (
        client.post(f"/registrar/cases/{suspected_case}/dismiss", data={"reason": "x"}).status_code
        == 403
    )
    # Dismiss without a reason: the form is refused with the reason why.
    answer = client.post(
        f"/registrar/cases/{suspected_case}/dismiss", data={"csrf_token": csrf, "reason": " "}
    )
    assert answer.status_code == 400 and "reason" in answer.text
    # An unknown case is a page saying so, not a 500.
    assert client.get("/registrar/cases/999999").status_code == 404
    assert client.get("/registrar/survival?by=shoe-size").status_code == 400
    assert client.get("/registrar/export.xml?record_type=Z").status_code == 400
    # Nothing was dismissed by the refused posts.
    assert "Quintero, Marisol" not in client.get("/registrar/cases?status=dismissed").text


def test_survival_and_followup_pages_answer_without_cases(client):
    sign_in(client, "registrar")
    assert client.get("/registrar/followup").status_code == 200
    assert client.get("/registrar/survival").status_code == 200
    assert client.get("/registrar/export").status_code == 200


# --- in the browser --------------------------------------------------------------------------


def test_registrar_accepts_edits_overrides_completes_and_downloads_naaccr_xml(
    page_for, suspected_case
):
    page = page_for("registrar")
    page.get_by_role("navigation", name="Worklists").get_by_role(
        "link", name="Cancer registry"
    ).click()
    page.get_by_role("link", name=re.compile("Suspected cases")).click()
    row = page.locator("tr", has=page.get_by_text("MRN 77001234"))
    row.get_by_role("button", name=f"Accept case {suspected_case}").click()
    page.wait_for_url(re.compile(rf"/registrar/cases/{suspected_case}$"))
    assert "abstracting" in page.locator("h1").inner_text()
    # The pathology report is beside the abstract, its evidence marked.
    assert page.locator("pre.note-text mark").count() > 0
    # A breast is a paired organ: laterality 0 ("not paired") fails an edit.
    page.get_by_label("Laterality", exact=True).fill("0")
    page.get_by_role("button", name="Save the abstract").click()
    edits = page.get_by_role("region", name="Edits")
    assert "laterality" in edits.inner_text().lower()
    # Every edit that fails is overridden with a reason (the reason is kept), then the
    # abstract is completed.
    for _ in range(10):
        buttons = page.get_by_role("button", name=re.compile(r"^Override "))
        if buttons.count() == 0:
            break
        edit_id = buttons.first.inner_text().removeprefix("Override ")
        page.get_by_label(f"Reason to override {edit_id}").fill("checked against the report")
        buttons.first.click()
    assert "overridden: checked against the report" in page.content()
    page.get_by_role("button", name="Complete the abstract").click()
    assert "complete" in page.locator("h1").inner_text()
    page.get_by_role("link", name="NAACCR export").first.click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download NAACCR XML").click()
    path = download.value.path()
    xml = Path(path).read_text(encoding="utf-8")
    assert "<NaaccrData" in xml and "QUINTERO" in xml and "C504" in xml


def test_no_serious_accessibility_violations_on_registry_pages(
    browser, live_server, axe_source, suspected_case
):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    context.add_init_script(script=axe_source)
    page = context.new_page()
    page.goto("/signin")
    page.get_by_label("User name").fill("registrar")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/")
    problems = []
    for url in (
        "/registrar",
        "/registrar/cases?status=suspected",
        f"/registrar/cases/{suspected_case}",
        "/registrar/followup",
        "/registrar/survival",
        "/registrar/export",
    ):
        page.goto(url)
        found = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"
        )
        problems.extend(f"{url} {v}" for v in found)
    context.close()
    assert not problems, problems
