"""Free-text de-identification of terse nursing-style notes, with the Census gazetteers.

Every note here is SELF-WRITTEN and synthetic (names from the Census lists, places and
hospitals invented or generic); the independent figures come from bench/deid_corpus.py.
The gazetteer is built once from ../shared/data/reference/names-places (skipped when the
folder is absent) and cached under pytest's cache dir; building it also tests `build`.
"""

from __future__ import annotations

import fcntl
import os
from datetime import date
from pathlib import Path

import pytest

from chartkeeper.privacy.deid import DeidContext, deidentify_resource, scrub_text
from chartkeeper.privacy.deid.gazetteer import FILE_NAME, Gazetteer, build, load_gazetteer
from support import SHARED_DATA

KEY = b"chartkeeper-test-deid-notes-key!"
AS_OF = date(2026, 1, 15)


def _reference() -> Path:
    for base in (os.environ.get("CHARTKEEPER_TEST_REFERENCE"), SHARED_DATA / "reference"):
        if base and (Path(base) / "names-places" / "last-name.csv").exists():
            return Path(base) / "names-places"
    pytest.skip("names-places reference folder not present")


@pytest.fixture(scope="session")
def gazetteer(request) -> Gazetteer:
    folder = _reference()
    cache = Path(request.config.cache.mkdir("deid-gazetteer"))
    stamp = max(p.stat().st_mtime_ns for p in folder.iterdir())
    path = cache / f"{stamp}-{FILE_NAME}"
    with (cache / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers: one builds, the other waits
        if not path.exists():
            build(folder).save(path)
    os.environ["CHARTKEEPER_DEID_GAZETTEER"] = str(path)
    try:
        return load_gazetteer()
    finally:
        del os.environ["CHARTKEEPER_DEID_GAZETTEER"]


@pytest.fixture
def ctx(gazetteer) -> DeidContext:
    return DeidContext(KEY, as_of=AS_OF, gazetteer=gazetteer)


def scrubbed(text: str, context: DeidContext) -> tuple[str, list[str]]:
    clean, findings = scrub_text(text, context)
    return clean, [f.kind for f in findings]


# --- each identifier kind, upper and lower case ---------------------------------------------------

CASES = [
    # (note, identifiers that must go, kind of the first)
    ("PT SEEN BY DR KOWALSKI THIS AM.", ["KOWALSKI"], "name"),
    ("pt seen by dr kowalski this am.", ["kowalski"], "name"),
    ("DTR MARY CALLED X2, UPDATED ON POC.", ["MARY"], "name"),
    ("dtr mary called x2, updated on poc.", ["mary"], "name"),
    ("WIFE LINDA AT BEDSIDE, SON NGUYEN TO VISIT.", ["LINDA", "NGUYEN"], "name"),
    ("Spoke with Margaret Oyelaran RN re: plan.", ["Margaret Oyelaran"], "name"),
    ("SPOKE WITH HCP ROBERT GARCIA.", ["ROBERT GARCIA"], "name"),
    ("HAD BIOPSY 7/22, RESULTS PENDING.", ["7/22"], "date"),
    ("had biopsy 7/22, results pending.", ["7/22"], "date"),
    ("SEEN 22-JUL AND AGAIN JULY 29TH.", ["22-JUL", "JULY 29TH"], "date"),
    ("seen 22-jul and again july 29th.", ["22-jul", "july 29th"], "date"),
    ("WENT HOME FOR CHRISTMAS, BACK ON THE 28TH.", ["CHRISTMAS", "28TH"], "date"),
    ("Admitted 07/22/03 from ED.", ["07/22/03"], "date"),
    ("CALL RESIDENT AT X4321 OR (617)555-1212.", ["4321", "(617)555-1212"], "phone"),
    ("call resident at x4321 or 555-1212.", ["4321", "555-1212"], "phone"),
    ("home phone 555 1212", ["555 1212"], "phone"),
    ("PAGER 23456 IF SBP <90.", ["23456"], "phone"),
    ("93 YO F ADMITTED WITH UROSEPSIS.", ["93"], "age"),
    ("pt is a 96 year old man.", ["96"], "age"),
    ("TRANSFERRED FROM HEYWOOD HOSPITAL ON LEVOPHED.", ["HEYWOOD HOSPITAL"], "location"),
    ("transferred from heywood hospital on levophed.", ["heywood hospital"], "location"),
    ("Pt lives in Framingham with wife.", ["Framingham"], "location"),
    ("PT FROM FRAMINGHAM, LIVES ALONE.", ["FRAMINGHAM"], "location"),
    ("MRN 4417729 VERIFIED.", ["4417729"], "mrn"),
    ("CXR of 7/22 unchanged; seen 4/10 by ortho.", ["7/22", "4/10"], "date"),
    ("Seen at Boston General Hospital, then Elm Street Clinic.", ["Boston", "Elm"], "location"),
    ("Lives at 12 Elm St, Quincy.", ["12 Elm St", "Quincy"], "address"),
    ("BILL CALLED AT 1400, UPDATED.", ["BILL"], "name"),
    ("Insurance: HPB-654321, policy on file.", ["654321"], "id"),
]


@pytest.mark.parametrize(("note", "secrets", "kind"), CASES)
def test_each_identifier_kind_in_upper_and_lower_case(ctx, note, secrets, kind):
    clean, kinds = scrubbed(note, ctx)
    for secret in secrets:
        assert secret not in clean, (note, clean)
    assert kind in kinds, (note, kinds)


# --- clinical vocabulary stays ---------------------------------------------------------------------

KEPT = [
    "FOLEY D/C'D, VOIDING QS. SWAN IN PLACE, CVP 12.",
    "foley draining clear yellow urine. swan-ganz wedged at 18.",
    "HX PARKINSON'S, BELL'S PALSY, HODGKIN LYMPHOMA 1998.",
    "Hx Parkinson's disease, on Sinemet. Murphy sign negative.",
    "LASIX 40MG IV GIVEN WITH GOOD UOP. K 3.5, MG 1.9.",
    "Pt walked in hall x2 with PT. Brown stool, guaiac negative.",
    "MAE, 5/5 STRENGTH, PAIN 4/10, BP 120/80, GIVEN 1/2 TAB.",
    "NEURO: A+OX3, PERRL. CV: NSR 80S. RESP: LUNGS CLEAR, SATS 97% ON 2L NC.",
    "Family meeting held re: goals of care, DNR/DNI.",
    "Coumadin held for INR 3.2. Heparin gtt at 1000 units/hr.",
    "Will continue to monitor. Mark on L forearm, no drainage.",
    "GRACE SCORE CALCULATED. WHITE COUNT 12.",
    "c/o 6/10 abd pain, pain now 4/10 after dilaudid. Endo and neph following.",
    "LUNG FIELDS CLEAR, MARKS ON ABD FROM INSULIN, FLOWERS AT BEDSIDE.",
    "Hx Lyme disease, Wilson's disease, Stevens-Johnson syndrome; Framingham risk score 12%.",
    "chaplain visited. pharmacy called re: vanco trough. SW following.",
]


def test_relation_words_stay_when_the_name_goes(ctx):
    clean, _ = scrubbed("HUSBAND JOHN IN TO VISIT. MRS KOWALSKI CALLED.", ctx)
    assert clean == "HUSBAND [NAME] IN TO VISIT. MRS [NAME] CALLED.", clean


@pytest.mark.parametrize("note", KEPT)
def test_clinical_words_that_look_like_names_are_kept(ctx, note):
    clean, kinds = scrubbed(note, ctx)
    assert clean == note, kinds


def test_precision_on_a_clinical_paragraph(ctx):
    """A paragraph of clinical words only: nothing removed, upper or lower case."""
    text = " ".join(KEPT)
    for variant in (text, text.upper(), text.lower()):
        clean, kinds = scrubbed(variant, ctx)
        assert kinds == [], (kinds, clean)


def test_a_whole_nursing_note(ctx):
    note = (
        "NPN 7P-7A\n"
        "NEURO: A+OX3, MAE. PT'S DTR JOANNE CALLED @ 2100, UPDATED BY THIS RN.\n"
        "CV: NSR 70S-80S, BP 110-130/60S. LASIX 20MG IV X1 @ 2200.\n"
        "RESP: LS COARSE, SATS 95% ON 4L NC.\n"
        "SOCIAL: LIVES IN FRAMINGHAM W/ HUSBAND WALTER. PCP DR. OYELARAN (617)555-0143.\n"
        "PLAN: ? D/C TO HEYWOOD REHAB 7/24. FAMILY MTG 7/23 W/ DR MCALLISTER.\n"
    )
    clean, _ = scrubbed(note, ctx)
    for secret in (
        "JOANNE", "FRAMINGHAM", "WALTER", "OYELARAN", "555-0143", "HEYWOOD", "7/24", "7/23",
        "MCALLISTER",
    ):  # fmt: skip
        assert secret not in clean, clean
    for kept in ("LASIX 20MG", "NSR 70S-80S", "SATS 95%", "4L NC", "2100", "2200"):
        assert kept in clean


def test_without_a_gazetteer_the_scrubber_still_works():
    """Degraded: the built-in lists still catch titled names, patterns and dates."""
    context = DeidContext(KEY, as_of=AS_OF)
    clean, kinds = scrubbed("Seen by Dr. Kowalski on 7/22, call 617-555-0143.", context)
    assert "Kowalski" not in clean and "7/22" not in clean and "555-0143" not in clean
    assert {"name", "date", "phone"} <= set(kinds)


# --- narratives -------------------------------------------------------------------------------------


def test_narrative_is_scrubbed_not_dropped(ctx):
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "Parkinson's disease"},
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p title="Ana Kowalski">'
            "Dx by <b>Dr. Oyelaran</b> Kowalski on 7/22 at Heywood Hospital; "
            "Parkinson&apos;s disease.</p></div>",
        },
    }
    out = deidentify_resource(condition, ctx)
    div = out["text"]["div"]
    assert div.startswith('<div xmlns="http://www.w3.org/1999/xhtml"><p>'), div
    for secret in ("Oyelaran", "Kowalski", "7/22", "Heywood", "Ana"):
        assert secret not in div, div
    assert "Parkinson's disease" in div and "<b>" in div


