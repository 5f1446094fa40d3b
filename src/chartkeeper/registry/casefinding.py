"""Casefinding: which diagnoses and pathology reports describe a reportable tumour, and the
worklist of suspected cases they make.

Sources screened:
- Conditions coded in ICD-10-CM: reportable when the code is on the casefinding list
  (IMS's ICD-10-CM -> ICD-O-3 conversion with its reportability flag, when the reference file
  is present; otherwise the C00-D49 reportable ranges below with their exceptions).
- Pathology text: DiagnosticReport.presentedForm / conclusion, DocumentReference content (as
  NAACCR Volume V labs send them, HL7 ORU^R01 lands as DiagnosticReport), or an ORU message
  screened directly (`screen_oru`).

Text is reportable when a malignant (/3) or in situ (/2) morphology is stated and neither
negated ("negative for carcinoma") nor governed by an ambiguous term that SEER says is not
reportable. SEER Program Coding and Staging Manual, "Ambiguous terminology": terms such as
"consistent with", "suspicious for", "probable", "compatible with" ARE diagnostic of cancer;
"cannot be ruled out", "possible", "questionable", "suggests", "equivocal", "rule out",
"worrisome" are NOT. Exceptions from the reportable list: basal and squamous cell carcinoma
of skin (C44, 8000-8110), CIN III (8077/2) and PIN III (8148/2).

One tumour, one case: a finding for a patient who already has a case is compared with it
by the multiple-primary rules (`primaries.decide`); when it is the same primary its
evidence joins that case instead of opening another. A dismissed case stays, so the same
tumour is not suggested again.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

from chartkeeper.errors import BadRequest, Conflict, NotFound
from chartkeeper.privacy.people import human_name, mrn_of
from chartkeeper.registry import classify as classifier
from chartkeeper.registry import lexicon, primaries, reference
from chartkeeper.store import Repository
from chartkeeper.store import registry as tables

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
STATUSES = ("suspected", "abstracting", "complete", "dismissed")

AMBIGUOUS_REPORTABLE = (
    "apparent",
    "apparently",
    "appears to",
    "appears",
    "comparable with",
    "compatible with",
    "consistent with",
    "favor",
    "favors",
    "favored",
    "in favor of",
    "malignant appearing",
    "most likely",
    "presumed",
    "presumably",
    "probable",
    "probably",
    "suspect",
    "suspected",
    "suspicious",
    "suspicious for",
    "typical of",
    "typical for",
)
AMBIGUOUS_NOT_REPORTABLE = (
    "cannot be ruled out",
    "cannot be excluded",
    "can not be ruled out",
    "equivocal",
    "possible",
    "possibly",
    "potentially malignant",
    "questionable",
    "rule out",
    "r/o",
    "suggests",
    "suggestive of",
    "worrisome",
    "worrisome for",
    "not excluded",
)
_NOT_REPORTABLE_MORPHOLOGY = {"8077/2", "8148/2"}


def _phrases(items: tuple[str, ...]) -> list[tuple[str, ...]]:
    return sorted({lexicon.words(p) for p in items}, key=len, reverse=True)


_AMBIG_YES = _phrases(AMBIGUOUS_REPORTABLE)
_AMBIG_NO = _phrases(AMBIGUOUS_NOT_REPORTABLE)
_GENERIC_MALIGNANT = {
    ("malignancy",): "8000/3",
    ("cancer",): "8000/3",
    ("malignant", "neoplasm"): "8000/3",
    ("carcinoma",): "8010/3",
}


@dataclass
class Screening:
    reportable: bool
    reason: str
    term: str | None = None
    morphology: str | None = None
    start: int | None = None
    end: int | None = None

    def as_json(self) -> dict:
        return asdict(self)


def _near(
    tokens: list[str], start: int, end: int, lo: int, hi: int, phrases: list[tuple[str, ...]]
) -> tuple[str, ...] | None:
    """An ambiguous term governing the mention: up to five words before it, or right after
    ("carcinoma cannot be ruled out")."""
    for i in list(range(max(lo, start - 5), start)) + list(range(end, min(hi, end + 2))):
        for phrase in phrases:
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                return phrase
    return None


def screen_text(text: str) -> Screening:
    """Whether the report states a reportable neoplasm, and the words that decided it."""
    report = classifier.Report(text or "")
    tokens = report.tokens
    mentions = [(m.start, m.end, m.entry.code) for m in lexicon.histology_lexicon().find(tokens)]
    covered = {i for start, end, _ in mentions for i in range(start, end)}
    for i in range(len(tokens)):
        for phrase, code in _GENERIC_MALIGNANT.items():
            if tuple(tokens[i : i + len(phrase)]) == phrase and i not in covered:
                mentions.append((i, i + len(phrase), code))
    rejected: Screening | None = None
    for start, end, code in sorted(mentions):
        behavior = code.split("/")[1]
        s, e, snippet = report.span(start, end)
        if behavior not in ("2", "3", "6") or code in _NOT_REPORTABLE_MORPHOLOGY:
            continue
        lo, hi = report.sentence_range(start)
        doubt = _near(tokens, start, end, lo, hi, _AMBIG_NO)
        if doubt:
            rejected = rejected or Screening(
                False,
                f"'{' '.join(doubt)}' is not diagnostic of cancer (SEER ambiguous terminology)",
                snippet,
                code,
                s,
                e,
            )
            continue
        if classifier.negated(report, start, end):
            rejected = rejected or Screening(False, "negated", snippet, code, s, e)
            continue
        site_words = set(tokens[max(0, lo) : hi])
        if "8000" <= code.split("/")[0] <= "8110" and (
            {"skin", "cutaneous", "epidermis"} & site_words
        ):
            rejected = rejected or Screening(
                False,
                "basal/squamous cell carcinoma of skin is not reportable",
                snippet,
                code,
                s,
                e,
            )
            continue
        hedge = _near(tokens, start, end, lo, hi, _AMBIG_YES)
        reason = (
            f"'{' '.join(hedge)}' is diagnostic of cancer (SEER ambiguous terminology)"
            if hedge
            else "malignancy stated"
        )
        return Screening(True, reason, snippet, code, s, e)
    return rejected or Screening(False, "no malignant or in situ neoplasm stated")


# --- ICD-10-CM -------------------------------------------------------------------------------

# Without the casefinding file: the reportable ranges of the SEER/NPCR casefinding list.
_REPORTABLE_RANGES = re.compile(
    r"^(C(?!44|4A|7B)\d\d|C4A|C7B|C44(0|1[0-3]|2|3|4|5|6|7|8|9)?|D0[0-35-9]|D3[23]|"
    r"D35[234]|D4[2-7]|D49[67]|D18\.?02)"
)
# C44 carcinomas other than of the lip/eyelid/ear etc. that the list names are excluded
# by the conversion table; here only the codes for basal/squamous carcinoma of skin are.
_SKIN_KC = re.compile(r"^C44\.?\d[12]")


def reportable_code(code: str) -> tuple[bool, str, reference.Conversion | None]:
    bare = code.replace(".", "").upper()
    if reference.available("casefinding", "icd-10-cm-to-icd-o-3.csv"):
        conversions = reference.icd10cm_conversions()
        for length in range(len(bare), 2, -1):
            found = conversions.get(bare[:length])
            if found:
                if _SKIN_KC.match(bare):
                    return False, "basal/squamous cell carcinoma of skin is not reportable", None
                return (
                    True,
                    f"{code} is on the casefinding list (ICD-O-3 {found.site} "
                    f"{found.histology}/{found.behavior})",
                    found,
                )
        return False, f"{code} is not on the casefinding list", None
    if _REPORTABLE_RANGES.match(bare) and not _SKIN_KC.match(bare):
        return True, f"{code} is in the reportable C00-D49 ranges", None
    return False, f"{code} is not in the reportable ranges", None


# --- findings from the record --------------------------------------------------------------------


@dataclass
class Finding:
    patient_id: str
    source: str  # pathology | diagnosis
    reference: str  # "DiagnosticReport/123"
    diagnosed: str | None  # YYYY-MM-DD
    site: str | None
    histology: str | None
    behavior: str | None
    laterality: str | None
    grade: str | None
    reason: str
    text: str | None = None
    confidence: float | None = None
    evidence: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)


def _all(repo: Repository, resource_type: str, params: list[tuple[str, str]] = ()) -> list[dict]:
    found, offset = [], 0
    while True:
        page = repo.search(resource_type, [*params, ("_count", "500"), ("_offset", str(offset))])
        found += page.resources
        if page.next_offset is None:
            return found
        offset = page.next_offset


def _patient(res: dict) -> str | None:
    ref = (res.get("subject") or res.get("patient") or {}).get("reference") or ""
    return ref.split("/", 1)[1] if ref.startswith("Patient/") else None


def _day(value: str | None) -> str | None:
    return value[:10] if value and re.match(r"\d{4}-\d{2}-\d{2}", value) else None


def _attachment_text(attachment: dict) -> str:
    data = attachment.get("data")
    if not data or not (attachment.get("contentType") or "text/plain").startswith("text/"):
        return ""
    try:
        return base64.b64decode(data).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return ""


def report_text(res: dict) -> str:
    if res["resourceType"] == "DiagnosticReport":
        parts = [_attachment_text(a) for a in res.get("presentedForm") or []]
        return "\n".join(p for p in parts if p) or (res.get("conclusion") or "")
    parts = [_attachment_text(c.get("attachment") or {}) for c in res.get("content") or []]
    return "\n".join(p for p in parts if p)


def _is_pathology(res: dict) -> bool:
    codes = [
        c
        for concept in (res.get("category") or []) + [res.get("code") or {}, res.get("type") or {}]
        for c in concept.get("coding", [])
    ]
    return any(
        c.get("code") in ("LP7839-6", "PAT", "SP", "11526-1", "60567-5", "22637-3") for c in codes
    ) or any(
        "patholog" in (concept.get("text") or "").lower()
        for concept in (res.get("category") or []) + [res.get("code") or {}, res.get("type") or {}]
    )


def finding_from_text(
    patient_id: str, reference_: str, text: str, diagnosed: str | None
) -> Finding | None:
    screening = screen_text(text)
    if not screening.reportable:
        return None
    result = classifier.classify(text)
    histology, behavior = (result.histology, result.behavior)
    if screening.morphology and not histology:
        histology, behavior = screening.morphology.split("/")
    return Finding(
        patient_id,
        "pathology",
        reference_,
        diagnosed,
        result.primary_site,
        histology,
        behavior,
        result.laterality,
        result.grade,
        screening.reason,
        screening.term,
        result.confidence,
        [e.as_json() for e in result.evidence],
    )


def find(repo: Repository) -> tuple[list[Finding], int]:
    """Every reportable finding in the record (and how many items were screened)."""
    findings, screened = [], 0
    for rtype in ("DiagnosticReport", "DocumentReference"):
        for res in _all(repo, rtype):
            if not _is_pathology(res):
                continue
            screened += 1
            patient = _patient(res)
            text = report_text(res)
            if not patient or not text:
                continue
            when = _day(
                res.get("effectiveDateTime")
                or res.get("issued")
                or res.get("date")
                or (res.get("context") or {}).get("period", {}).get("start")
            )
            found = finding_from_text(patient, f"{rtype}/{res['id']}", text, when)
            if found:
                findings.append(found)
    for res in _all(repo, "Condition"):
        screened += 1
        patient = _patient(res)
        if not patient or (res.get("verificationStatus") or {}).get("coding", [{}])[0].get(
            "code"
        ) in ("refuted", "entered-in-error"):
            continue
        for coding in (res.get("code") or {}).get("coding", []):
            if coding.get("system") != ICD10CM or not coding.get("code"):
                continue
            ok, reason, conversion = reportable_code(coding["code"])
            if not ok:
                continue
            findings.append(
                Finding(
                    patient,
                    "diagnosis",
                    f"Condition/{res['id']}",
                    _day(res.get("onsetDateTime") or res.get("recordedDate")),
                    conversion.site if conversion else None,
                    conversion.histology if conversion else None,
                    conversion.behavior if conversion else None,
                    None,
                    None,
                    reason,
                    f"{coding['code']} {coding.get('display', '')}".strip(),
                )
            )
            break
    return findings, screened


# --- the worklist ------------------------------------------------------------------------------


def utc_stamp(now: datetime | None = None) -> str:
    """`now` (default: this moment) as the store writes instants; the abstract uses it too."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _tumor(row: dict | Finding) -> primaries.Tumor:
    get = (
        row.get
        if isinstance(row, dict)
        else lambda k: getattr(
            row, {"primary_site": "site", "diagnosis_date": "diagnosed"}.get(k, k)
        )
    )
    day = get("diagnosis_date")
    return primaries.Tumor(
        get("primary_site"),
        get("histology"),
        get("behavior"),
        get("laterality"),
        date.fromisoformat(day) if day else None,
    )


