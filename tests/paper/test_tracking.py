"""Chart volumes: labels, check-out/transfer/check-in, overdue, audited custody history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from test_retention import _patient

from chartkeeper.errors import BadRequest, Conflict, NotFound
from chartkeeper.paper import tracking


def test_custody_round_trip_and_overdue(repo):
    _patient(repo, "p1", "1970-01-01", "2024-03-01")
    first = tracking.create_volume(repo, "p1", location="File room A", by="clerk")
    second = tracking.create_volume(repo, "p1", location="File room A", by="clerk")
    assert (first["volume_no"], second["volume_no"]) == (1, 2)
    assert first["barcode"] != second["barcode"]
    soon = date.today() + timedelta(days=1)
    tracking.check_out(repo, first["barcode"], to="Dr Lee", location="Clinic 3", due=soon,
                       by="clerk")  # fmt: skip
    with pytest.raises(Conflict, match="already out"):
        tracking.check_out(repo, first["barcode"], to="X", location="Y", due=soon, by="clerk")
    tracking.transfer(repo, first["barcode"].lower(), to="Coder Ng", location="Coding",
                      due=soon, by="clerk")  # fmt: skip
    assert tracking.overdue(repo, today=date.today()) == []
    (late,) = tracking.overdue(repo, today=soon + timedelta(days=3))
    assert late["barcode"] == first["barcode"] and late["days_overdue"] == 3
    assert late["custodian"] == "Coder Ng"
    tracking.check_in(repo, first["barcode"], location="File room A", by="clerk")
    with pytest.raises(Conflict, match="not out"):
        tracking.check_in(repo, first["barcode"], location="File room A", by="clerk")
    moves = tracking.history(repo, first["barcode"])["custody"]
    assert [m["action"] for m in moves] == ["create", "check-out", "transfer", "check-in"]
    assert moves[2]["custodian"] == "Coder Ng" and moves[2]["location"] == "Coding"
    pdf = tracking.label_pdf(repo, [first["barcode"], second["barcode"]])
    assert pdf.startswith(b"%PDF") and b"/Count 2" in pdf


def test_bad_input(repo):
    _patient(repo, "p1", "1970-01-01", "2024-03-01")
    with pytest.raises(NotFound):
        tracking.create_volume(repo, "nobody", location="A", by="clerk")
    with pytest.raises(BadRequest):
        tracking.create_volume(repo, "p1", location=" ", by="clerk")
    with pytest.raises(NotFound, match="barcode"):
        tracking.check_in(repo, "V000", location="A", by="clerk")
    vol = tracking.create_volume(repo, "p1", location="A", by="clerk")
    with pytest.raises(BadRequest, match="past"):
        tracking.check_out(repo, vol["barcode"], to="X", location="Y",
                           due=date(2000, 1, 1), by="clerk")  # fmt: skip


def test_pull_list_from_appointments(repo):
    _patient(repo, "p1", "1970-01-01", "2024-03-01")
    _patient(repo, "p2", "1970-01-01", "2024-03-01")
    vol = tracking.create_volume(repo, "p1", location="Shelf 4", by="clerk")
    for aid, pid, start, status in [
        ("a1", "p1", "2030-05-02T09:00:00Z", "booked"),
        ("a2", "p2", "2030-05-02T10:00:00Z", "cancelled"),
        ("a3", "p2", "2030-05-03T10:00:00Z", "booked"),
    ]:
        repo.update(
            {
                "resourceType": "Appointment",
                "id": aid,
                "status": status,
                "start": start,
                "end": start.replace("T09", "T09").replace(":00:00Z", ":30:00Z"),
                "participant": [{"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"}],
            }
        )
    (row,) = tracking.pull_list(repo, date(2030, 5, 2))
    assert row["patient_id"] == "p1" and row["volumes"][0]["barcode"] == vol["barcode"]
    assert row["volumes"][0]["location"] == "Shelf 4"
