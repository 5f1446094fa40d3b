"""Chart tracking: physical record volumes, their barcode labels and their custody.

Each paper chart volume has a Code 39 barcode (the symbology chart-tracking wands read;
fpdf2 draws it, no extra dependency) that names the volume, not the patient, so a label
on a cart shows no PHI beyond what is printed beside it for the file clerk. A volume is
`in` (on a file-room shelf) or `out` (with a person at a location, due back on a date);
every create, check-out, transfer and check-in is one custody row, audited against the
patient in the same transaction.
"""

from __future__ import annotations

import hashlib
from datetime import date

from chartkeeper.errors import BadRequest, Conflict, NotFound
from chartkeeper.fhir.search_params import utc_now
from chartkeeper.privacy.people import human_name, mrn_of
from chartkeeper.store import Repository
from chartkeeper.store import paper as table
from chartkeeper.store.chart import current_versions, live_ids


def _barcode(patient_id: str, volume_no: int) -> str:
    digest = hashlib.sha256(patient_id.encode()).hexdigest()[:10].upper()
    return f"V{digest}-{volume_no:02d}"


def _required(value: str | None, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} is required")
    return value.strip()


def create_volume(repo: Repository, patient_id: str, *, location: str, by: str) -> dict:
    location = _required(location, "a file-room location")
    with repo.transaction() as tx:
        tx.read("Patient", patient_id)  # NotFound for a patient who is not there; audited
        number = table.next_volume_no(tx, patient_id)
        values = {
            "barcode": _barcode(patient_id, number),
            "patient_id": patient_id,
            "volume_no": number,
            "status": "in",
            "location": location,
            "created": utc_now(),
            "created_by": by,
        }
        volume_id = table.insert_volume(tx, values)
        table.insert_custody(
            tx,
            {"volume_id": volume_id, "at": values["created"], "by": by, "action": "create",
             "location": location},
            patient_id,
        )  # fmt: skip
        return {"id": volume_id, **values}


def _volume(tx, barcode: str) -> dict:
    found = table.get_volume(tx, (barcode or "").strip().upper())
    if found is None:
        raise NotFound(f"no chart volume with barcode {barcode!r}")
    return found


def _move(
    repo: Repository,
    barcode: str,
    *,
    action: str,
    by: str,
    location: str,
    custodian: str | None = None,
    due: date | None = None,
    note: str | None = None,
) -> dict:
    location = _required(location, "a location")
    with repo.transaction() as tx:
        volume = _volume(tx, barcode)
        if action == "check-out" and volume["status"] == "out":
            raise Conflict(
                f"volume {volume['barcode']} is already out with {volume['custodian']} at "
                f"{volume['location']}; transfer it or check it in"
            )
        if action in ("transfer", "check-in") and volume["status"] != "out":
            raise Conflict(f"volume {volume['barcode']} is in the file room, not out")
        values = {
            "status": "in" if action == "check-in" else "out",
            "location": location,
            "custodian": custodian,
            "due": due.isoformat() if due else None,
        }
        table.update_volume(tx, volume["id"], values)
        table.insert_custody(
            tx,
            {"volume_id": volume["id"], "at": utc_now(), "by": by, "action": action,
             "custodian": custodian, "location": location, "due": values["due"], "note": note},
            volume["patient_id"],
        )  # fmt: skip
        return {**volume, **values}


def check_out(
    repo: Repository, barcode: str, *, to: str, location: str, due: date, by: str
) -> dict:
    if due < date.today():
        raise BadRequest("the due date is in the past")
    return _move(repo, barcode, action="check-out", by=by, location=location,
                 custodian=_required(to, "who takes the chart"), due=due)  # fmt: skip


def transfer(repo: Repository, barcode: str, *, to: str, location: str, due: date, by: str) -> dict:
    return _move(repo, barcode, action="transfer", by=by, location=location,
                 custodian=_required(to, "who takes the chart"), due=due)  # fmt: skip


def check_in(repo: Repository, barcode: str, *, location: str, by: str) -> dict:
    return _move(repo, barcode, action="check-in", by=by, location=location)


