"""The CaseAbstract: a hospital abstract of NAACCR v26 items for one registry case,
prefilled from the record and finished by the registrar.

Prefill (what a registrar would otherwise copy by hand):
- Patient: name, birth date, sex assigned at birth (item 225, which replaced Sex in v26),
  address at diagnosis, medical record number, vital status and date of last contact (any
  encounter, or death).
- Tumour: primary site, histology, behaviour, laterality and grade from casefinding (the
  pathology report), date of diagnosis, diagnostic confirmation (1, positive histology,
  when a pathology report found it), date of first contact, age at diagnosis, sequence
  number among the patient's cases, AJCC TNM values as the report states them (plain
  strings; their descriptions are AJCC's and licensed), Summary Stage 2018 derived from
  them (a suggestion the registrar confirms), first-course treatment dates and summary
  codes from Procedures (surgery, radiation) and medication orders (chemotherapy, hormone,
  immunotherapy), and class of case.
Items are keyed by NAACCR naaccrId; with the dictionary present only its items are kept.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from chartkeeper.errors import BadRequest, Conflict, InvalidSearch, NotFound
from chartkeeper.registry import casefinding, reference
from chartkeeper.registry.classify import classify
from chartkeeper.store import Repository
from chartkeeper.store import registry as tables

_SEX = {"male": "1", "female": "2", "other": "3", "unknown": "9"}
_SURGERY = re.compile(
    r"ectomy|resection|excision|lumpectomy|whipple|orchiectomy|amputation"
    r"|lobectomy|colectomy|mastectomy|nephrectomy",
    re.I,
)
_RADIATION = re.compile(r"radiation|radiotherapy|\bimrt\b|brachytherapy|stereotactic|sbrt", re.I)
# Phase I Radiation Treatment Modality (CoC STORE): the procedure's words to the code.
_MODALITY = (
    (re.compile(r"proton", re.I), "03"),
    (re.compile(r"electron", re.I), "04"),
    (re.compile(r"brachytherapy|seed implant|\bhdr\b|\bldr\b", re.I), "07"),
    (re.compile(r"\bimrt\b|photon|\bsbrt\b|stereotactic|3d[- ]?conformal|\bvmat\b", re.I), "02"),
)


def radiation_modality(words: str) -> str:
    """02 photons (IMRT, SBRT, 3D-conformal), 03 protons, 04 electrons, 07 brachytherapy,
    else 01 external beam, NOS."""
    return next((code for pattern, code in _MODALITY if pattern.search(words)), "01")


# Agent name stems by SEER*Rx category (chemotherapy, hormone, immunotherapy/BRM).
_AGENTS = {
    "chemo": (
        "platin",
        "taxel",
        "cyclophosphamide",
        "doxorubicin",
        "epirubicin",
        "fluorouracil",
        "capecitabine",
        "gemcitabine",
        "pemetrexed",
        "etoposide",
        "irinotecan",
        "vincristine",
        "vinorelbine",
        "methotrexate",
        "temozolomide",
        "trastuzumab",
        "bevacizumab",
        "cetuximab",
        "rituximab",
        "imatinib",
        "erlotinib",
        "osimertinib",
        "palbociclib",
        "ribociclib",
        "abemaciclib",
        "olaparib",
    ),
    "hormone": (
        "anastrozole",
        "letrozole",
        "exemestane",
        "tamoxifen",
        "fulvestrant",
        "leuprolide",
        "goserelin",
        "bicalutamide",
        "enzalutamide",
        "abiraterone",
        "degarelix",
        "megestrol",
    ),
    "brm": (
        "pembrolizumab",
        "nivolumab",
        "atezolizumab",
        "durvalumab",
        "ipilimumab",
        "interferon",
        "aldesleukin",
        "bcg",
    ),
}
_TNM = re.compile(
    r"\b([ycpra]{0,2})(T(?:is|[0-4X])[a-d]?|N[0-3X][a-c]?(?:mi)?|M[01X][a-d]?)"
    r"(?:\(\w+\))?",
    re.I,
)


def _yyyymmdd(value: str | None) -> str | None:
    return value[:10].replace("-", "") if value and re.match(r"\d{4}-\d{2}-\d{2}", value) else None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _when(res: dict) -> str | None:
    return (
        res.get("performedDateTime")
        or (res.get("performedPeriod") or {}).get("start")
        or res.get("authoredOn")
        or res.get("effectiveDateTime")
        or (res.get("effectivePeriod") or {}).get("start")
        or (res.get("period") or {}).get("start")
    )


def _text(concept: dict | None) -> str:
    concept = concept or {}
    return " ".join(
        [concept.get("text") or ""] + [c.get("display") or "" for c in concept.get("coding", [])]
    )


def _of_patient(repo: Repository, rtype: str, patient_id: str) -> list[dict]:
    try:
        return casefinding._all(repo, rtype, [("patient", f"Patient/{patient_id}")])
    except InvalidSearch:  # a type the store does not index by patient
        return []


def staging(text: str) -> dict[str, str]:
    """AJCC TNM values as a report states them ("pT2 pN1a cM0"), and the Summary Stage
    2018 they suggest (0 in situ, 1 localized, 3 regional nodes, 7 distant, 9 unknown)."""
    found: dict[str, str] = {}
    for prefix, value in _TNM.findall(text):
        prefix = prefix.lower() or "c"
        axis = value[0].upper()
        kind = "Path" if "p" in prefix else "Clin"
        key = f"ajccTnm{kind}{axis}"
        found.setdefault(key, f"{prefix[-1]}{value[0].upper()}{value[1:]}")
    if not found:
        return {}
    values = " ".join(found.values()).upper()
    if re.search(r"M1", values):
        stage = "7"
    elif re.search(r"N[1-3]", values):
        stage = "3"
    elif re.search(r"T[1-4]", values):
        stage = "1"
    elif re.search(r"TIS", values):
        stage = "0"
    else:
        stage = "9"
    found["summaryStage2018"] = stage
    found["tnmEditionNumber"] = "08"
    return found


def _evidence_text(repo: Repository, case: dict) -> str:
    texts = []
    for entry in case["evidence"]:
        rtype, _, rid = (entry.get("reference") or "").partition("/")
        if rtype in ("DiagnosticReport", "DocumentReference"):
            try:
                texts.append(casefinding.report_text(repo.read(rtype, rid)))
            except NotFound:
                continue
    return "\n".join(texts)


def build_items(
    repo: Repository, case: dict, *, sequence: tuple[int, int], record_id: int
) -> dict[str, str]:
    """The prefilled items of one case (naaccrId -> value)."""
    pid = case["patient_id"]
    patient = repo.read("Patient", pid)
    who = casefinding.patient_summary(patient)
    name = (patient.get("name") or [{}])[0]
    address = (patient.get("address") or [{}])[0]
    diagnosed = _date(case["diagnosis_date"])
    items: dict[str, str | None] = {
        "patientIdNumber": str(record_id),
        "nameLast": (name.get("family") or "").upper()[:40] or None,
        "nameFirst": " ".join(name.get("given", [])[:1]).upper()[:40] or None,
        "dateOfBirth": _yyyymmdd(patient.get("birthDate")),
        "sexAssignedAtBirth": _SEX.get(patient.get("gender") or "unknown", "9"),
        "race1": "99",
        "spanishHispanicOrigin": "9",
        "medicalRecordNumber": (who["mrn"] or "")[:15] or None,
        "addrAtDxCity": (address.get("city") or "").upper()[:50] or None,
        "addrAtDxState": (address.get("state") or "").upper()[:2] or None,
        "addrAtDxPostalCode": (address.get("postalCode") or "").replace("-", "")[:9] or None,
        "primarySite": (case["primary_site"] or "").replace(".", "") or None,
        "histologicTypeIcdO3": case["histology"],
        "behaviorCodeIcdO3": case["behavior"],
        "laterality": case["laterality"],
        "dateOfDiagnosis": _yyyymmdd(case["diagnosis_date"]),
        "diagnosticConfirmation": "1" if case["source"] == "pathology" else "9",
        "sequenceNumberHospital": "00" if sequence[1] == 1 else f"{sequence[0]:02d}",
        "tumorRecordNumber": f"{sequence[0]:02d}",
    }
    birth = _date(patient.get("birthDate"))
    if birth and diagnosed:
        age = (
            diagnosed.year
            - birth.year
            - ((diagnosed.month, diagnosed.day) < (birth.month, birth.day))
        )
        items["ageAtDiagnosis"] = f"{age:03d}"
    report = _evidence_text(repo, case)
    if report:
        classified = classify(report)
        if classified.grade and len(classified.grade) == 1:
            items["gradePathological"] = classified.grade
        items.update(staging(report))
    # Contacts: first contact, last contact and vital status from encounters and death.
    encounters = sorted(filter(None, (_when(e) for e in _of_patient(repo, "Encounter", pid))))
    if encounters:
        first = next(
            (e for e in encounters if diagnosed and e[:10] >= str(diagnosed)), encounters[-1]
        )
        before = [e for e in encounters if diagnosed and e[:10] <= str(diagnosed)]
        items["dateOf1stContact"] = _yyyymmdd(before[-1] if before else first)
    death = patient.get("deceasedDateTime")
    items["vitalStatus"] = "0" if death or patient.get("deceasedBoolean") else "1"
    if items["vitalStatus"] == "0":
        items["causeOfDeath"] = _cause_of_death(repo, pid)
    last = max([*encounters, death or ""]) if encounters or death else None
    items["dateOfLastContact"] = _yyyymmdd(death) or _yyyymmdd(last)
    # First course of treatment (from diagnosis on).
    since = str(diagnosed) if diagnosed else "0000"
    treated_here = False
    for proc in sorted(_of_patient(repo, "Procedure", pid), key=lambda p: _when(p) or ""):
        when = _when(proc) or ""
        if when[:10] < since or proc.get("status") not in (None, "completed"):
            continue
        words = _text(proc.get("code"))
        if (
            _SURGERY.search(words)
            and not re.search(r"biopsy", words, re.I)
            and "rxDateSurgery" not in items
        ):
            items["rxDateSurgery"] = _yyyymmdd(when)
            treated_here = True
        elif _RADIATION.search(words) and "rxDateRadiation" not in items:
            items["rxDateRadiation"] = _yyyymmdd(when)
            items["rxSummRadiation"] = "1"
            items["phase1RadiationTreatmentModality"] = radiation_modality(words)
            treated_here = True
    surgery, radiation = items.get("rxDateSurgery"), items.get("rxDateRadiation")
    if surgery:
        items["rxDateMostDefinSurg"] = surgery
        if diagnosed and diagnosed.year < 2023:
            # Surgery of primary site, NOS: the site-specific code (SEER Appendix C) is
            # the registrar's to refine; the 2023+ item's codes are left to them too.
            items["rxSummSurgPrimSite"] = "90"
    # Radiation/surgery sequence (STORE): 2 radiation before surgery, 3 after, 0 not both.
    if surgery and radiation:
        items["rxSummSurgRadSeq"] = "2" if radiation < surgery else "3"
    elif surgery or radiation:
        items["rxSummSurgRadSeq"] = "0"
    for rtype in ("MedicationRequest", "MedicationAdministration"):
        for med in sorted(_of_patient(repo, rtype, pid), key=lambda m: _when(m) or ""):
            when = _when(med) or ""
            if when[:10] < since:
                continue
            words = _text(med.get("medicationCodeableConcept")).lower()
            for kind, stems in _AGENTS.items():
                if any(s in words for s in stems):
                    date_item = {
                        "chemo": "rxDateChemo",
                        "hormone": "rxDateHormone",
                        "brm": "rxDateBrm",
                    }[kind]
                    summ = {"chemo": "rxSummChemo", "hormone": "rxSummHormone", "brm": "rxSummBrm"}[
                        kind
                    ]
                    if date_item not in items:
                        items[date_item] = _yyyymmdd(when)
                        items[summ] = "01"
                        treated_here = True
    items["classOfCase"] = "14" if treated_here else "10"
    items = {k: v for k, v in items.items() if v not in (None, "")}
    if reference.available("naaccr", "naaccr-dictionary-260.xml"):
        known = reference.naaccr_dictionary().items
        items = {k: v for k, v in items.items() if k in known}
    return items  # type: ignore[return-value]


CAUSE_OF_DEATH = "69453-9"  # LOINC: Cause of death [US Standard Certificate of Death]


def _cause_of_death(repo: Repository, patient_id: str) -> str:
    """The underlying cause (ICD-10, item 1910 takes it without the point) from a death
    certificate Observation; 7777 (death certificate not available) when there is none."""
    for obs in _of_patient(repo, "Observation", patient_id):
        codes = {c.get("code") for c in (obs.get("code") or {}).get("coding", [])}
        if CAUSE_OF_DEATH not in codes:
            continue
        for coding in (obs.get("valueCodeableConcept") or {}).get("coding", []):
            code = (coding.get("code") or "").replace(".", "").upper()
            if re.fullmatch(r"[A-Z]\d{2,3}", code):
                return code[:4]
    return "7777"


def _sequence(cases: list[dict], case_id: int) -> tuple[int, int]:
    live = sorted(
        (c for c in cases if c["status"] != "dismissed"),
        key=lambda c: (c["diagnosis_date"] or "", c["id"]),
    )
    ids = [c["id"] for c in live]
    return (ids.index(case_id) + 1 if case_id in ids else len(ids) + 1), max(1, len(ids))


def prefill(repo: Repository, case_id: int, *, by: str, now: datetime | None = None) -> dict:
    """(Re)fill the abstract from the record; items the registrar already entered are kept."""
    with repo.reading() as tx:
        case = tables.get_case(tx, case_id)
        if case is None:
            raise NotFound(f"registry case {case_id} not found")
        siblings = tables.list_cases(tx, patient_id=case["patient_id"], audit=False)
        first_case = min(c["id"] for c in siblings)
    items = build_items(repo, case, sequence=_sequence(siblings, case_id), record_id=first_case)
    entered = case.get("items", {}).get("_entered", [])
    merged = {**items, **{k: case["items"][k] for k in entered if k in case["items"]}}
    merged["_entered"] = entered
    stamp = casefinding.utc_stamp(now)
    values = {
        "items": merged,
        "updated": stamp,
        "updated_by": by,
        "activity": [
            *case["activity"],
            {"when": stamp, "who": by, "what": "abstract prefilled from the record"},
        ],
    }
    with repo.transaction() as tx:
        tables.update_case(tx, case_id, values)
    case.update(values)
    return case


_COLUMNS = {
    "primarySite": "primary_site",
    "histologicTypeIcdO3": "histology",
    "behaviorCodeIcdO3": "behavior",
    "laterality": "laterality",
    "dateOfDiagnosis": "diagnosis_date",
}


def edit_items(
    repo: Repository, case_id: int, changes: dict, *, by: str, now: datetime | None = None
) -> dict:
    """The registrar's entries. Unknown items, and values too long for their item, are
    refused with every problem named; an empty value clears the item."""
    if not isinstance(changes, dict) or not changes:
        raise BadRequest("give the items to change as {naaccrId: value}")
    problems = []
    known = None
    if reference.available("naaccr", "naaccr-dictionary-260.xml"):
        known = reference.naaccr_dictionary().items
    for key, value in changes.items():
        if not isinstance(value, str | None):
            problems.append(f"{key}: value must be text")
        elif known is not None and key not in known:
            problems.append(f"{key}: not a NAACCR v26 item")
        elif known is not None and value and len(value) > known[key].length:
            problems.append(f"{key}: longer than {known[key].length}")
    if problems:
        raise BadRequest("; ".join(problems))
    stamp = casefinding.utc_stamp(now)
    with repo.transaction() as tx:
        case = tables.get_case(tx, case_id)
        if case is None:
            raise NotFound(f"registry case {case_id} not found")
        if case["status"] not in ("abstracting", "complete"):
            raise Conflict(f"registry case {case_id} is {case['status']}; accept it first")
        items = dict(case["items"])
        entered = set(items.get("_entered", []))
        for key, value in changes.items():
            if value in (None, ""):
                items.pop(key, None)
            else:
                items[key] = value.strip()
            entered.add(key)
        items["_entered"] = sorted(entered)
        values = {
            "items": items,
            "updated": stamp,
            "updated_by": by,
            "status": "abstracting",
            "activity": [
                *case["activity"],
                {"when": stamp, "who": by, "what": f"edited {', '.join(sorted(changes))}"},
            ],
        }
        for item, column in _COLUMNS.items():
            if item in changes:
                value = items.get(item)
                if item == "primarySite" and value and len(value) == 4:
                    value = reference.dotted(value)
                if item == "dateOfDiagnosis" and value and len(value) == 8:
                    value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
                values[column] = value
        tables.update_case(tx, case_id, values)
        case.update(values)
    return case


def public_items(case: dict) -> dict[str, str]:
    return {k: v for k, v in case["items"].items() if not k.startswith("_")}


def check(repo: Repository, case_id: int) -> list:
    """The edits that fail on this abstract now (overridden ones say so)."""
    from chartkeeper.registry import edits

    with repo.reading() as tx:
        case = tables.get_case(tx, case_id)
    if case is None:
        raise NotFound(f"registry case {case_id} not found")
    return edits.run(public_items(case), case["overrides"])


def override(
    repo: Repository,
    case_id: int,
    edit_id: str,
    reason: str,
    *,
    by: str,
    now: datetime | None = None,
) -> dict:
    """Accept a failing edit as correct for this case, with the reason (who and when kept)."""
    from chartkeeper.registry import edits

    if edit_id not in edits.EDITS:
        raise BadRequest(f"no edit {edit_id}; edits are {', '.join(edits.EDITS)}")
    if not reason or not reason.strip():
        raise BadRequest("an override needs a reason")
    stamp = casefinding.utc_stamp(now)
    with repo.transaction() as tx:
        case = tables.get_case(tx, case_id)
        if case is None:
            raise NotFound(f"registry case {case_id} not found")
        overrides = {
            **case["overrides"],
            edit_id: {"reason": reason.strip(), "by": by, "when": stamp},
        }
        values = {
            "overrides": overrides,
            "updated": stamp,
            "updated_by": by,
            "activity": [
                *case["activity"],
                {"when": stamp, "who": by, "what": f"overrode {edit_id}: {reason}"},
            ],
        }
        tables.update_case(tx, case_id, values)
        case.update(values)
    return case


def complete(repo: Repository, case_id: int, *, by: str, now: datetime | None = None) -> dict:
    """Mark the abstract complete: every edit passes or is overridden."""
    from chartkeeper.registry import edits

    stamp = casefinding.utc_stamp(now)
    with repo.transaction() as tx:
        case = tables.get_case(tx, case_id)
        if case is None:
            raise NotFound(f"registry case {case_id} not found")
        if case["status"] != "abstracting":
            raise Conflict(f"registry case {case_id} is {case['status']}, not abstracting")
        items = {
            **public_items(case),
            "dateCaseCompleted": stamp[:10].replace("-", ""),
            "abstractedBy": by[:3].upper(),
        }
        failing = [e for e in edits.run(items, case["overrides"]) if not e.overridden]
        if failing:
            raise Conflict(
                "the abstract fails edits: " + "; ".join(f"{e.id} {e.message}" for e in failing)
            )
        values = {
            "status": "complete",
            "items": {**case["items"], **items},
            "updated": stamp,
            "updated_by": by,
            "activity": [
                *case["activity"],
                {"when": stamp, "who": by, "what": "abstract completed"},
            ],
        }
        tables.update_case(tx, case_id, values)
        case.update(values)
    return case


# --- exchange (NAACCR XML is written and read by interfaces.naaccr) ---------------------------


def for_exchange(repo: Repository, statuses: tuple[str, ...] = ("complete",)) -> list[dict]:
    """Cases to report, each {patient_id, items}, in patient then tumour order."""
    with repo.reading() as tx:
        cases = tables.list_cases(tx, status=statuses)
    cases.sort(
        key=lambda c: (
            c["items"].get("patientIdNumber", ""),
            c["patient_id"],
            c["items"].get("tumorRecordNumber", ""),
            c["id"],
        )
    )
    return [
        {"case_id": c["id"], "patient_id": c["patient_id"], "items": public_items(c)} for c in cases
    ]


def _match_patient(repo: Repository, items: dict[str, str]) -> str:
    mrn = items.get("medicalRecordNumber")
    if mrn:
        page = repo.search("Patient", [("identifier", mrn)])
        if len(page.resources) == 1:
            return page.resources[0]["id"]
    return f"naaccr-{items.get('patientIdNumber') or 'unknown'}"


def receive(
    repo: Repository,
    abstracts: list[dict[str, str]],
    *,
    by: str,
    source: str,
    now: datetime | None = None,
) -> dict:
    """Store abstracts from another registry or a re-import (one transaction). A tumour
    already held (same patient, site, morphology and diagnosis date) is updated, not added."""
    stamp = casefinding.utc_stamp(now)
    added, updated = [], []
    with repo.transaction() as tx:
        # Our own Patient ID Numbers first: a file we wrote comes back to the same patients.
        known = {
            c["items"].get("patientIdNumber"): c["patient_id"]
            for c in tables.list_cases(tx, audit=False)
            if c["items"].get("patientIdNumber")
        }
        for items in abstracts:
            number = (items.get("patientIdNumber") or "").lstrip("0")
            patient_id = known.get(number) or _match_patient(repo, items)
            site = items.get("primarySite")
            columns = {
                "primary_site": reference.dotted(site) if site else None,
                "histology": items.get("histologicTypeIcdO3"),
                "behavior": items.get("behaviorCodeIcdO3"),
                "laterality": items.get("laterality"),
                "diagnosis_date": (
                    f"{items['dateOfDiagnosis'][:4]}-{items['dateOfDiagnosis'][4:6]}"
                    f"-{items['dateOfDiagnosis'][6:8]}"
                    if len(items.get("dateOfDiagnosis", "")) == 8
                    else None
                ),
            }
            existing = next(
                (
                    c
                    for c in tables.list_cases(tx, patient_id=patient_id, audit=False)
                    if all(c[k] == v for k, v in columns.items())
                ),
                None,
            )
            activity = {"when": stamp, "who": by, "what": f"received from {source}"}
            if existing:
                tables.update_case(
                    tx,
                    existing["id"],
                    {
                        "items": {**items, "_entered": sorted(items)},
                        "updated": stamp,
                        "updated_by": by,
                        "activity": [*existing["activity"], activity],
                    },
                )
                updated.append(existing["id"])
                continue
            added.append(
                tables.insert_case(
                    tx,
                    {
                        "patient_id": patient_id,
                        "status": "complete",
                        "source": "import",
                        **columns,
                        "items": {**items, "_entered": sorted(items)},
                        "evidence": [{"reference": source, "source": "import", "found": stamp}],
                        "overrides": {},
                        "mp_rule": None,
                        "created": stamp,
                        "created_by": by,
                        "updated": stamp,
                        "updated_by": by,
                        "activity": [activity],
                    },
                )
            )
    return {"added": added, "updated": updated}
