"""Claims from a coded inpatient stay: what the claim says, what is missing, the FHIR Claim.

Owns the step between a coded encounter and a bill: gathering the billing provider, the
subscriber and payer, diagnoses with present-on-admission (POA) indicators, ICD-10-PCS
procedures, the MS-DRG and the service lines into one `ClaimData`; listing claim edits for
everything a payer would reject for being absent (each says what is missing and where it
should come from); and rendering the FHIR R4 `Claim` (https://hl7.org/fhir/R4/claim.html).
The X12 837I/837P text is written from the same `ClaimData` by `interfaces/x12.py`, which
also has `build_claim`, the one call that does both (the layer rules keep `coding` below
`interfaces`).

Where data come from:
- billing provider: `Encounter.serviceProvider` (Organization with an NPI identifier,
  http://hl7.org/fhir/sid/us-npi, and address); tax id from its EIN identifier
  (urn:oid:2.16.840.1.113883.4.4) or `Submitter.billing_tax_id`.
- attending/rendering provider: the `ATND` participant (Practitioner with an NPI).
- subscriber and payer: a `Coverage` (subscriberId, payor), else a Patient identifier typed
  MB (member number, v2-0203); the payer from `Coverage.payor` or the `payer` argument.
- charges: the demonstration price list below; a site would plug its chargemaster in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from chartkeeper.coding.cac import is_inpatient, service_date
from chartkeeper.coding.drg import CodedStay, DrgResult, GroupingError, group, grouping_input
from chartkeeper.coding.drg import read_coded_stay as _read_stay
from chartkeeper.coding.edits import check_claim
from chartkeeper.errors import ChartkeeperError, NotFound

__all__ = [
    "DEMO_PAYER",
    "DEMO_SUBMITTER",
    "ClaimData",
    "ClaimEdit",
    "Payer",
    "ServiceLine",
    "Submitter",
    "fhir_claim",
    "prepare_claim",
]

NPI = "http://hl7.org/fhir/sid/us-npi"
EIN = "urn:oid:2.16.840.1.113883.4.4"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
CPT = "http://www.ama-assn.org/go/cpt"
NUBC_REVENUE = "https://www.nubc.org/CodeSystem/RevenueCodes"
MS_DRG = (
    "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/"
    "MS-DRG-Classifications-and-Software"
)


@dataclass(frozen=True)
class Payer:
    name: str
    payer_id: str  # 2010BB NM109 (PI)
    filing_code: str = "MA"  # SBR09: MA Medicare Part A, MB Part B, CI commercial


@dataclass(frozen=True)
class Submitter:
    """Who sends the file (1000A), who receives it (1000B) and interchange ids (ISA)."""

    name: str = "CHARTKEEPER DEMO SUBMITTER"
    etin: str = "CKDEMO0001"  # clearly synthetic electronic transmitter id
    contact: str = "BILLING OFFICE"
    phone: str = "6145550100"  # fictional 555-01xx block
    receiver_name: str = "DEMO CLEARINGHOUSE"
    receiver_id: str = "CKDEMORCV1"
    billing_tax_id: str | None = "990000001"  # used when the Organization has no EIN
    usage: str = "T"  # ISA15: T test, P production


DEMO_PAYER = Payer("DEMO MEDICARE CONTRACTOR", "CKDEMO99")
DEMO_SUBMITTER = Submitter()

# Demonstration prices (not a real chargemaster): room and board per day, OR per procedure.
ROOM_AND_BOARD = ("0120", Decimal("2150.00"))  # NUBC revenue code 0120 semi-private room
OPERATING_ROOM = ("0360", Decimal("6800.00"))  # 0360 operating room services
# Professional inpatient E/M (CPT): initial day, each middle day, discharge day.
VISITS = (("99223", Decimal("310.00")), ("99232", Decimal("140.00")), ("99238", Decimal("130.00")))


@dataclass(frozen=True)
class ClaimEdit:
    """Something a payer would reject the claim for; `source` says where to fix it."""

    field: str  # e.g. "2010AA NM109 billing provider NPI"
    message: str
    source: str  # e.g. "Organization/123 identifier (system http://hl7.org/fhir/sid/us-npi)"


@dataclass(frozen=True)
class ServiceLine:
    code: str  # revenue code (837I) or CPT (837P)
    charge: Decimal
    units: int
    unit: str  # DA days, UN units
    start: date
    end: date


@dataclass
class Address:
    line: str
    city: str
    state: str
    postal_code: str


@dataclass
class ClaimData:
    kind: str  # institutional | professional
    claim_id: str
    encounter: dict
    patient: dict
    billing_name: str = ""
    billing_npi: str = ""
    billing_tax_id: str = ""
    billing_address: Address | None = None
    billing_ref: str = ""
    attending: tuple[str, str, str] | None = None  # (family, given, NPI)
    subscriber_id: str = ""
    coverage_ref: str | None = None
    payer: Payer | None = None
    diagnoses: list[tuple[str, str]] = field(default_factory=list)  # (ICD-10-CM, POA)
    admitting_dx: str = ""
    procedures: list[tuple[str, date]] = field(default_factory=list)
    drg: DrgResult | None = None
    lines: list[ServiceLine] = field(default_factory=list)
    admitted: date | None = None
    discharged: date | None = None
    admission_type: str = "1"  # UB-04 FL14: 1 emergency, 3 elective
    point_of_origin: str = "1"  # UB-04 FL15: 1 non-health-care facility, 2 clinic
    discharge_status: str = "01"

    @property
    def total(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0.00"))


def _identifier(res: dict, system: str | None = None, type_code: str | None = None) -> str:
    for ident in res.get("identifier", []):
        codes = {c.get("code") for c in ident.get("type", {}).get("coding", [])}
        if (system is None or ident.get("system") == system) and (
            type_code is None or type_code in codes
        ):
            return ident.get("value", "")
    return ""


def _rid(ref: dict | None) -> str:
    return ((ref or {}).get("reference") or "").rsplit("/", 1)[-1].removeprefix("urn:uuid:")


def _read_optional(tx, rtype: str, rid: str) -> dict | None:
    if not rid:
        return None
    try:
        return tx.read(rtype, rid)
    except NotFound:
        return None


def prepare_claim(
    repo,
    encounter_id: str,
    *,
    kind: str = "institutional",
    payer: Payer | None = None,
    submitter: Submitter = DEMO_SUBMITTER,
    coverage_id: str | None = None,
) -> tuple[ClaimData, list[ClaimEdit]]:
    """Gather a claim for a stored encounter and the edits that block it."""
    if kind not in ("institutional", "professional"):
        raise ValueError("kind is 'institutional' or 'professional'")
    with repo.reading() as tx:
        stay = _read_stay(tx, encounter_id)
        org = _read_optional(tx, "Organization", _rid(stay.encounter.get("serviceProvider")))
        attending = next(
            (
                _read_optional(tx, "Practitioner", _rid(p.get("individual")))
                for p in stay.encounter.get("participant", [])
                if any(c.get("code") == "ATND" for t in p.get("type", []) for c in t["coding"])
            ),
            None,
        )
        coverage = _read_optional(tx, "Coverage", coverage_id or "")
        payor = coverage and _read_optional(
            tx, "Organization", _rid(coverage.get("payor", [{}])[0])
        )
    data = ClaimData(
        kind, f"CK{encounter_id.replace('-', '')[:18].upper()}", stay.encounter, stay.patient
    )
    edits: list[ClaimEdit] = []
    _provider(data, edits, org, attending, submitter, stay)
    _subscriber(data, edits, stay, coverage, payor, payer, coverage_id)
    _codes(data, edits, stay)
    _lines(data)
    return data, edits


def _provider(data, edits, org, attending, submitter, stay: CodedStay) -> None:
    enc_ref = f"Encounter/{stay.encounter['id']}"
    if org is None:
        edits.append(
            ClaimEdit(
                "2010AA billing provider",
                "no billing provider",
                f"{enc_ref} serviceProvider (an Organization)",
            )
        )
        return
    where = f"Organization/{org['id']}"
    data.billing_ref, data.billing_name = where, org.get("name", "")
    data.billing_npi = _identifier(org, NPI)
    data.billing_tax_id = _identifier(org, EIN) or (submitter.billing_tax_id or "")
    if not data.billing_npi:
        edits.append(
            ClaimEdit(
                "2010AA NM109 billing provider NPI", "no NPI", f"{where} identifier (system {NPI})"
            )
        )
    if not data.billing_tax_id:
        edits.append(
            ClaimEdit(
                "2010AA REF*EI billing provider tax id",
                "no tax id",
                f"{where} identifier (system {EIN}) or Submitter.billing_tax_id",
            )
        )
    addr = (org.get("address") or [{}])[0]
    if not (addr.get("line") and addr.get("city") and addr.get("state") and addr.get("postalCode")):
        edits.append(
            ClaimEdit(
                "2010AA N3/N4 billing provider address",
                "incomplete address",
                f"{where} address (line, city, state, postalCode)",
            )
        )
    else:
        data.billing_address = Address(
            addr["line"][0], addr["city"], addr["state"], addr["postalCode"].replace("-", "")
        )
    if attending is None or not _identifier(attending, NPI):
        edits.append(
            ClaimEdit(
                "2310A/2310B attending or rendering provider NPI",
                "no attending practitioner with an NPI",
                f"{enc_ref} participant of type ATND (Practitioner identifier system {NPI})",
            )
        )
    else:
        name = (attending.get("name") or [{}])[0]
        data.attending = (
            name.get("family", ""),
            (name.get("given") or [""])[0],
            _identifier(attending, NPI),
        )


def _subscriber(data, edits, stay, coverage, payor, payer, coverage_id) -> None:
    patient_ref = f"Patient/{stay.patient['id']}"
    if coverage_id and coverage is None:
        edits.append(
            ClaimEdit("2000B SBR subscriber", "coverage not found", f"Coverage/{coverage_id}")
        )
    if coverage:
        data.coverage_ref = f"Coverage/{coverage['id']}"
        data.subscriber_id = coverage.get("subscriberId", "")
    data.subscriber_id = data.subscriber_id or _identifier(stay.patient, type_code="MB")
    if not data.subscriber_id:
        edits.append(
            ClaimEdit(
                "2010BA NM109 subscriber member id",
                "no subscriber id",
                f"Coverage.subscriberId, or {patient_ref} identifier of type MB ({V2_0203})",
            )
        )
    if payer is None and payor is not None and payor.get("name"):
        payer = Payer(payor["name"].upper(), _identifier(payor) or payor["id"][:20])
    data.payer = payer
    if payer is None:
        edits.append(
            ClaimEdit(
                "2010BB NM1*PR payer",
                "no payer",
                "Coverage.payor (an Organization) or the payer argument",
            )
        )
    if not stay.patient.get("birthDate") or stay.patient.get("gender") not in ("male", "female"):
        edits.append(
            ClaimEdit(
                "2010BA DMG subscriber birth date and sex",
                "birth date or sex missing",
                f"{patient_ref} birthDate, gender",
            )
        )


def _codes(data: ClaimData, edits: list[ClaimEdit], stay: CodedStay) -> None:
    enc_ref = f"Encounter/{stay.encounter['id']}"
    data.admitted, data.discharged = stay.start, stay.end
    data.discharge_status = stay.discharge_status
    source = stay.encounter.get("hospitalization", {}).get("admitSource", {})
    elective = any(c.get("code") == "outp" for c in source.get("coding", []))
    data.admission_type, data.point_of_origin = ("3", "2") if elective else ("1", "1")
    data.diagnoses = [(code, poa) for _, code, poa in stay.diagnoses]
    data.procedures = [(code, _proc_day(p) or stay.start) for p, code in stay.procedures]
    reason = stay.encounter.get("reasonCode") or [{}]
    data.admitting_dx = next(
        (c["code"] for c in reason[0].get("coding", []) if c.get("system") == ICD10CM),
        data.diagnoses[0][0] if data.diagnoses else "",
    )
    if not data.diagnoses:
        edits.append(
            ClaimEdit(
                "2300 HI*ABK principal diagnosis",
                "no principal diagnosis",
                f"{enc_ref} diagnosis rank 1 (a Condition with an ICD-10-CM code)",
            )
        )
    if stay.start is None or stay.end is None:
        edits.append(
            ClaimEdit(
                "2300 DTP*434/435 statement and admission dates",
                "no admission or discharge date",
                f"{enc_ref} period",
            )
        )
    if data.kind == "institutional" and data.diagnoses and stay.end is not None:
        try:
            data.drg = group(grouping_input(stay))
        except GroupingError as exc:
            edits.append(ClaimEdit("2300 HI*DR diagnosis related group", str(exc), enc_ref))
        else:
            if data.drg.drg is None or data.drg.drg in (998, 999):
                edits.append(
                    ClaimEdit(
                        "2300 HI*DR diagnosis related group",
                        f"ungroupable ({data.drg.return_code})",
                        enc_ref,
                    )
                )


def _proc_day(proc: dict) -> date | None:
    when = proc.get("performedDateTime") or proc.get("performedPeriod", {}).get("start")
    return date.fromisoformat(when[:10]) if when else None


def _lines(data: ClaimData) -> None:
    start, end = data.admitted, data.discharged
    if start is None or end is None:
        return
    days = max((end - start).days, 1)  # a same-day stay bills one day
    if data.kind == "institutional":
        code, rate = ROOM_AND_BOARD
        data.lines.append(ServiceLine(code, rate * days, days, "DA", start, end))
        for _, when in data.procedures:
            code, price = OPERATING_ROOM
            data.lines.append(ServiceLine(code, price, 1, "UN", when, when))
        return
    (first, p1), (middle, p2), (last, p3) = VISITS
    data.lines.append(ServiceLine(first, p1, 1, "UN", start, start))
    if days > 1:
        data.lines.append(ServiceLine(middle, p2 * (days - 1), days - 1, "UN", start, end))
    data.lines.append(ServiceLine(last, p3, 1, "UN", end, end))


_POA = {"Y": "y", "N": "n", "U": "u", "W": "w"}


def fhir_claim(data: ClaimData, created: date) -> dict:
    """The FHIR R4 Claim for `data` (diagnosis.packageCode carries the MS-DRG)."""
    institutional = data.kind == "institutional"
    diagnosis = []
    for seq, (code, poa) in enumerate(data.diagnoses, start=1):
        entry: dict = {
            "sequence": seq,
            "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": code}]},
            "type": [
                _cc(
                    "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                    "principal" if seq == 1 else "secondary",
                )
            ],
        }
        if institutional and poa in _POA:
            entry["onAdmission"] = _cc(
                "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission", _POA[poa]
            )
        if seq == 1 and data.drg and data.drg.drg:
            entry["packageCode"] = _cc(MS_DRG, f"{data.drg.drg:03d}", data.drg.title)
        diagnosis.append(entry)
    res: dict = {
        "resourceType": "Claim",
        "id": data.claim_id.lower(),
        "status": "active",
        "type": _cc("http://terminology.hl7.org/CodeSystem/claim-type", data.kind),
        "use": "claim",
        "patient": {"reference": f"Patient/{data.patient['id']}"},
        "created": created.isoformat(),
        "provider": {"reference": data.billing_ref},
        "priority": _cc("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        "insurance": [{"sequence": 1, "focal": True, "coverage": _coverage(data)}],
        "diagnosis": diagnosis,
        "total": {"value": float(data.total), "currency": "USD"},
    }
    if data.admitted and data.discharged:
        res["billablePeriod"] = {
            "start": data.admitted.isoformat(),
            "end": data.discharged.isoformat(),
        }
    if institutional and data.procedures:
        res["procedure"] = [
            {
                "sequence": seq,
                "date": when.isoformat(),
                "procedureCodeableConcept": {"coding": [{"system": ICD10PCS, "code": code}]},
            }
            for seq, (code, when) in enumerate(data.procedures, start=1)
        ]
    res["item"] = [_item(seq, line, institutional) for seq, line in enumerate(data.lines, 1)]
    return res


def _coverage(data: ClaimData) -> dict:
    if data.coverage_ref:
        return {"reference": data.coverage_ref}
    payer = data.payer.name if data.payer else "unknown payer"
    return {"display": f"{payer} member {data.subscriber_id}"}


def _item(seq: int, line: ServiceLine, institutional: bool) -> dict:
    item: dict = {"sequence": seq, "diagnosisSequence": [1]}
    if institutional:
        item["revenue"] = _cc(NUBC_REVENUE, line.code)
        # revenue-code lines carry no procedure code; FHIR still requires productOrService
        item["productOrService"] = _cc(
            "http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-applicable"
        )
    else:
        item["productOrService"] = _cc(CPT, line.code)
    if line.start == line.end:
        item["servicedDate"] = line.start.isoformat()
    else:
        item["servicedPeriod"] = {"start": line.start.isoformat(), "end": line.end.isoformat()}
    item["quantity"] = {"value": line.units}
    item["net"] = {"value": float(line.charge), "currency": "USD"}
    return item


def _cc(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def review_coded_stay(repo, stay: CodedStay, data_dir) -> dict:
    """Edits, the MS-DRG (inpatient) and the claim for what is coded now, as the coding
    screen shows them; a part that fails is named in `problems`, the others still run."""
    codes = [code for _, code, _ in stay.diagnoses]
    result: dict = {"edits": [], "drg": None, "claim": None, "claim_edits": [], "problems": []}
    when = service_date(stay.encounter)

    def attempt(what: str, work) -> None:
        # Each part stands alone: a stay the grouper cannot take still gets its edits and claim.
        try:
            work()
        except ChartkeeperError as exc:
            result["problems"].append(f"{what}: {exc.message}")

    def edits() -> None:
        result["edits"] = check_claim(
            codes,
            patient_age=stay.age,
            patient_sex=stay.patient.get("gender"),
            inpatient=is_inpatient(stay.encounter),
            date_of_service=when,
            principal=codes[0],
            poa={c: p for _, c, p in stay.diagnoses if p},
            data_dir=data_dir,
        )

    def drg() -> None:
        result["drg"] = group(grouping_input(stay))

    def claim() -> None:
        result["claim"], result["claim_edits"] = prepare_claim(repo, stay.encounter["id"])

    if when:
        attempt("code edits", edits)
    if is_inpatient(stay.encounter) and stay.end:
        attempt("MS-DRG", drg)
    attempt("claim", claim)
    return result
