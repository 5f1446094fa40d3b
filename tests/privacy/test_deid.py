"""Tests of de-identification (chartkeeper.privacy.deid): HIPAA Safe Harbor, 45 CFR 164.514(b)(2).

Hand-built resources check each identifier kind in structured elements and in free text,
the date rules (year only, or a keyed per-patient shift), ZIP and age rules, pseudonymised
ids and references, validity and what must survive; a few generated patients with planted
identifiers and one store round trip (SQLite and PostgreSQL) check the whole path.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime

import orjson
import pytest

from chartkeeper import synth
from chartkeeper.errors import BadRequest
from chartkeeper.fhir.validation import validate
from chartkeeper.interfaces.bundles import import_paths
from chartkeeper.privacy.deid import (
    PSEUDONYM_SYSTEM,
    REPORT_NAME,
    DeidContext,
    deidentify_resource,
    export_deidentified,
    key_fingerprint,
    new_key,
    parse_key,
    scrub_text,
    zip3,
)
from chartkeeper.synth.modules.planted import PlantedIdentifiers

KEY = b"test-key-for-deid-0123456789abcdef"
AS_OF = date(2026, 1, 15)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(data: str) -> str:
    return base64.b64decode(data).decode()


def patient(pid: str = "mrn-123456", **extra) -> dict:
    res = {
        "resourceType": "Patient",
        "id": pid,
        "text": {"status": "generated", "div": "<div xmlns='http://www.w3.org/1999/xhtml'>x</div>"},
        "identifier": [
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": "urn:oid:1.2.3",
                "value": "87628628",
            },
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "950-37-1738"},
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "DL"}
                    ]
                },
                "value": "TK448812",
            },
        ],
        "name": [{"family": "Gordon", "given": ["Jessica", "Marie"]}],
        "telecom": [
            {"system": "phone", "value": "(614) 555-0102"},
            {"system": "fax", "value": "614-555-0199"},
            {"system": "email", "value": "jessica.gordon42@example.com"},
            {"system": "url", "value": "https://example.org/jgordon"},
        ],
        "gender": "female",
        "birthDate": "1951-05-18",
        "address": [
            {
                "line": ["4693 Park Way", "Apt 4B"],
                "city": "Hilliard",
                "district": "Franklin County",
                "state": "OH",
                "postalCode": "43026",
                "country": "US",
            }
        ],
        "photo": [{"contentType": "image/jpeg", "data": b64("not really a jpeg")}],
        "contact": [
            {
                "relationship": [{"text": "daughter"}],
                "name": {"family": "Ruiz", "given": ["Anneliese"]},
                "telecom": [{"system": "phone", "value": "614-555-0177"}],
            }
        ],
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
                "valueString": "Ward",
            }
        ],
    }
    res.update(extra)
    return res


def note(text: str, pid: str = "mrn-123456", rid: str = "note-1") -> dict:
    return {
        "resourceType": "DocumentReference",
        "id": rid,
        "status": "current",
        "subject": {"reference": f"Patient/{pid}", "display": "Jessica Gordon"},
        "date": "2024-03-14T10:22:00-04:00",
        "author": [{"reference": "Practitioner/dr-1", "display": "Thomas Brandt, MD"}],
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": b64(text),
                    "creation": "2024-03-14T10:22:00-04:00",
                    "url": "https://ehr.example.org/docs/1",
                }
            },
            {"attachment": {"contentType": "image/png", "data": b64("face")}},
        ],
        "context": {"period": {"start": "2024-03-14T09:00:00-04:00", "end": "2024-03-16"}},
    }


@pytest.fixture
def ctx() -> DeidContext:
    context = DeidContext(KEY, as_of=AS_OF)
    context.learn(patient())
    return context


def scrub(text: str, context: DeidContext, pid: str | None = "mrn-123456") -> str:
    return scrub_text(text, context, patient=pid)[0]


# --- structured elements -------------------------------------------------------------------------


def test_patient_structured_identifiers_are_removed_or_generalised(ctx):
    out = deidentify_resource(patient(), ctx)
    validate(out)
    dump = json.dumps(out)
    for secret in (
        "Gordon", "Jessica", "87628628", "950-37-1738", "TK448812", "555-0102", "555-0199",
        "jessica.gordon42", "example.org/jgordon", "4693 Park", "Hilliard", "Franklin",
        "43026", "Ruiz", "Anneliese", "555-0177", "Ward", "mrn-123456", "05-18", "jpeg",
    ):  # fmt: skip
        assert secret.lower() not in dump.lower(), secret
    assert "photo" not in out and "name" not in out
    assert out["text"]["div"].startswith("<div")  # the narrative is scrubbed, not dropped
    assert out["birthDate"] == "1951"
    assert out["address"] == [{"state": "OH", "country": "US", "postalCode": "430"}]
    assert all(i["system"] == PSEUDONYM_SYSTEM for i in out["identifier"])
    assert out["identifier"][0]["type"]["coding"][0]["code"] == "MR"  # what it was stays
    labels = {s["code"] for s in out["meta"]["security"]}
    assert labels == {"PSEUDED", "REDACTED"}
    assert "contact" not in out  # a contact left with a relationship only says nothing


def test_identifier_pseudonyms_link_and_are_keyed(ctx):
    first = deidentify_resource(patient(), ctx)
    again = deidentify_resource(patient(), DeidContext(KEY, as_of=AS_OF))
    other = deidentify_resource(patient(), DeidContext(b"another-key-0123456789", as_of=AS_OF))
    assert first["identifier"] == again["identifier"] and first["id"] == again["id"]
    assert first["identifier"][0]["value"] != other["identifier"][0]["value"]
    assert first["id"] != other["id"]


def test_references_stay_consistent_after_pseudonymisation(ctx):
    pat = deidentify_resource(patient(), ctx)
    obs = {
        "resourceType": "Observation",
        "id": "obs-1",
        "status": "final",
        "code": {"text": "Hgb"},
        "subject": {"reference": "Patient/mrn-123456", "display": "Jessica Gordon"},
        "performer": [{"reference": "http://host/fhir/Practitioner/dr-1/_history/3"}],
        "hasMember": [{"reference": "urn:uuid:0f8c6a1e-0000-4000-8000-000000000001"}],
        "derivedFrom": [{"reference": "Observation?identifier=urn:oid:1.2|MRN87628628"}],
        "focus": [{"reference": "#contained-1"}],
    }
    out = deidentify_resource(obs, ctx)
    validate(out)
    assert out["subject"] == {"reference": f"Patient/{pat['id']}"}  # display (a name) gone
    assert out["performer"][0]["reference"] == "http://host/fhir/Practitioner/" + ctx.pseudonym_id(
        "dr-1"
    )
    member_id = "0f8c6a1e-0000-4000-8000-000000000001"
    member = {
        "resourceType": "Observation",
        "id": member_id,
        "status": "final",
        "code": {"text": "x"},
    }
    member = deidentify_resource(member, ctx)
    assert out["hasMember"][0]["reference"] == f"urn:uuid:{member['id']}"
    assert out["derivedFrom"] == [{"display": "[REDACTED]"}]  # a conditional ref holds an MRN
    assert out["focus"][0]["reference"] == "#contained-1"


def test_clinician_names_stay_in_practitioner_resources(ctx):
    doctor = {
        "resourceType": "Practitioner",
        "id": "dr-1",
        "name": [{"family": "Brandt", "given": ["Thomas"], "suffix": ["MD"]}],
        "telecom": [{"system": "phone", "value": "(614) 555-0110", "use": "work"}],
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "9999901009"}],
    }
    out = deidentify_resource(doctor, ctx)
    assert out["name"] == doctor["name"] and out["identifier"] == doctor["identifier"]
    assert out["id"] == ctx.pseudonym_id("dr-1")


def test_note_attachment_is_decoded_scrubbed_and_reencoded(ctx):
    text = (
        "Patient: Jessica Gordon    MRN: 87628628    DOB: 05/18/1951\n"
        "Seen 03/14/2024 by Dr. Okafor. Daughter Anneliese Ruiz called from 614-555-0177.\n"
        "Hgb 13.5 g/dL, lisinopril 10 mg daily, BP 120/80, E11.9."
    )
    out = deidentify_resource(note(text), ctx)
    validate(out)
    body = unb64(out["content"][0]["attachment"]["data"])
    for secret in (
        "Jessica",
        "Gordon",
        "87628628",
        "05/18",
        "03/14",
        "Okafor",
        "Anneliese",
        "Ruiz",
        "0177",
    ):
        assert secret not in body, secret
    for kept in (
        "Hgb 13.5 g/dL",
        "lisinopril 10 mg daily",
        "BP 120/80",
        "E11.9",
        "[DATE 2024]",
        "Dr. [NAME]",
    ):
        assert kept in body, kept
    attachment = out["content"][0]["attachment"]
    assert "url" not in attachment and attachment["creation"] == "2024"
    assert attachment["size"] == len(body.encode())
    assert out["content"][1]["attachment"] == {"contentType": "image/png"}  # a photo goes
    assert "display" not in out["subject"]
    assert out["author"][0]["display"] == "Thomas Brandt, MD"  # a clinician, structured
    assert "date" not in out  # an optional instant cannot hold a bare year
    assert out["context"]["period"] == {"start": "2024", "end": "2024"}


# --- free text, kind by kind ---------------------------------------------------------------------

TEXT_CASES = [
    ("name", "Her husband Tomasz Przybylski drove her in.", "Tomasz Przybylski"),
    ("name", "Mrs. Abernathy reports no pain.", "Abernathy"),
    ("name", "Re: GORDON, JESSICA", "GORDON, JESSICA"),
    ("name", "Electronically signed by Omar Haddad, MD", "Omar Haddad"),
    ("name", "Linda Carter came with her.", "Linda Carter"),
    ("address", "Lives at 1200 Olentangy River Rd, Apt 4B.", "1200 Olentangy River Rd"),
    ("address", "Mail to PO Box 4471.", "PO Box 4471"),
    ("location", "She lives in Worthington with her son.", "Worthington"),
    ("location", "Moved from Dublin, OH 43017 last year.", "Dublin"),
    ("location", "Resident of Franklin County.", "Franklin County"),
    ("zip", "ZIP code 43215.", "43215"),
    ("date", "Admitted March 14, 2024 and discharged 3/16/24.", "March 14"),
    ("date", "Surgery on 14-MAR-2024.", "14-MAR-2024"),
    ("date", "Imaging 2024-03-14T10:22:00Z.", "2024-03-14"),
    ("date", "Follow-up on the 2nd of April.", "2nd of April"),
    ("age", "A 93-year-old man.", "93"),
    ("age", "Her grandmother, age 101, lives with them.", "101"),
    ("phone", "Call (614) 555-0147 or +1 614 555 0148.", "555-0147"),
    ("phone", "Cell: 6145550149.", "6145550149"),
    ("fax", "Fax: 614.555.0150", "614.555.0150"),
    ("email", "Write to j.doe+x@example.net.", "j.doe+x@example.net"),
    ("email", "Prefers jdoe at example dot com.", "jdoe at example dot com"),
    ("ssn", "SSN 950-37-1738 on file.", "950-37-1738"),
    ("ssn", "Social security number 950371738.", "950371738"),
    ("mrn", "MR# 00123456 confirmed.", "00123456"),
    ("plan", "Member ID XJH448812901, Medicare MBI 1EG4-TE5-MK73.", "XJH448812901"),
    ("plan", "Medicare MBI 1EG4-TE5-MK73.", "1EG4-TE5-MK73"),
    ("account", "Account number 44881207-31.", "44881207-31"),
    ("license", "Driver's license OH TK448812 scanned.", "TK448812"),
    ("license", "Birth certificate number 1951-OH-448812.", "1951-OH-448812"),
    ("vehicle", "VIN 1HGCM82633A004352, license plate HZB-4417.", "HZB-4417"),
    ("vehicle", "Car VIN 1HGCM82633A004352.", "1HGCM82633A004352"),
    ("device", "Pacemaker serial number PJN882133H checked.", "PJN882133H"),
    ("device", "Pump S/N 44-1882-7A.", "44-1882-7A"),
    ("url", "Portal: https://portal.example.org/p/4821?x=1.", "portal.example.org"),
    ("url", "See www.example.com/gordon for photos.", "www.example.com/gordon"),
    ("ip", "Uploaded from 192.0.2.44 and 2001:db8::17.", "192.0.2.44"),
    ("ip", "Uploaded from 2001:db8::17.", "2001:db8::17"),
    ("biometric", "Fingerprint ID FP-88213-X enrolled.", "FP-88213-X"),
    ("id", "Accession: SP-21-38826.", "SP-21-38826"),
]


@pytest.mark.parametrize(("kind", "text", "secret"), TEXT_CASES)
def test_text_identifiers_by_kind(ctx, kind, text, secret):
    new, findings = scrub_text(text, ctx, patient="mrn-123456")
    assert secret not in new, new
    assert kind in {f.kind for f in findings}, findings


def test_known_identifiers_of_the_patient_are_found_in_any_form(ctx):
    text = "jessica called from 614 555 0102; her SSN 950371738; lives on 4693 park way in hilliard"
    new = scrub(text, ctx)
    for secret in ("jessica", "0102", "950371738", "4693", "hilliard"):
        assert secret not in new.lower(), new


def test_clinical_content_survives(ctx):
    text = (
        "ICD-10 E11.9 and I10. Hgb 13.5 g/dL, A1c 7.2%, LDL 104 mg/dL, K 4.1, INR 2.3. "
        "Metformin 500 mg twice daily; lisinopril 10 mg. BP 120/80, HR 88, Temp 98.6 F, "
        "SpO2 97%. pT3 pN0, 0 of 15 lymph nodes, grade 2. Smoker until 2019. A 67-year-old "
        "woman with Hodgkin lymphoma, Crohn disease and Grave's disease; Gram stain negative; "
        "Foley removed. Follow up in 2 weeks. CPT 99213, LOINC 4548-4. General: alert."
    )
    new, findings = scrub_text(text, ctx, patient="mrn-123456")
    assert new == text, findings


# --- dates, ZIP codes, ages ----------------------------------------------------------------------


def test_text_dates_become_years_in_many_formats(ctx):
    text = (
        "03/14/2024; 3/14/24; March 14, 2024; 14 Mar 2024; 2024-03-14; Mar. 14th 2024; March 2024"
    )
    new = scrub(text, ctx)
    assert new == "; ".join(["[DATE 2024]"] * 7)
    assert scrub("Seen on March 14 and on 3/14.", ctx) == "Seen on [DATE] and on [DATE]."
    # A year that old points to an age of 90 or more: suppressed too (164.514(b)(2)(i)(C)).
    assert scrub("Born 05/18/1931.", ctx) == "Born [DATE]."
    assert scrub("Quit smoking in 2019.", ctx) == "Quit smoking in 2019."


def test_zip_codes_keep_three_digits_unless_restricted(ctx):
    assert zip3("43026") == "430" and zip3("43026-1234") == "430"
    assert zip3("83001") == "000" and zip3("03601") == "000" and zip3("89301") == "000"
    assert zip3("K1A 0B1") is None
    assert "[ZIP 000]" in scrub("Previously lived in Jackson, WY 83001.", ctx)
    addr = deidentify_resource(patient(address=[{"state": "WY", "postalCode": "83001"}]), ctx)
    assert addr["address"] == [{"state": "WY", "postalCode": "000"}]


def test_ages_over_89_are_aggregated_in_text_and_birth_date():
    context = DeidContext(KEY, as_of=AS_OF)
    old = patient("old-1", birthDate="1931-02-03")
    context.learn(old)
    out = deidentify_resource(old, context)
    validate(out)
    assert "birthDate" not in out
    assert out["_birthDate"]["extension"][0]["valueCode"] == "masked"
    assert {"url": "urn:chartkeeper:deid:age-category", "valueString": "90 or older"} in out[
        "extension"
    ]
    young = deidentify_resource(patient("young-1", birthDate="1950-02-03"), context)
    assert young["birthDate"] == "1950"
    assert scrub("A 94 yo man, aged 91; his son is 67 years old.", context, "old-1") == (
        "A [AGE 90+] yo man, aged [AGE 90+]; his son is 67 years old."
    )
    onset = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/old-1"},
        "onsetAge": {
            "value": 92,
            "unit": "years",
            "system": "http://unitsofmeasure.org",
            "code": "a",
        },
    }
    assert deidentify_resource(onset, context)["onsetAge"]["comparator"] == ">="


def _shift_context(key: bytes = KEY) -> DeidContext:
    context = DeidContext(key, date_shift=True, as_of=AS_OF)
    for pid in ("p-a", "p-b", "p-c", "p-d"):
        context.learn(patient(pid))
    return context


def _encounter(pid: str) -> dict:
    return {
        "resourceType": "Encounter",
        "id": f"enc-{pid}",
        "status": "finished",
        "class": {"code": "IMP"},
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": "2024-03-14T09:00:00-04:00", "end": "2024-03-20T11:30:00-04:00"},
    }


def test_date_shift_is_consistent_per_patient_and_keeps_intervals():
    context = _shift_context()
    offset = context.shift_days("p-a")
    assert offset != 0 and abs(offset) <= 365
    pat = deidentify_resource(patient("p-a"), context)
    enc = deidentify_resource(_encounter("p-a"), context)
    validate(pat)
    validate(enc)
    born = date.fromisoformat(pat["birthDate"])
    assert (born - date(1951, 5, 18)).days == offset
    start = datetime.fromisoformat(enc["period"]["start"])
    end = datetime.fromisoformat(enc["period"]["end"])
    assert (start.date() - date(2024, 3, 14)).days == offset
    assert end - start == datetime(2024, 3, 20, 11, 30) - datetime(2024, 3, 14, 9, 0)
    assert enc["period"]["start"].endswith("T09:00:00-04:00")  # time of day kept
    # The same offset in free text, written in the style it was found in.
    moved = date(2024, 3, 14).toordinal() + offset
    expected = date.fromordinal(moved)
    text = scrub("Admitted 03/14/2024.", context, "p-a")
    assert text == f"Admitted {expected:%m/%d/%Y}."


def test_date_shift_differs_between_patients_and_keys_and_is_stable():
    context = _shift_context()
    offsets = {pid: context.shift_days(pid) for pid in ("p-a", "p-b", "p-c", "p-d")}
    assert len(set(offsets.values())) > 1
    assert offsets == {pid: _shift_context().shift_days(pid) for pid in offsets}
    other = _shift_context(b"a-different-key-0123456789")
    assert offsets != {pid: other.shift_days(pid) for pid in offsets}


def test_dates_without_a_patient_keep_the_year_in_shift_mode():
    context = _shift_context()
    spec = {"resourceType": "Specimen", "id": "s1", "receivedTime": "2024-03-14T10:00:00Z"}
    assert deidentify_resource(spec, context)["receivedTime"] == "2024"


# --- unhappy paths -------------------------------------------------------------------------------


def test_unruled_resource_types_still_get_their_text_scrubbed(ctx):
    basic = {
        "resourceType": "Basic",
        "id": "b1",
        "code": {"text": "Call Jessica Gordon at 614-555-0102"},
        "subject": {"reference": "Patient/mrn-123456"},
        "created": "2024-03-14",
        "extension": [{"url": "urn:x", "valueString": "SSN 950-37-1738, seen March 3, 2024"}],
    }
    impression = {
        "resourceType": "ClinicalImpression",
        "id": "ci1",
        "status": "completed",
        "subject": {"reference": "Patient/mrn-123456"},
        "summary": "Mrs. Gordon, MRN 87628628, doing well; daughter Anneliese visits.",
        "note": [
            {"authorString": "Anneliese Ruiz", "text": "Lives in Hilliard.", "time": "2024-03-14"}
        ],
    }
    for res in (basic, impression):
        out = deidentify_resource(res, ctx)
        validate(out)
        dump = json.dumps(out)
        for secret in (
            "Jessica",
            "Gordon",
            "0102",
            "1738",
            "March",
            "87628628",
            "Anneliese",
            "Hilliard",
            "03-14",
        ):
            assert secret not in dump, (secret, dump)


def test_security_logs_are_not_exported(ctx):
    audit = {"resourceType": "AuditEvent", "id": "a1", "recorded": "2024-03-14T10:00:00Z"}
    assert deidentify_resource(audit, ctx) is None


@pytest.mark.parametrize(
    "key", [b"short", "a-string-key-0123456789", b"a" * 32, None, bytes(range(3)) * 10]
)
def test_invalid_keys_are_refused(key):
    with pytest.raises(BadRequest):
        DeidContext(key)


def test_keys_parse_from_hex_or_base64_and_fingerprints_hide_them():
    hex_key = new_key()
    key = parse_key(hex_key)
    assert len(key) == 32 and parse_key(base64.b64encode(key).decode()) == key
    assert hex_key not in key_fingerprint(key) and len(key_fingerprint(key)) == 16
    with pytest.raises(BadRequest):
        parse_key("not a key!")
    with pytest.raises(BadRequest):
        DeidContext(KEY, method="expert-determination")


# --- generated patients and the store ------------------------------------------------------------


@pytest.fixture(scope="module")
def planted_cohort() -> tuple[list[dict], list[dict]]:
    side: list[dict] = []
    modules = [*synth.default_modules(), PlantedIdentifiers(share=1.0)]
    bundles = list(
        synth.generate(
            3,
            seed=11,
            modules=modules,
            side=lambda s, r: side.append(r) if s == "planted_identifiers" else None,
        )
    )
    return bundles, side


@pytest.mark.parametrize("date_shift", [False, True])
def test_generated_patients_validate_and_lose_planted_identifiers(planted_cohort, date_shift):
    bundles, side = planted_cohort
    truth = {}
    for record in side:
        truth.setdefault(record["id"], []).extend(record["identifiers"])
    context = DeidContext(KEY, date_shift=date_shift, as_of=AS_OF)
    resources = [e["resource"] for b in bundles for e in b["entry"]]
    for res in resources:
        context.learn(res)
    planted = left = 0
    for res in resources:
        out = deidentify_resource(res, context)
        validate(out)
        texts = [json.dumps(out)]
        texts += [
            unb64(c["attachment"]["data"])
            for c in out.get("content", [])
            if "data" in c["attachment"]
        ]
        texts += [unb64(f["data"]) for f in out.get("presentedForm", [])]
        for item in truth.get(res["id"], []):
            if item["kind"] == "age" or len(item["text"]) < 5:
                continue
            planted += 1
            left += any(item["text"] in t for t in texts)
        if res["resourceType"] == "Patient":
            assert "name" not in out and "telecom" not in out
    assert planted > 100
    assert left / planted < 0.03, left


def test_export_from_the_store_is_deidentified_linked_and_reported(repo, tmp_path):
    bundles = list(synth.generate(2, seed=5))
    paths = []
    for i, bundle in enumerate(bundles):
        path = tmp_path / ("facility.json" if i == 0 else f"p{i}.json")
        path.write_bytes(orjson.dumps(bundle))
        paths.append(path)
    assert import_paths(repo, paths).ok
    audit = {
        "resourceType": "AuditEvent",
        "id": "audit-event-0001",
        "type": {"code": "rest"},
        "recorded": "2024-03-14T10:00:00Z",
        "agent": [{"requestor": True}],
        "source": {"observer": {"display": "x"}},
    }
    with repo.transaction() as tx:
        tx.update(audit)
    out = tmp_path / "out"
    ticks = []
    report = export_deidentified(
        repo, out, key=KEY, on_resource=lambda: ticks.append(1), as_of=AS_OF
    )
    assert report.invalid == [] and report.dropped == {"AuditEvent": 1}
    assert len(ticks) == report.total + 1
    exported: dict[tuple[str, str], dict] = {}
    for path in out.glob("*.ndjson"):
        for line in path.read_text().splitlines():
            res = json.loads(line)
            validate(res)
            exported[(res["resourceType"], res["id"])] = res
    assert sum(report.resources.values()) == len(exported)
    stored_ids = set()
    with repo.reading() as tx:
        for rtype in tx.resource_types():
            stored_ids |= {json.loads(c)["id"] for c in tx.iter_content(rtype)}
    dump = "\n".join(p.read_text() for p in out.glob("*.ndjson"))
    assert not any(rid in dump for rid in stored_ids)  # every real id replaced
    for res in exported.values():  # and every reference still resolves inside the export
        for ref in _references(res):
            rtype, rid = ref.split("/")[-2:]
            assert (rtype, rid) in exported, ref
    written = json.loads((out / REPORT_NAME).read_text())
    assert written["key_fingerprint"] == key_fingerprint(KEY)
    assert KEY.decode() not in (out / REPORT_NAME).read_text()
    assert written["method"] == "safe-harbor" and written["date_shift"] is False
    assert written["removed"]["structured"]["name"] >= 2
    assert written["removed"]["free_text"]["name"] > 0


def _references(node) -> list[str]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str) and not node["reference"].startswith("#"):
            found.append(node["reference"])
        for value in node.values():
            found += _references(value)
    elif isinstance(node, list):
        for value in node:
            found += _references(value)
    return found
