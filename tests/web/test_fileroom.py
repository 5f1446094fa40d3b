"""The file room's screens (/fileroom): in process, who may use them, the chart locator by
barcode and by MRN, assigning a queued scanned page, a case hold, refused forms; in the
browser, a clerk scans a barcode, files a queued page from its thumbnail and places a
hold by case; and an axe accessibility check of the three pages."""

from __future__ import annotations

import fcntl
import io
import re
from datetime import date, timedelta

import pytest
from PIL import Image, ImageDraw, ImageFont

from chartkeeper.paper import scanning, tracking
from chartkeeper.store import open_store
from web_helpers import PASSWORD, csrf_of, sign_in

expect = pytest.importorskip("playwright.sync_api").expect


def shoot(page, name: str) -> None:
    """A screenshot, as test_browser takes them (CHARTKEEPER_SCREENSHOTS, else a temp dir)."""
    import os
    import tempfile
    from pathlib import Path

    folder = os.environ.get("CHARTKEEPER_SCREENSHOTS")
    target = Path(folder) if folder else Path(tempfile.gettempdir()) / "ck-screens"
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"))

MRN = "55009876"
PATIENT = {
    "resourceType": "Patient",
    "id": "web-test-fileroom-patient",
    "identifier": [
        {
            "type": {"coding": [{"code": "MR"}]},
            "system": "urn:oid:2.16.840.1.113883.19.5",
            "value": MRN,
        }
    ],
    "name": [{"use": "official", "family": "Okonkwo", "given": ["Adaeze"]}],
    "gender": "female",
    "birthDate": "1958-09-30",
}