def overdue(repo: Repository, *, today: date) -> list[dict]:
    """Volumes out past their due date, the most overdue first."""
    with repo.transaction() as tx:
        rows = table.list_volumes(tx, status="out", due_before=today.isoformat())
    for row in rows:
        row["days_overdue"] = (today - date.fromisoformat(row["due"])).days
    return sorted(rows, key=lambda r: -r["days_overdue"])


def volumes(repo: Repository, patient_id: str) -> list[dict]:
    with repo.transaction() as tx:
        return table.list_volumes(tx, patient_id=patient_id)


def history(repo: Repository, barcode: str) -> dict:
    """A volume and every move it made, oldest first."""
    with repo.transaction() as tx:
        volume = _volume(tx, barcode)
        return {**volume, "custody": table.custody_history(tx, volume["id"])}


def label_pdf(repo: Repository, barcodes: list[str]) -> bytes:
    """Chart labels (one a page, 4 x 2 inch label stock): name, MRN, birth date, volume
    number and the Code 39 barcode. Reading the patient for the label is audited."""
    from fpdf import FPDF

    if not barcodes:
        raise BadRequest("no volumes to label")
    with repo.transaction() as tx:
        found = [_volume(tx, b) for b in barcodes]
        patients = {v["patient_id"]: tx.read("Patient", v["patient_id"]) for v in found}
    pdf = FPDF(orientation="L", unit="mm", format=(50.8, 101.6))
    pdf.set_auto_page_break(False)
    for volume in found:
        patient = patients[volume["patient_id"]]
        # Labels print the family name in capitals, as chart folders are filed by it.
        family, _, given = human_name(patient).partition(", ")
        shown = f"{family.upper()}, {given}".strip(", ")
        mrn = mrn_of(patient)
        pdf.add_page()
        pdf.set_font("helvetica", "B", 12)
        pdf.set_xy(4, 4)
        pdf.cell(94, 6, shown.encode("latin-1", "replace").decode("latin-1"))
        pdf.set_font("helvetica", "", 9)
        pdf.set_xy(4, 11)
        pdf.cell(94, 5, f"MRN {mrn}   DOB {patient.get('birthDate', '')}   "
                        f"Vol {volume['volume_no']}")  # fmt: skip
        pdf.code39(f"*{volume['barcode']}*", x=4, y=19, w=0.25, h=18)
        pdf.set_xy(4, 41)
        pdf.cell(94, 5, volume["barcode"])
    return bytes(pdf.output())


def pull_list(repo: Repository, day: date) -> list[dict]:
    """The charts to pull for a day's clinic: every booked or arrived Appointment that day
    (from SIU scheduling messages or REST), with each patient's volumes and where they are
    now. A patient with no paper chart is listed with no volumes (nothing to pull, but the
    clerk sees the visit was checked)."""
    rows: list[dict] = []
    with repo.transaction() as tx:
        # Appointment has no date search parameter in our store yet: read the live ones
        # past the guard and audit, below, exactly the patients listed.
        inside = tx.unguarded()
        found = current_versions(
            inside, [("Appointment", i) for i in live_ids(inside, "Appointment")]
        )
        appointments = sorted(
            (body for _v, body in found.values()
             if body and str(body.get("start", ""))[:10] == day.isoformat()),
            key=lambda a: a.get("start", ""),
        )  # fmt: skip
        for appt in appointments:
            if appt.get("status") not in ("booked", "arrived", "pending", "proposed"):
                continue
            for part in appt.get("participant") or []:
                ref = (part.get("actor") or {}).get("reference") or ""
                if ref.startswith("Patient/"):
                    pid = ref.removeprefix("Patient/")
                    rows.append(
                        {
                            "appointment": appt["id"],
                            "start": appt.get("start"),
                            "patient_id": pid,
                            "volumes": table.list_volumes(tx, patient_id=pid),
                        }
                    )
        if rows:
            tx.note(
                "paper-pull-list",
                [{"resourceType": "Appointment", "id": r["appointment"]} for r in rows],
                f"{len(rows)} appointments on {day}",
            )
    return rows
