"""X12 837 claim files: our writer for 837I and 837P, and validation with pyx12.

Implements the ASC X12N 005010 Technical Report Type 3 (TR3) implementation guides
"Health Care Claim: Institutional (837)" 005010X223A2 and "Health Care Claim: Professional
(837)" 005010X222A1, for one claim per file: ISA/GS/ST/BHT envelope; 1000A submitter and
1000B receiver; 2000A/2010AA billing provider (NPI in NM109 with qualifier XX, tax id in
REF*EI); 2000B/2010BA subscriber who is the patient (SBR02 = 18, so no 2000C loop) and
2010BB payer; 2300 claim (CLM, DTP, CL1, HI); 2310A attending (837I) or 2310B rendering
(837P) provider; 2400 service lines (LX with SV2 or SV1 and DTP*472); SE/GE/IEA trailers
whose counts and control numbers match their headers. The package `x12sdk` is not used: it
writes wrong version identifiers (GS08/ST03) and qualifiers.

Element separator `*`, component `:`, repetition `^`, segment terminator `~` (ISA16/ISA11).
Codes are written without the ICD-10 decimal point, as the TR3s require (HI C022-02).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, datetime

from chartkeeper.coding.claims import (
    DEMO_SUBMITTER,
    ClaimData,
    ClaimEdit,
    Payer,
    Submitter,
    fhir_claim,
    prepare_claim,
)

__all__ = ["ClaimBuild", "build_claim", "validate_x12", "write_837"]

VERSION = {"institutional": "005010X223A2", "professional": "005010X222A1"}
HI_MAX = 12  # composites per HI segment (TR3 2300 HI: C022 repeats 12 times)


@dataclass(frozen=True)
class ClaimBuild:
    """The outcome of `build_claim`: edits, or a FHIR Claim and the 837 text."""

    edits: list[ClaimEdit]
    fhir_claim: dict | None
    x12_text: str | None


def build_claim(
    repo,
    encounter_id: str,
    *,
    kind: str = "institutional",
    payer: Payer | None = None,
    submitter: Submitter = DEMO_SUBMITTER,
    coverage_id: str | None = None,
    control_number: int = 1,
    now: datetime | None = None,
) -> ClaimBuild:
    """Build the claim for a stored encounter: 837I (institutional) or 837P (professional).

    Any edit means no file and no Claim: the caller fixes the chart (each edit names the
    segment and the FHIR element to fill) and builds again.

    Example:
        >>> built = build_claim(repo, enc_id, payer=DEMO_PAYER, coverage_id="cov-1")
        >>> built.edits or validate_x12(built.x12_text)
        []
    """
    data, edits = prepare_claim(
        repo, encounter_id, kind=kind, payer=payer, submitter=submitter, coverage_id=coverage_id
    )
    if edits:
        return ClaimBuild(edits, None, None)
    now = now or datetime.now()
    text = write_837(data, submitter, control_number=control_number, now=now)
    return ClaimBuild([], fhir_claim(data, now.date()), text)


def _d8(d: date) -> str:
    return d.strftime("%Y%m%d")


def _money(value) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _clean(value: str) -> str:
    """Strip delimiters and lowercase letters a receiver would misread (TR3 character set)."""
    return "".join(c for c in value.upper() if c not in "*:^~\r\n").strip()


def write_837(
    data: ClaimData, submitter: Submitter, *, control_number: int = 1, now: datetime
) -> str:
    """The 837 text of one claim; `data` must have no edits (see `prepare_claim`)."""
    institutional = data.kind == "institutional"
    ver = VERSION[data.kind]
    seg: list[list[str]] = []
    add = seg.append
    ctl = f"{control_number:09d}"
    st_ctl = f"{control_number % 10000:04d}"
    add(["ST", "837", st_ctl, ver])
    add(["BHT", "0019", "00", data.claim_id, _d8(now), now.strftime("%H%M"), "CH"])
    add(["NM1", "41", "2", _clean(submitter.name), "", "", "", "", "46", submitter.etin])
    add(["PER", "IC", _clean(submitter.contact), "TE", submitter.phone])
    add(
        [
            "NM1",
            "40",
            "2",
            _clean(submitter.receiver_name),
            "",
            "",
            "",
            "",
            "46",
            submitter.receiver_id,
        ]
    )
    add(["HL", "1", "", "20", "1"])
    add(["NM1", "85", "2", _clean(data.billing_name), "", "", "", "", "XX", data.billing_npi])
    _address(add, data.billing_address, plus4=True)
    add(["REF", "EI", data.billing_tax_id])
    add(["HL", "2", "1", "22", "0"])
    assert data.payer is not None
    add(["SBR", "P", "18", "", "", "", "", "", "", data.payer.filing_code])
    _subscriber(add, data)
    add(["NM1", "PR", "2", _clean(data.payer.name), "", "", "", "", "PI", data.payer.payer_id])
    _claim(add, data, institutional)
    for n, line in enumerate(data.lines, start=1):
        add(["LX", str(n)])
        if institutional:
            add(["SV2", line.code, "", _money(line.charge), line.unit, str(line.units)])
        else:
            add(["SV1", f"HC:{line.code}", _money(line.charge), "UN", str(line.units), "", "", "1"])
        add(["DTP", "472", *_period(line.start, line.end)])
    add(["SE", str(len(seg) + 1), st_ctl])
    isa = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        submitter.etin.ljust(15)[:15],
        "ZZ",
        submitter.receiver_id.ljust(15)[:15],
        now.strftime("%y%m%d"),
        now.strftime("%H%M"),
        "^",
        "00501",
        ctl,
        "0",
        submitter.usage,
        ":",
    ]
    gs = [
        "GS",
        "HC",
        submitter.etin,
        submitter.receiver_id,
        _d8(now),
        now.strftime("%H%M"),
        str(control_number),
        "X",
        ver,
    ]
    trailer = [["GE", "1", str(control_number)], ["IEA", "1", ctl]]
    return "".join("*".join(s) + "~\n" for s in [isa, gs, *seg, *trailer])


def _period(start: date, end: date) -> list[str]:
    return ["D8", _d8(start)] if start == end else ["RD8", f"{_d8(start)}-{_d8(end)}"]


def _address(add, addr, *, plus4: bool = False) -> None:
    if addr is None:
        return
    postal = addr.postal_code
    if plus4 and len(postal) == 5:
        # 2010AA N403 must be ZIP+4 (TR3); our demo addresses only have five digits
        postal += "0000"
    add(["N3", _clean(addr.line)])
    add(["N4", _clean(addr.city), addr.state, postal])


def _subscriber(add, data: ClaimData) -> None:
    p = data.patient
    name = (p.get("name") or [{}])[0]
    add(
        [
            "NM1",
            "IL",
            "1",
            _clean(name.get("family", "")),
            _clean((name.get("given") or [""])[0]),
            "",
            "",
            "",
            "MI",
            data.subscriber_id,
        ]
    )
    home = (p.get("address") or [{}])[0]
    if home.get("line") and home.get("city"):
        add(["N3", _clean(home["line"][0])])
        add(
            [
                "N4",
                _clean(home["city"]),
                home.get("state", ""),
                home.get("postalCode", "").replace("-", ""),
            ]
        )
    sex = {"male": "M", "female": "F"}.get(p.get("gender", ""), "U")
    add(["DMG", "D8", p["birthDate"].replace("-", ""), sex])


def _claim(add, data: ClaimData, institutional: bool) -> None:
    assert data.admitted and data.discharged
    # CLM05: facility type 11 (hospital inpatient, Part A) qualifier A, or place of service
    # 21 (inpatient hospital) qualifier B; frequency 1 = original claim.
    place = "11:A:1" if institutional else "21:B:1"
    clm = ["CLM", data.claim_id, _money(data.total), "", "", place]
    add([*clm, "", "A", "Y", "Y"] if institutional else [*clm, "Y", "A", "Y", "Y"])
    dx = [code.replace(".", "") for code, _ in data.diagnoses]
    if institutional:
        add(["DTP", "434", "RD8", f"{_d8(data.admitted)}-{_d8(data.discharged)}"])
        add(["DTP", "435", "D8", _d8(data.admitted)])
        add(["CL1", data.admission_type, data.point_of_origin, data.discharge_status])
        # C022-09 carries the present-on-admission indicator (Y, N, U, W; blank if exempt)
        poa = [p for _, p in data.diagnoses]
        add(["HI", f"ABK:{dx[0]}" + (f":::::::{poa[0]}" if poa[0] else "")])
        add(["HI", f"ABJ:{data.admitting_dx.replace('.', '')}"])
        # TR3 2300 order: principal, admitting, DRG, other diagnoses, procedures
        if data.drg and data.drg.drg:
            add(["HI", f"DR:{data.drg.drg:03d}"])
        others = [f"ABF:{c}" + (f":::::::{p}" if p else "") for c, p in zip(dx, poa, strict=True)]
        _hi(add, others[1:25])  # 2 HI segments of other diagnoses at most (TR3 2300)
        procs = [f"BBQ:{c}:D8:{_d8(d)}" for c, d in data.procedures]
        if procs:  # the principal procedure has an HI of its own; others follow (24 max)
            add(["HI", "BBR" + procs[0][3:]])
            _hi(add, procs[1:25])
        if data.attending:
            family, given, npi = data.attending
            add(["NM1", "71", "1", _clean(family), _clean(given), "", "", "", "XX", npi])
        return
    _hi(add, [f"ABK:{dx[0]}", *(f"ABF:{c}" for c in dx[1:12])])
    if data.attending:
        family, given, npi = data.attending
        add(["NM1", "82", "1", _clean(family), _clean(given), "", "", "", "XX", npi])


def _hi(add, composites: list[str]) -> None:
    for start in range(0, len(composites), HI_MAX):
        add(["HI", *composites[start : start + HI_MAX]])


def validate_x12(text: str) -> list[str]:
    """Every error pyx12 finds in an X12 document against its 005010 map, as text lines.

    pyx12's `x12n_document` walks the file against the map for the version in GS08 and
    returns False when invalid; its JSON error visitor (`fd_json`) gives the located errors.
    An empty list means valid.
    """
    import pyx12.params
    import pyx12.x12n_document

    params = pyx12.params.params()
    out = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(params, io.StringIO(text), None, None, fd_json=out)
    errors = _flatten(json.loads(out.getvalue() or "{}"))
    if not ok and not errors:
        errors = ["pyx12 rejected the document without a located error"]
    return errors


def _flatten(doc: dict) -> list[str]:
    found: list[str] = []

    def walk(node: dict, where: str) -> None:
        for e in node.get("errors", []):
            found.append(f"{where}: {e.get('err_cde')} {e.get('err_str')}")
        for seg in node.get("segments", []):
            at = f"{where} {seg.get('seg_id')}#{seg.get('seg_count')}"
            walk(seg, at)
            for ele in seg.get("elements", []):
                walk(ele, f"{at} element {ele.get('ele_pos')}")
        for key in ("interchanges", "groups", "transactions"):
            for child in node.get(key, []):
                walk(child, f"{where}/{key[:-1]}".lstrip("/"))

    walk(doc, "")
    return found
