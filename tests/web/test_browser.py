"""The workbench in a real browser (Debian's chromium, headless, driven by Playwright): each
role signs in and reaches its worklists, one real task per worklist end to end, and an
automated accessibility check (axe-core) on the main pages. The README's screenshots are
taken by these tests (see SCREENSHOTS)."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from web_helpers import SECRET

# Assertions that wait for the page (a click starts a navigation; it may not have finished).
expect = pytest.importorskip("playwright.sync_api").expect

# The README's screenshots: `CHARTKEEPER_SCREENSHOTS=docs/screenshots make test` refreshes
# them; otherwise they go to a temporary folder, so a test run leaves the work tree clean.
SCREENSHOTS = os.environ.get("CHARTKEEPER_SCREENSHOTS")


def shoot(page, name: str) -> None:
    folder = Path(SCREENSHOTS) if SCREENSHOTS else Path(tempfile.gettempdir()) / "ck-screens"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


def find_patient(page, mrn: str) -> None:
    page.get_by_role("link", name="Charts").click()
    page.get_by_label("MRN").fill(mrn)
    page.get_by_role("button", name="Search").click()


def mrn(patient: dict) -> str:
    return next(i["value"] for i in patient["identifier"] if i["system"].startswith("urn:oid"))


@pytest.mark.parametrize(
    ("role", "worklists", "absent"),
    [
        (
            "him",
            ["Deficiencies", "Patient index", "Release of information"],
            ["Users"],
        ),
        (
            "coder",
            ["Coding queue", "Physician queries"],
            ["Deficiencies", "Release of information"],
        ),
        ("clinician", ["Deficiencies", "Physician queries"], ["Coding queue", "Patient index"]),
        ("registrar", ["Charts"], ["Deficiencies", "Coding queue", "Release of information"]),
        ("auditor", ["Privacy and audit"], ["Charts", "Deficiencies", "Coding queue"]),
        ("admin", ["Users", "Privacy and audit"], []),
    ],
)
def test_each_role_signs_in_and_reaches_its_worklists_in_two_clicks(
    page_for, role, worklists, absent
):
    page = page_for(role)
    nav = page.get_by_role("navigation", name="Worklists")
    for name in worklists:
        link = nav.get_by_role("link", name=name, exact=True)
        link.click()  # one click from home to the worklist
        expect(page.locator("h1").first).to_be_visible()
        assert "Not allowed" not in page.content()
        page.get_by_role("link", name="Home").click()
    for name in absent:
        assert nav.get_by_role("link", name=name, exact=True).count() == 0
    if role == "him":
        shoot(page, "home-him")


def test_him_links_a_duplicate_pair_and_the_patients_merge(page_for, workbench):
    page = page_for("him")
    page.get_by_role("navigation").get_by_role("link", name="Patient index").click()
    dup = workbench.duplicate
    row = page.locator("tr", has=page.get_by_text(f"MRN {mrn(dup)}"))
    row.get_by_role("link", name=re.compile("Review pair")).click()
    expect(page.get_by_role("heading", name="Are these the same person?")).to_be_visible()
    shoot(page, "mpi-review")
    survivor = page.get_by_label(re.compile(f"MRN {mrn(dup)}"))
    other = page.get_by_label(re.compile("survives")).and_(page.locator(":not(:checked)"))
    # keep the original record: choose the radio that is not the duplicate's
    for radio in page.get_by_role("radio").all():
        if radio.get_attribute("value") != f"Patient/{dup['id']}":
            radio.check()
    assert survivor.count() == 1 and other is not None
    page.get_by_label("Note").fill("same DOB, address and SSN; given name mistyped")
    page.get_by_role("button", name="Link and merge").click()
    expect(page.get_by_role("heading", name=re.compile("Merge history"))).to_be_visible()
    expect(page.get_by_text(f"MRN {mrn(dup)}").first).to_be_visible()
    find_patient(page, mrn(dup))
    expect(page.get_by_text("merged", exact=True).first).to_be_visible()


def test_coder_codes_an_inpatient_encounter_and_sees_its_drg(page_for, workbench):
    page = page_for("coder")
    page.get_by_role("navigation").get_by_role("link", name="Coding queue").click()
    # The first coding screen parses the ICD-10-CM code set and builds the encoder's index
    # (cached in the data directory afterwards): allow for that on a loaded machine.
    page.set_default_navigation_timeout(180_000)
    page.get_by_role("link", name="Code IMP visit of 2025-03-14").click()
    expect(page.get_by_role("heading", name="Notes")).to_be_visible()
    page.get_by_label("Diagnostic statement").fill("pneumonia")
    hits = page.locator("#encoder-hits li")
    hits.first.wait_for()  # htmx answered as the coder typed
    assert "J18" in page.locator("#encoder-hits").inner_text()
    # The stay's suggestions are prefilled; the coder codes the principal with its POA.
    diagnoses = page.get_by_label(re.compile("^Diagnoses"))
    assert "C61" in diagnoses.input_value()
    diagnoses.fill("J18.9:Y, I10:Y")
    page.get_by_label(re.compile("^Procedures")).fill("")
    page.get_by_role("button", name="Save codes").click()
    drg = page.locator(".drg")
    expect(drg).to_contain_text(re.compile(r"MS-DRG 19[345]"))
    assert "needs a POA indicator" not in page.content()
    shoot(page, "coding-screen")


def test_release_is_validated_fulfilled_and_its_packet_downloads(page_for, workbench):
    page = page_for("him")
    find_patient(page, mrn(workbench.patient))
    page.get_by_role("link", name=workbench.patient["name"][0]["family"], exact=False).first.click()
    page.get_by_role("link", name="Log a release request").click()
    page.get_by_label("Name", exact=True).fill("Clerk of Court")
    page.get_by_label("Organization").fill("County Court")
    page.get_by_label("Address").fill("3 Hall Street, Columbus OH")
    page.get_by_label("Purpose").select_option("legal")
    page.get_by_label("Document").select_option(index=1)
    page.get_by_label("Basis").select_option("court-order")
    page.get_by_label("Signed on").fill((date.today() - timedelta(days=2)).isoformat())
    page.get_by_label(re.compile("^Record types")).fill("Condition")
    page.get_by_role("button", name="Log request").click()
    page.get_by_role("button", name="Validate against the authorization").click()
    page.get_by_role("button", name=re.compile("^Fulfil")).click()
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download the packet")).click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    page.get_by_role("link", name="Accounting of disclosures for this patient").click()
    expect(page.get_by_text("Clerk of Court")).to_be_visible()


def test_a_deficiency_closes_when_the_clinician_signs_the_note(page_for):
    page = page_for("clinician")
    page.get_by_role("navigation").get_by_role("link", name="Deficiencies").click()
    row = page.locator("tbody tr", has=page.get_by_text("note-unsigned")).first
    row_id = row.get_attribute("id")
    row.get_by_role("link").first.click()  # the patient's chart
    sign = page.get_by_role("button", name="Sign this note").first
    sign.click()
    page.get_by_role("navigation").get_by_role("link", name="Deficiencies").click()
    expect(page.locator(f"#{row_id}")).to_have_count(0)  # off the open worklist
    page.get_by_label("Status").select_option("closed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f"#{row_id}").get_by_text("closed").first).to_be_visible()


def test_a_labelled_record_never_appears_and_forged_posts_are_refused(page_for, workbench):
    page = page_for("clinician")
    page.goto(f"/chart/{workbench.labelled_patient['id']}")
    assert SECRET not in page.content()
    # A post without the session's CSRF token (as another site would send) is refused.
    answer = page.request.post("/him/deficiencies/1/assign", form={"assignee": ""})
    assert answer.status == 403


def test_admin_adds_a_user_changes_its_role_and_disables_it(page_for):
    page = page_for("admin")
    page.get_by_role("navigation").get_by_role("link", name="Users").click()
    page.get_by_label("User name").fill("night.clerk")
    page.get_by_label("Password (at least 12 characters)").fill("night clerk passphrase")
    page.get_by_label("Role", exact=True).select_option("him")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_contain_text("User night.clerk added")
    row = page.locator("tr", has=page.get_by_role("rowheader", name="night.clerk"))
    assert "never" in row.inner_text()
    page.get_by_label("Role of night.clerk", exact=True).select_option("coder")
    page.get_by_role("button", name="Change the role of night.clerk").click()
    expect(page.get_by_role("status")).to_contain_text("new role")
    assert page.get_by_label("Role of night.clerk", exact=True).input_value() == "coder"
    page.get_by_role("button", name="Disable night.clerk").click()
    expect(row.locator(".state")).to_have_text("disabled")
    expect(page.get_by_role("button", name="Enable night.clerk")).to_be_visible()
    shoot(page, "users")


AXE_PAGES = {
    "him": ["/", "/him/deficiencies", "/him/mpi", "/him/roi", "/chart"],
    "coder": ["/coder/encounters/web-test-stay", "/coder/dnfb"],
    "auditor": ["/privacy"],
    "admin": ["/admin/users"],
}


def test_keyboard_users_skip_to_the_worklist_and_focus_follows_the_page(page_for):
    """The first Tab reaches "Skip to content", which moves focus into the main landmark;
    the next Tab stays in it (not back in the banner), and the focused element is outlined."""
    page = page_for("him")
    page.goto("/him/deficiencies")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content", focused
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), outline
    landmarks = page.evaluate(
        "[...document.querySelectorAll('header, nav, main, footer')].map(e => e.tagName)"
    )
    assert landmarks == ["HEADER", "NAV", "MAIN", "FOOTER"]


AXE_CHECK = (
    "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
    ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"
)


def axe_problems(page, urls) -> list[str]:
    """axe-core's serious and critical violations on each page (axe is injected by the
    browser as an init script, so the page's strict CSP does not stop it)."""
    problems = []
    for url in urls:
        page.goto(url)
        problems.extend(f"{url} {v}" for v in page.evaluate(AXE_CHECK))
    return problems