def _page_png(text: str) -> bytes:
    page = Image.new("L", (425, 550), 255)
    ImageDraw.Draw(page).text((30, 60), text, fill=0, font=ImageFont.load_default(size=18))
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def fileroom(workbench) -> dict:
    """A patient with a chart volume out on loan, and two scanned pages with no cover sheet
    waiting in the queue (one for the in-process test, one for the browser), made once
    under a lock: the xdist workers share the workbench."""
    root = workbench.settings.data_dir
    with (root / "fileroom.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        repo = open_store(workbench.settings)
        repo.update(dict(PATIENT))
        volumes = tracking.volumes(repo, PATIENT["id"])
        if not volumes:
            made = tracking.create_volume(repo, PATIENT["id"], location="Shelf 12", by="t")
            tracking.check_out(repo, made["barcode"], to="Dr Abara", location="Clinic 4",
                               due=date.today() + timedelta(days=7), by="t")  # fmt: skip
            volumes = tracking.volumes(repo, PATIENT["id"])
        files = [("loose-a.png", _page_png("Loose page A")), ("loose-b.png", _page_png("Loose B"))]
        scanning.scan_bytes(repo, files, by="t", with_ocr=False)
        queued = {p["source"]: p["id"] for p in scanning_queue(repo)}
        repo.engine.dispose()
    return {"barcode": volumes[0]["barcode"], "pages": queued}


def scanning_queue(repo):
    from chartkeeper.paper import indexing

    return indexing.queue(repo)


def test_file_room_screens_for_him_and_refused_to_others(client, fileroom):
    home = sign_in(client, "him")
    assert 'href="/fileroom"' in home.text
    found = client.get(f"/fileroom?q={fileroom['barcode']}")
    assert found.status_code == 200
    assert "Custody history" in found.text and "Okonkwo, Adaeze" in found.text
    assert "Clinic 4" in found.text and "Dr Abara" in found.text
    by_mrn = client.get(f"/fileroom?q={MRN}")
    assert fileroom["barcode"] in by_mrn.text
    assert "No paper chart found" in client.get("/fileroom?q=nobody-here").text
    queue = client.get("/fileroom/queue")
    page_id = fileroom["pages"]["loose-a.png"]
    assert f'src="/fileroom/pages/{page_id}.png"' in queue.text
    image = client.get(f"/fileroom/pages/{page_id}.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    csrf = csrf_of(queue.text)
    form = {"csrf_token": csrf, "page": str(page_id), "type": "51851-4"}
    assert (
        client.post(
            "/fileroom/queue/assign", data={**form, "patient": MRN} | {"csrf_token": ""}
        ).status_code
        == 403
    )
    assert client.post("/fileroom/queue/assign", data={**form, "patient": " "}).status_code == 400
    assert (
        client.post("/fileroom/queue/assign", data={**form, "patient": "no-one"}).status_code == 404
    )
    done = client.post("/fileroom/queue/assign", data={**form, "patient": MRN})
    assert done.status_code == 200 and "Filed as DocumentReference" in done.text
    assert f'src="/fileroom/pages/{page_id}.png"' not in done.text
    held = client.post(
        "/fileroom/holds/case",
        data={"csrf_token": csrf, "case": "WEB-CV-1", "patients": MRN, "reason": "subpoena"},
    )
    assert held.status_code == 200 and "WEB-CV-1" in held.text and "Okonkwo, Adaeze" in held.text
    refused = client.post("/fileroom/holds/case",
                          data={"csrf_token": csrf, "case": " ", "patients": MRN, "reason": "x"})  # fmt: skip
    assert refused.status_code == 400
    released = client.post("/fileroom/holds/case/release",
                           data={"csrf_token": csrf, "case": "WEB-CV-1", "reason": "closed"})  # fmt: skip
    assert released.status_code == 200 and "WEB-CV-1" not in released.text
    sign_in(client, "coder")
    for url in ("/fileroom", "/fileroom/queue", "/fileroom/retention",
                f"/fileroom/pages/{page_id}.png"):  # fmt: skip
        assert client.get(url).status_code == 403, url


# --- in the browser --------------------------------------------------------------------------


def test_clerk_finds_a_chart_files_a_queued_page_and_holds_a_case(page_for, fileroom):
    page = page_for("him")
    page.get_by_role("navigation", name="Worklists").get_by_role("link", name="File room").click()
    page.get_by_label(re.compile("Scan a volume barcode")).fill(fileroom["barcode"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Volume {fileroom['barcode']}")).to_be_visible()
    assert "Dr Abara" in page.content()
    shoot(page, "fileroom-locator")
    page.get_by_role("link", name="Indexing queue").first.click()
    page_id = fileroom["pages"]["loose-b.png"]
    thumb = page.get_by_role("img", name=f"Scanned page {page_id}: image")
    expect(thumb).to_be_visible()
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")
    shoot(page, "fileroom-queue")
    page.get_by_label(re.compile(rf"^Page {page_id} \(")).check()
    page.get_by_label("Patient (MRN or id)").fill(MRN)
    page.get_by_label("Document type").select_option("59284-0")
    page.get_by_role("button", name="File the ticked pages").click()
    expect(page.get_by_role("status")).to_contain_text("Filed as DocumentReference")
    page.get_by_role("link", name="Retention and legal holds").first.click()
    page.get_by_label("Case or matter").fill("WEB-CV-2")
    page.get_by_label(re.compile("^Patients")).fill(MRN)
    page.get_by_label("Reason", exact=True).fill("litigation")
    page.get_by_role("button", name="Place the hold").click()
    row = page.locator("tr", has=page.get_by_text("WEB-CV-2"))
    expect(row).to_contain_text("Okonkwo, Adaeze")
    shoot(page, "fileroom-holds")
    page.get_by_label("Case", exact=True).select_option("WEB-CV-2")
    page.get_by_label("Why the hold ends").fill("case closed")
    page.get_by_role("button", name="Release every hold of the case").click()
    expect(page.locator("tr", has=page.get_by_text("WEB-CV-2"))).to_have_count(0)


def test_no_serious_accessibility_violations_on_file_room_pages(
    browser, live_server, axe_source, fileroom
):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    context.add_init_script(script=axe_source)
    page = context.new_page()
    page.goto("/signin")
    page.get_by_label("User name").fill("him")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/")
    problems = []
    for url in (f"/fileroom?q={fileroom['barcode']}", "/fileroom/queue", "/fileroom/retention"):
        page.goto(url)
        found = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"
        )
        problems.extend(f"{url} {v}" for v in found)
    context.close()
    assert not problems, "\n".join(problems)