# --- HL7 v2 OBX text and DocumentReference attachments ----------------------------------------------

_MDM = (
    "\r".join(
        [
            "MSH|^~\\&|NURSING|GOOD HEALTH|CHARTKEEPER|CK|20240722083000-0500||MDM^T02^MDM_T02|N1|P|2.5.1",
            "EVN|T02|20240722083000",
            "PID|1||MRN4417^^^GHH&2.16.840.1.113883.19.5&ISO^MR||Zylstra^Edna^M||19400102|F",
            "PV1|1|I|4E^401^B^GHH",
            "TXA|1|PN^Progress note^HL70270|TX|||20240722080000||||||NPN-7^GHH|||||AU",
            "OBX|1|TX|11506-3^Progress note^LN||NEURO: A+OX3. PT'S DTR JOANNE CALLED 7/22.||||||F",
            "OBX|2|TX|11506-3^Progress note^LN||TRANSFERRED FROM HEYWOOD HOSPITAL. LASIX 20MG IV.||||||F",
            "OBX|3|TX|11506-3^Progress note^LN||CALL DR OYELARAN X4321 W/ QUESTIONS.||||||F",
        ]
    )
    + "\r"
)


def test_hl7_obx_note_text_is_scrubbed_by_the_same_engine_on_export(repo, gazetteer, tmp_path):
    import base64
    import json

    from chartkeeper.interfaces.hl7v2 import process_message
    from chartkeeper.privacy.deid import export_deidentified

    assert process_message(repo, _MDM).code == "AA"
    out = tmp_path / "out"
    export_deidentified(repo, out, key=KEY, as_of=AS_OF, gazetteer=gazetteer)
    docs = [
        json.loads(line) for line in (out / "DocumentReference.ndjson").read_text().splitlines()
    ]
    texts = [
        base64.b64decode(c["attachment"]["data"]).decode()
        for d in docs
        for c in d["content"]
        if "data" in c["attachment"]
    ]
    assert texts, docs
    note = "\n".join(texts)
    for secret in ("JOANNE", "7/22", "HEYWOOD", "OYELARAN", "4321", "Zylstra", "ZYLSTRA"):
        assert secret not in note, note
    assert "LASIX 20MG IV" in note and "A+OX3" in note