@dataclass
class CasefindingRun:
    screened: int
    findings: int
    new_cases: list[int]
    joined: int  # findings added to an existing case (same primary)
    dismissed_again: int  # findings of a tumour the registrar already dismissed

    def as_json(self) -> dict:
        return asdict(self)


def _better(case: dict, finding: Finding) -> dict:
    """Pathology outranks a diagnosis code for site and morphology (a code says C50.9,
    the report says C50.4 8500/3); the earliest date is the diagnosis date."""
    values = {}
    if finding.source == "pathology" and case["source"] != "pathology":
        values.update(
            source="pathology",
            primary_site=finding.site or case["primary_site"],
            histology=finding.histology or case["histology"],
            behavior=finding.behavior or case["behavior"],
            laterality=finding.laterality or case["laterality"],
        )
    if finding.diagnosed and (
        not case["diagnosis_date"] or finding.diagnosed < case["diagnosis_date"]
    ):
        values["diagnosis_date"] = finding.diagnosed
    return values


def run(repo: Repository, *, by: str, now: datetime | None = None) -> CasefindingRun:
    """Screen the record and put new suspected cases on the worklist (idempotent)."""
    findings, screened = find(repo)
    stamp = utc_stamp(now)
    new, joined, dismissed = [], 0, 0
    # Pathology first, so a diagnosis code joins the case its report opened.
    findings.sort(key=lambda f: (f.patient_id, f.source != "pathology", f.diagnosed or ""))
    with repo.transaction() as tx:
        for finding in findings:
            cases = tables.list_cases(tx, patient_id=finding.patient_id, audit=False)
            if any(finding.reference in {e.get("reference") for e in c["evidence"]} for c in cases):
                continue  # screened before
            same = None
            for case in cases:
                decision = primaries.decide(_tumor(case), _tumor(finding))
                if decision.same_primary:
                    same = case
                    break
            entry = {
                "reference": finding.reference,
                "source": finding.source,
                "reason": finding.reason,
                "text": finding.text,
                "found": stamp,
                "site": finding.site,
                "morphology": f"{finding.histology}/{finding.behavior}"
                if finding.histology
                else None,
                "confidence": finding.confidence,
            }
            if same is not None:
                values = {
                    "evidence": [*same["evidence"], entry],
                    **_better(same, finding),
                    "updated": stamp,
                    "updated_by": by,
                }
                tables.update_case(tx, same["id"], values)
                joined += 1
                if same["status"] == "dismissed":
                    dismissed += 1
                continue
            rule = None
            if cases:
                rule = primaries.decide(_tumor(cases[-1]), _tumor(finding)).rule
            new.append(
                tables.insert_case(
                    tx,
                    {
                        "patient_id": finding.patient_id,
                        "status": "suspected",
                        "source": finding.source,
                        "primary_site": finding.site,
                        "histology": finding.histology,
                        "behavior": finding.behavior,
                        "laterality": finding.laterality,
                        "diagnosis_date": finding.diagnosed,
                        "items": {},
                        "evidence": [entry],
                        "overrides": {},
                        "mp_rule": rule,
                        "created": stamp,
                        "created_by": by,
                        "updated": stamp,
                        "updated_by": by,
                        "activity": [
                            {
                                "when": stamp,
                                "who": by,
                                "what": f"found by casefinding: {finding.reason}",
                            }
                        ],
                    },
                )
            )
    return CasefindingRun(screened, len(findings), new, joined, dismissed)