@pytest.mark.parametrize("role", sorted(AXE_PAGES))
def test_no_serious_accessibility_violations(
    page_for, browser, live_server, axe_source, role, workbench
):
    problems = []
    if role == "him":  # the sign-in page, before anyone signs in
        context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
        context.add_init_script(script=axe_source)
        problems += axe_problems(context.new_page(), ["/signin"])
        context.close()
    page = page_for(role, init_script=axe_source)
    urls = list(AXE_PAGES[role])
    if role == "him":
        urls.append(f"/chart/{workbench.patient['id']}")
    problems += axe_problems(page, urls)
    assert not problems, "\n".join(problems)


TABLET = (768, 1024)  # portrait: the narrowest the workbench is laid out for


def test_works_on_a_tablet_and_stays_accessible(page_for, axe_source, workbench):
    """At a tablet's width no page scrolls sideways (wide tables scroll inside themselves)
    and axe finds nothing serious."""
    chart = f"/chart/{workbench.patient['id']}"
    pages = {  # the widest layouts (axe also checks these at 1280x800)
        "him": ["/", "/him/deficiencies", chart],
        "coder": ["/coder/encounters/web-test-stay"],
        "admin": ["/admin/users"],
    }
    problems = []
    for role, urls in pages.items():
        page = page_for(role, viewport=TABLET, init_script=axe_source)
        for url in urls:
            page.goto(url)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > TABLET[0]:
                problems.append(f"{url} scrolls sideways on a tablet ({width}px)")
            problems.extend(f"{url} {v}" for v in page.evaluate(AXE_CHECK))
            if url == chart:
                shoot(page, "chart-tablet")
    assert not problems, "\n".join(problems)
