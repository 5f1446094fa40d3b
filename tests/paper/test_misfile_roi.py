"""A scanned document in a release-of-information packet, then found misfiled: the packet
printed its pages, the move is in both patients' access reports, and the disclosure that
sent it out is flagged. Through a signed-in HIM clerk's guarded store, on both databases."""

from __future__ import annotations

import io
from datetime import date, timedelta

import scan_batch
from pypdf import PdfReader

from chartkeeper.paper import indexing, scanning
from chartkeeper.privacy import audit, disclosures
from chartkeeper.privacy.access import UserGuard
from chartkeeper.privacy.access_report import patient_access_report
from chartkeeper.privacy.users import User

KEY = audit.AuditKey(b"test key, not a secret")


def _png(page) -> bytes:
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


def test_disclosed_misfile_is_flagged_and_reported_to_both_patients(repo, tmp_path):
    audit.open_trail(repo.engine, KEY)
    clerk = repo.guarded(UserGuard(repo.engine, KEY, User("clerk", "him"), purpose="HOPERAT"))
    scan_batch.patient(clerk, "p1", "Okafor")
    scan_batch.patient(clerk, "p2", "Lindqvist")
    pages = [scan_batch.cover_page(clerk, "p1", "11506-3", encounter="p1-e1"),
             scan_batch.text_page(["Assessment: sarcoidosis"]),
             scan_batch.text_page(["Plan: steroids"])]  # fmt: skip
    result = scanning.scan_bytes(
        clerk, [(f"{i}.png", _png(p)) for i, p in enumerate(pages)], by="clerk", with_ocr=False
    )
    (doc,) = result.documents
    today = date.today()
    spec = {
        "patient": "p1",
        "purpose": "insurance",
        "requester": {"name": "Ann Lee", "organization": "Acme Life", "address": "1 Main St"},
        "authorization": {
            "reference": f"DocumentReference/{doc['id']}",
            "signed": (today - timedelta(days=3)).isoformat(),
            "expires": (today + timedelta(days=300)).isoformat(),
            "covers": {"types": ["DocumentReference"], "start": "2020-01-01",
                       "end": (today + timedelta(days=1)).isoformat()},
        },
        "asked": {"types": ["DocumentReference"], "start": "2020-01-01",
                  "end": (today + timedelta(days=1)).isoformat()},
    }  # fmt: skip
    req = disclosures.log_request(clerk, spec, by="clerk")
    disclosures.validate_request(clerk, req.id, by="clerk")
    done = disclosures.fulfil(clerk, req.id, by="clerk", out_dir=tmp_path)
    reader = PdfReader(done.pdf)
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "scanned page 1 of 2" in text and "scanned page 2 of 2" in text
    assert sum(len(p.images) for p in reader.pages) == 2  # the page images themselves

    moved = indexing.move_document(clerk, doc["id"], patient_id="p2", encounter_id="p2-e1",
                                   reason="cover sheet of the wrong patient", by="clerk")  # fmt: skip
    (flag,) = moved.disclosures
    assert flag["request"] == req.id and flag["recipient"] == "Ann Lee, Acme Life"
    (listed,) = indexing.misfiles(clerk, disclosed_only=True)
    assert listed["id"] == moved.id
    out = [r for r in patient_access_report(repo, "p1") if r["action"] == "paper-misfile-out"]
    into = [r for r in patient_access_report(repo, "p2") if r["action"] == "paper-misfile-in"]
    assert len(out) == 1 and len(into) == 1
    assert "moved out of this chart" in out[0]["detail"] and "p2" not in out[0]["detail"]
    assert "disclosed 1 times while misfiled" in out[0]["detail"]
    assert "moved into this chart" in into[0]["detail"] and "p1" not in into[0]["detail"]
    assert out[0]["username"] == "clerk"