def get(repo: Repository, case_id: int) -> dict:
    with repo.reading() as tx:
        case = tables.get_case(tx, case_id)
    if case is None:
        raise NotFound(f"registry case {case_id} not found")
    return case


def worklist(repo: Repository, status: str | None = "suspected") -> list[dict]:
    """Cases by status with the patient's name, MRN and birth date (not only ids)."""
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    with repo.reading() as tx:
        cases = tables.list_cases(tx, status=status)
        people: dict[str, dict] = {}
        for case in cases:
            pid = case["patient_id"]
            if pid not in people:
                try:
                    people[pid] = tx.read("Patient", pid)
                except NotFound:
                    people[pid] = {}
    return [{**_summary(case), **patient_summary(people[case["patient_id"]])} for case in cases]


def _summary(case: dict) -> dict:
    return {
        k: case[k]
        for k in (
            "id",
            "patient_id",
            "status",
            "source",
            "primary_site",
            "histology",
            "behavior",
            "laterality",
            "diagnosis_date",
            "mp_rule",
        )
    } | {"evidence": case["evidence"]}


def patient_summary(patient: dict) -> dict:
    """Name as HIM lists print it ("Family, Given Middle"), MRN, birth date."""
    return {
        "patient_name": display_name(patient),
        "mrn": mrn_of(patient) or None,
        "birth_date": patient.get("birthDate"),
    }


