"""The message types added for issue 14: MDM T03-T11, SIU S13-S26, OML, BAR, DFT, PPR."""

from __future__ import annotations

from hl7_as_sent import AIL, DG1, FT1, OBR_ORDER, ORC, PR1, PRB, SCH, _message, _pid, _pv1, mdm

from chartkeeper.interfaces.hl7v2 import process_message


def _written(repo, ack, resource_type: str) -> list[dict]:
    found = [r.split("/") for r in ack.resources if r.startswith(resource_type + "/")]
    return [repo.vread(t, i, int(v)) for t, i, _, v in found]


def _one(repo, ack, resource_type: str) -> dict:
    assert ack.code == "AA", ack.text
    [resource] = _written(repo, ack, resource_type)
    return resource


def _with_parent(raw: str, parent: str) -> str:
    return raw.replace("||||||AU||AV", f"|{parent}^SMH|||||AU||AV", 1)


def test_mdm_addendum_replacement_status_and_cancel(repo):
    original = _one(repo, process_message(repo, mdm("T02", "M01")), "DocumentReference")
    assert original["status"] == "current"
    # T06: an addendum (its own number) appending to the original
    addendum = _one(
        repo, process_message(repo, _with_parent(mdm("T06", "M02"), "DOCM01")), "DocumentReference"
    )
    assert addendum["id"] != original["id"]
    assert addendum["relatesTo"] == [
        {"code": "appends", "target": {"reference": f"DocumentReference/{original['id']}"}}
    ]
    # T10: a replacement; the original becomes superseded in the same message
    ack = process_message(repo, _with_parent(mdm("T10", "M03"), "DOCM01"))
    assert ack.code == "AA", ack.text
    replaced = repo.read("DocumentReference", original["id"])
    assert replaced["status"] == "superseded"
    # T03: status change of the replacement without content keeps its content
    replacement = repo.search(
        "DocumentReference", [("_id", _written(repo, ack, "DocumentReference")[0]["id"])]
    )
    assert replacement.total == 1
    # T11: cancel -> entered-in-error
    cancelled = _one(
        repo,
        process_message(repo, mdm("T11", "M01").replace("|M01|", "|M04|", 1)),
        "DocumentReference",
    )
    assert cancelled["id"] == original["id"] and cancelled["status"] == "entered-in-error"
    assert cancelled["content"][0]["attachment"].get("data")  # content kept


def test_mdm_t04_without_content_is_refused(repo):
    raw = "\r".join(line for line in mdm("T04", "M05").split("\r") if not line.startswith("OBX"))
    ack = process_message(repo, raw)
    assert ack.code == "AE" and "OBX" in ack.text


def test_siu_cancellation_with_only_the_booking(repo):
    booked = _one(
        repo,
        process_message(repo, _message("SIU^S12^SIU_S12", "S01", SCH, _pid(), AIL)),
        "Appointment",
    )
    assert booked["status"] == "booked"
    # S15 naming only SCH (no SCH-25): cancelled, participants as stored
    cancel = _message("SIU^S15^SIU_S15", "S02", SCH.replace("|Booked", "|"))
    appointment = _one(repo, process_message(repo, cancel), "Appointment")
    assert appointment["status"] == "cancelled"
    assert appointment["participant"] == booked["participant"]
    noshow = _message("SIU^S26^SIU_S26", "S03", SCH.replace("|Booked", "|"))
    assert _one(repo, process_message(repo, noshow), "Appointment")["status"] == "noshow"


def test_oml_order(repo):
    raw = _message("OML^O21^OML_O21", "L01", _pid(), _pv1(), ORC, OBR_ORDER)
    request = _one(repo, process_message(repo, raw), "ServiceRequest")
    assert request["code"]["coding"][0]["code"] == "57021-8"
    assert request["status"] == "active"


def test_bar_account_diagnoses_procedures_and_closing(repo):
    raw = _message("BAR^P01^BAR_P01", "B01", "EVN|P01|20230616", _pid(), _pv1(), DG1, PR1)
    ack = process_message(repo, raw)
    account = _one(repo, ack, "Account")
    assert account["status"] == "active" and account["identifier"][0]["value"] == "ACCTE4401"
    condition = _one(repo, ack, "Condition")
    assert condition["code"]["coding"][0]["code"] == "I21.4"
    assert condition["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    assert condition["encounter"]["reference"].startswith("Encounter/")
    procedure = _one(repo, ack, "Procedure")
    assert procedure["code"]["coding"][0]["code"] == "0270346"
    assert procedure["performer"][0]["function"] == {"text": "surgeon"}
    # P12 re-sending the same codes updates, never duplicates
    again = _message("BAR^P12^BAR_P12", "B02", "EVN|P12|20230617", _pid(), _pv1(), DG1, PR1)
    assert process_message(repo, again).code == "AA"
    assert repo.search("Condition").total == 1 and repo.search("Procedure").total == 1
    end = _message("BAR^P06^BAR_P06", "B03", "EVN|P06|20230620", _pid(), _pv1())
    assert _one(repo, process_message(repo, end), "Account")["status"] == "inactive"


def test_dft_charge(repo):
    raw = _message("DFT^P03^DFT_P03", "F01", "EVN|P03|20230616", _pid(), _pv1(), FT1)
    ack = process_message(repo, raw)
    charge = _one(repo, ack, "ChargeItem")
    assert charge["status"] == "billable"
    assert charge["code"]["coding"][0]["code"] == "93458"
    assert charge["priceOverride"] == {"value": 1250.0, "currency": "USD"}
    assert charge["quantity"] == {"value": 1}
    assert charge["reason"][0]["coding"][0]["code"] == "I21.4"
    assert charge["account"][0]["reference"].startswith("Account/")
    assert charge["identifier"][0]["value"] == "TX881"
    no_charges = _message("DFT^P03^DFT_P03", "F02", "EVN|P03|20230616", _pid(), _pv1())
    assert process_message(repo, no_charges).code == "AE"


def test_ppr_problem_add_update_delete(repo):
    add = _message("PPR^PC1^PPR_PC1", "P01", _pid(), PRB, "NTE|1||Home readings high")
    problem = _one(repo, process_message(repo, add), "Condition")
    assert problem["clinicalStatus"]["coding"][0]["code"] == "active"
    assert problem["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert (
        problem["onsetDateTime"] == "2020-01-01"
        and problem["note"][0]["text"] == "Home readings high"
    )
    resolved = PRB.replace("|||20230614||||||C|A|", "|||20230614||20230701||||C|R|")
    update = _message("PPR^PC2^PPR_PC2", "P02", _pid(), resolved)
    problem = _one(repo, process_message(repo, update), "Condition")
    assert problem["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert problem["abatementDateTime"] == "2023-07-01"
    delete = _message("PPR^PC3^PPR_PC3", "P03", _pid(), PRB)
    problem = _one(repo, process_message(repo, delete), "Condition")
    assert problem["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    assert "clinicalStatus" not in problem  # con-5
    unknown = _message("PPR^PC3^PPR_PC3", "P04", _pid(), PRB.replace("PRB77", "PRB99"))
    assert process_message(repo, unknown).code == "AE"