def display_name(patient: dict) -> str | None:
    """Name as "Family, Given" from the official (else first) name: the one naming rule every
    screen, list and export shares (`privacy.people.human_name`)."""
    return human_name(patient) or None


def _transition(
    repo: Repository,
    case_id: int,
    *,
    by: str,
    allowed: tuple[str, ...],
    status: str,
    what: str,
    extra: dict | None = None,
    now: datetime | None = None,
) -> dict:
    stamp = utc_stamp(now)
    with repo.transaction() as tx:
        case = tables.get_case(tx, case_id)
        if case is None:
            raise NotFound(f"registry case {case_id} not found")
        if case["status"] not in allowed:
            raise Conflict(
                f"registry case {case_id} is {case['status']}; it must be "
                f"{' or '.join(allowed)} to be {status}"
            )
        values = {
            "status": status,
            "updated": stamp,
            "updated_by": by,
            "activity": [*case["activity"], {"when": stamp, "who": by, "what": what}],
            **(extra or {}),
        }
        tables.update_case(tx, case_id, values)
        case.update(values)
    return case


def accept(repo: Repository, case_id: int, *, by: str, now: datetime | None = None) -> dict:
    """The registrar confirms the case is reportable: abstracting begins (with a prefill)."""
    from chartkeeper.registry import abstract

    case = _transition(
        repo, case_id, by=by, allowed=("suspected",), status="abstracting", what="accepted", now=now
    )
    return abstract.prefill(repo, case_id, by=by, now=now) or case


def dismiss(
    repo: Repository, case_id: int, *, by: str, reason: str, now: datetime | None = None
) -> dict:
    if not reason or not reason.strip():
        raise BadRequest("a reason is required to dismiss a suspected case")
    return _transition(
        repo,
        case_id,
        by=by,
        allowed=("suspected",),
        status="dismissed",
        what=f"dismissed: {reason.strip()}",
        now=now,
    )


def screen_oru(message: str) -> list[Screening]:
    """Screen the text of an HL7 v2 ORU^R01 pathology message (NAACCR Volume V): each
    OBX of type TX/FT/ST joined per report, then screened."""
    import hl7

    try:
        parsed = hl7.parse(message.replace("\n", "\r").strip())
    except Exception as exc:  # python-hl7 raises bare errors; name the problem instead
        raise BadRequest(f"not an HL7 v2 message: {exc}") from None
    texts: list[str] = []
    for segment in parsed:
        if str(segment[0]) == "OBR":
            texts.append("")
        if str(segment[0]) == "OBX" and str(segment[2]) in ("TX", "FT", "ST"):
            if not texts:
                texts.append("")
            texts[-1] += str(segment[5]).replace("\\.br\\", "\n") + "\n"
    return [screen_text(t) for t in texts if t.strip()]
