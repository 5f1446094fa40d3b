"""The disclosure packet of a release of information: what goes in it, and its two forms.

What goes in (`choose`): the records the request asks for AND the authorization covers
(45 CFR 164.508(c)(1)(i), a `Scope`), leaving out sensitive records whose category the
authorization does not name (42 CFR 2.31 for substance use treatment, 164.508(a)(2) for
psychotherapy notes, which no other authorization may be combined with: 164.508(b)(3)(ii)).
Everything left out is a `Withheld`, with its reason, for the HIM worksheet.

The forms: a FHIR document Bundle (`bundle`: a Composition cover note, then exactly the
enclosed resources) and a readable PDF (`write_pdf`: a cover sheet, then each record
rendered for a person, notes decoded from their base64 attachments). Both carry, next to
an amended record, the denied amendment, the patient's statement of disagreement and the
rebuttal (164.526(d)(5)), and the 42 CFR 2.32 notice when substance use records go out.

The outgoing cover note lists records left out as outside the authorization, but names
no record withheld for its sensitivity: saying "an HIV record was withheld" would itself
disclose it (and 42 CFR 2.13(c) forbids acknowledging a Part 2 patient). Every packet
carries the same standing sentence instead; the worksheet keeps the full list.
"""

from __future__ import annotations

import base64
import binascii
import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF

from chartkeeper.privacy import policy
from chartkeeper.privacy.amendments import Amendment

SENSITIVE = {code: name for (_system, code), name in policy.SENSITIVE_LABELS.items()}
PSYCHOTHERAPY, PART2 = "PSYTHPN", "ETH"
_CITE = {PSYCHOTHERAPY: "45 CFR 164.508(a)(2)", PART2: "42 CFR 2.31"}
STANDING_NOTE = (
    "Information that federal or state law protects specially (for example substance use "
    "treatment, HIV, psychotherapy notes) is enclosed only where the authorization names it."
)
PART2_NOTICE = (  # 42 CFR 2.32(a)(1), the statement that must accompany a Part 2 disclosure
    "42 CFR part 2 prohibits unauthorized use or disclosure of these records."
)
# Where each type keeps its date of care, most specific first.
_DATE_PATHS = (
    "effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "period.start",
    "performedDateTime", "performedPeriod.start", "occurrenceDateTime", "onsetDateTime",
    "onsetPeriod.start", "recordedDate", "authoredOn", "context.period.start", "date",
    "issued", "created", "recorded",
)  # fmt: skip


@dataclass(frozen=True)
class Withheld:
    ref: str
    reason: str
    sensitive: bool = False  # named only on the worksheet, never in the packet


def _path(res: dict, dotted: str):
    value = res
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def clinical_date(res: dict) -> str | None:
    """The date of care (YYYY-MM-DD) a resource is about, for a scope's date range."""
    for dotted in _DATE_PATHS:
        value = _path(res, dotted)
        if isinstance(value, str):
            return value[:10]
    return None


def security_codes(res: dict) -> set[str]:
    """The sensitive categories (policy.SENSITIVE_LABELS codes) a resource is labelled with."""
    return {
        s.get("code", "")
        for s in res.get("meta", {}).get("security", [])
        if (s.get("system", ""), s.get("code", "")) in policy.SENSITIVE_LABELS
    }


@dataclass(frozen=True)
class Scope:
    """What an authorization covers or a request asks for (164.508(c)(1)(i)): resource types
    ("*" for every type) and/or dates of care (YYYY-MM-DD, inclusive) and/or named items."""

    types: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    items: tuple[str, ...] = ()

    @property
    def by_criteria(self) -> bool:
        return bool(self.types or self.start or self.end)

    @property
    def empty(self) -> bool:
        return not (self.by_criteria or self.items)

    def why_not(self, res: dict) -> str | None:
        """None when this scope covers the resource, else why it does not."""
        if f"{res['resourceType']}/{res['id']}" in self.items:
            return None
        if not self.by_criteria:
            return "not one of the items named"
        if self.types and "*" not in self.types and res["resourceType"] not in self.types:
            return f"type {res['resourceType']} not covered"
        if (self.start or self.end) and res["resourceType"] != "Patient":
            day = clinical_date(res)  # demographics have no date of care, so they always fit
            if day is None:
                return "no date of care to place within the dates covered"
            if (self.start and day < self.start) or (self.end and day > self.end):
                return f"dated {day}, outside {self.start or '…'} to {self.end or '…'}"
        return None

    def describe(self) -> str:
        parts = []
        if self.types:
            parts.append("all record types" if "*" in self.types else ", ".join(self.types))
        if self.start or self.end:
            parts.append(f"care from {self.start or 'the start'} to {self.end or 'now'}")
        if self.items:
            parts.append("items " + ", ".join(self.items))
        return "; ".join(parts) or "nothing"


def sensitive_reason(res: dict, authorized: tuple[str, ...]) -> str | None:
    """Why a record may not go out under an authorization naming `authorized` categories."""
    codes = security_codes(res)
    if PSYCHOTHERAPY in authorized and PSYCHOTHERAPY not in codes:
        return "a psychotherapy notes authorization covers nothing else (45 CFR 164.508(b)(3)(ii))"
    missing = sorted(codes - set(authorized))
    if not missing:
        return None
    cites = sorted({_CITE.get(c, "state law and facility policy") for c in missing})
    names = ", ".join(SENSITIVE[c] for c in missing)
    return f"{names}: disclosed only under an authorization that names it ({'; '.join(cites)})"


def choose(
    records: list[dict], asked: Scope, covers: Scope, sensitive: tuple[str, ...]
) -> tuple[list[dict], list[Withheld]]:
    """Split the patient's records into what goes out and what is withheld (and why).
    Records the request does not ask for are neither."""
    enclosed, withheld = [], []
    found = set()
    for res in records:
        ref = f"{res['resourceType']}/{res['id']}"
        found.add(ref)
        if asked.why_not(res) is not None:
            continue
        if reason := covers.why_not(res):
            withheld.append(Withheld(ref, f"outside the authorization: {reason}"))
        elif reason := sensitive_reason(res, sensitive):
            withheld.append(Withheld(ref, reason, sensitive=True))
        else:
            enclosed.append(res)
    withheld += [Withheld(ref, "not in the record") for ref in asked.items if ref not in found]
    # For the reader: the patient first, then the record in the order care happened.
    enclosed.sort(key=lambda r: (r["resourceType"] != "Patient", clinical_date(r) or "", r["id"]))
    return enclosed, withheld


# --- rendering records for people --------------------------------------------------------------


def _concept(cc) -> str:
    if isinstance(cc, list):
        return "; ".join(filter(None, map(_concept, cc)))
    if not isinstance(cc, dict):
        return ""
    if "coding" not in cc and "text" not in cc:  # a Coding (Encounter.class), not a concept
        return cc.get("display") or cc.get("code", "")
    codings = cc.get("coding") or [{}]
    return cc.get("text") or codings[0].get("display") or codings[0].get("code", "")


def _quantity(q: dict) -> str:
    return f"{q.get('comparator', '')}{q.get('value', '')} {q.get('unit') or q.get('code', '')}".strip()


def _value(res: dict) -> str:
    for key, value in res.items():
        if not key.startswith("value"):
            continue
        if key in ("valueQuantity", "valueAge", "valueDuration"):
            return _quantity(value)
        if key == "valueCodeableConcept":
            return _concept(value)
        if key == "valueRange":
            return f"{_quantity(value.get('low', {}))} to {_quantity(value.get('high', {}))}"
        if key == "valuePeriod":
            return f"{value.get('start', '')} to {value.get('end', '')}"
        return str(value)
    return ""


def attachment_text(att: dict) -> str:
    """An attachment's text: plain or HTML text is decoded from base64, other kinds named."""
    kind = att.get("contentType", "")
    if "data" in att and (not kind or kind.startswith("text/")):
        try:
            text = base64.b64decode(att["data"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return f"[{kind or 'attachment'} that is not readable text]"
        return re.sub(r"<[^>]+>", " ", text) if "html" in kind else text
    if "data" in att:
        return f"[{kind} attachment, {len(att['data']) * 3 // 4} bytes: in the FHIR bundle]"
    return f"[attachment held at {att['url']}]" if att.get("url") else ""


def _patient(res: dict) -> list[tuple[str, str]]:
    ids = "; ".join(
        f"{_concept(i.get('type')) or i.get('system', '')}: {i.get('value', '')}"
        for i in res.get("identifier", [])
    )
    address = "; ".join(
        a.get("text")
        or ", ".join(
            [*a.get("line", []), a.get("city", ""), a.get("state", ""), a.get("postalCode", "")]
        )
        for a in res.get("address", [])
    )
    return [
        ("Name", patient_name(res)),
        ("Born", res.get("birthDate", "")),
        ("Sex", res.get("gender", "")),
        ("Identifiers", ids),
        ("Address", address),
        ("Phone", "; ".join(t.get("value", "") for t in res.get("telecom", []))),
        ("Deceased", str(res.get("deceasedDateTime") or res.get("deceasedBoolean") or "")),
    ]


def _generic(res: dict) -> list[tuple[str, str]]:
    what = next(
        (
            res[k]
            for k in ("code", "type", "vaccineCode", "medicationCodeableConcept", "class")
            if k in res
        ),
        None,
    )
    components = "; ".join(
        f"{_concept(c.get('code'))}: {_value(c)}" for c in res.get("component", [])
    )
    period = res.get("period") or {}
    texts = [attachment_text(c.get("attachment", {})) for c in res.get("content", [])]
    texts += [attachment_text(a) for a in res.get("presentedForm", [])]
    return [
        ("What", _concept(what)),
        ("Date", clinical_date(res) or ""),
        ("Until", period.get("end", "")[:10] if res["resourceType"] == "Encounter" else ""),
        ("Status", _concept(res.get("clinicalStatus")) or res.get("status", "")),
        ("Value", _value(res)),
        ("Components", components),
        ("Interpretation", _concept(res.get("interpretation"))),
        ("Reason", _concept(res.get("reasonCode"))),
        ("Description", res.get("description", "")),
        ("Conclusion", res.get("conclusion", "")),
        ("Notes", "; ".join(n.get("text", "") for n in res.get("note", []))),
        ("Text", "\n\n".join(filter(None, texts))),
    ]


def details(res: dict) -> list[tuple[str, str]]:
    """A resource as label/value lines for a person; empty values left out."""
    rows = _patient(res) if res["resourceType"] == "Patient" else _generic(res)
    return [(label, value) for label, value in rows if value]


def patient_name(res: dict) -> str:
    for name in res.get("name", []):
        return (
            name.get("text") or " ".join([*name.get("given", []), name.get("family", "")]).strip()
        )
    return f"Patient/{res.get('id', '')}"


def summary(res: dict) -> str:
    rows = dict(details(res))
    what = rows.get("Name") or rows.get("What") or ""
    return " ".join(filter(None, [f"{res['resourceType']}/{res['id']}", rows.get("Date"), what]))


def amendment_lines(item: Amendment) -> list[str]:
    lines = [
        f"Amendment request {item.id}, received {item.received[:10]} from {item.requested_by}: "
        f"{item.requested_change}",
        f"Denied {(item.decided or '')[:10]}: {item.denial_reason}",
    ]
    if item.disagreement:
        lines.append(f"Patient's statement of disagreement: {item.disagreement}")
    if item.rebuttal:
        lines.append(f"Provider's rebuttal: {item.rebuttal}")
    return lines


# --- the two forms -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Packet:
    request_id: int
    stamp: str
    patient: dict  # named on the cover even when the Patient resource is not enclosed
    requester: list[tuple[str, str]]  # cover-sheet lines: label, value
    purpose: str
    authorization: list[tuple[str, str]]
    enclosed: list[dict]
    withheld: list[Withheld]
    amendments: dict[str, list[Amendment]]  # by "Type/id" of an enclosed record
    prepared_by: str
    # Scanned paper (chartkeeper.paper): the page images of an enclosed document, by
    # "Type/id", each printed as a page of its own after the record's details.
    scans: dict[str, list[bytes]] = field(default_factory=dict)

    @property
    def notices(self) -> list[str]:
        part2 = any(PART2 in security_codes(r) for r in self.enclosed)
        return [STANDING_NOTE, *([PART2_NOTICE] if part2 else [])]

    def withheld_lines(self) -> list[str]:
        return [f"{w.ref}: {w.reason}" for w in self.withheld if not w.sensitive]


def _section(title: str, lines: list[str], refs: list[str] = ()) -> dict:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines) or "<li>None.</li>"
    section = {
        "title": title,
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{items}</ul></div>',
        },
    }
    if refs:
        section["entry"] = [{"reference": ref} for ref in refs]
    return section


def bundle(p: Packet, base: str) -> dict:
    """The packet as a FHIR document Bundle: the cover note (a Composition), then exactly
    the enclosed resources. `base`: the FHIR base URL their fullUrls are built on."""
    refs = [f"{r['resourceType']}/{r['id']}" for r in p.enclosed]
    sections = [
        _section(
            "Requester and purpose",
            [f"{k}: {v}" for k, v in p.requester] + [f"Purpose: {p.purpose}"],
        ),
        _section("Authorization", [f"{k}: {v}" for k, v in p.authorization]),
        _section("Enclosed", [summary(r) for r in p.enclosed], refs),
        _section("Not enclosed", p.withheld_lines()),
        *(
            _section(
                f"Amendment requests about {ref}",
                [line for a in items for line in amendment_lines(a)],
                [ref],
            )
            for ref, items in p.amendments.items()
        ),
        _section("Notices", p.notices),
    ]
    cover = {
        "resourceType": "Composition",
        "id": f"roi-{p.request_id}",
        "status": "final",
        "type": {"text": "Release of information cover note"},
        "confidentiality": "R",
        "subject": {"reference": f"Patient/{p.patient['id']}", "display": patient_name(p.patient)},
        "date": p.stamp,
        "author": [{"display": f"Health information management ({p.prepared_by})"}],
        "title": f"Release of information, request {p.request_id}",
        "section": sections,
    }
    entries = [{"fullUrl": f"{base}/Composition/{cover['id']}", "resource": cover}]
    entries += [
        {"fullUrl": f"{base}/{ref}", "resource": r} for ref, r in zip(refs, p.enclosed, strict=True)
    ]
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:chartkeeper:roi-request", "value": str(p.request_id)},
        "type": "document",
        "timestamp": p.stamp,
        "entry": entries,
    }


_LATIN = str.maketrans(
    {"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "•": "-"}
)


def _latin(text: str) -> str:
    """The PDF's built-in fonts are Latin-1: map what has a near equivalent, mark the rest."""
    return text.translate(_LATIN).encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def __init__(self, footer: str):
        super().__init__(format="letter")
        self._footer = _latin(footer)
        self.set_auto_page_break(True, margin=18)
        self.set_margins(18, 18)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 5, f"{self._footer}  Page {self.page_no()} of {{nb}}", align="C")

    def heading(self, text: str, size: int = 13) -> None:
        self.set_font("Helvetica", "B", size)
        self.multi_cell(0, size * 0.55, _latin(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def pair(self, label: str, value: str) -> None:
        self.set_font("Helvetica", "B", 9)
        self.cell(34, 5, _latin(label))
        self.set_font("Helvetica", "", 9)
        self.multi_cell(0, 5, _latin(value), new_x="LMARGIN", new_y="NEXT")

    def lines(self, lines: list[str]) -> None:
        self.set_font("Helvetica", "", 9)
        for line in lines or ["None."]:
            self.multi_cell(0, 5, _latin(f"- {line}"), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)


def write_pdf(p: Packet, path: Path) -> Path:
    """The packet for people: a cover sheet, then each enclosed record in turn."""
    pdf = _Pdf(f"CONFIDENTIAL health information. Release of information request {p.request_id}.")
    pdf.set_title(f"Release of information, request {p.request_id}")
    pdf.add_page()
    pdf.heading("Release of information", 16)
    pdf.pair("Prepared", f"{p.stamp[:10]} by {p.prepared_by} (request {p.request_id})")
    pdf.pair("Patient", f"{patient_name(p.patient)}, born {p.patient.get('birthDate', 'unknown')}")
    for label, value in [*p.requester, ("Purpose", p.purpose)]:
        pdf.pair(label, value)
    pdf.ln(2)
    pdf.heading("Authorization", 11)
    for label, value in p.authorization:
        pdf.pair(label, value)
    pdf.ln(2)
    pdf.heading(f"Enclosed records ({len(p.enclosed)})", 11)
    pdf.lines([summary(r) for r in p.enclosed])
    pdf.heading("Not enclosed", 11)
    pdf.lines(p.withheld_lines())
    pdf.heading("Notices", 11)
    pdf.lines(p.notices)
    for res in p.enclosed:
        pdf.ln(3)
        pdf.heading(f"{res['resourceType']} {res['id']}", 11)
        for label, value in details(res):
            pdf.pair(label, value)
        for item in p.amendments.get(f"{res['resourceType']}/{res['id']}", []):
            pdf.heading("Amendment requested and denied (45 CFR 164.526)", 10)
            pdf.lines(amendment_lines(item))
        pages = p.scans.get(f"{res['resourceType']}/{res['id']}", [])
        for number, image in enumerate(pages, 1):
            pdf.add_page()
            pdf.heading(f"{res['resourceType']} {res['id']}: scanned page {number} of "
                        f"{len(pages)}", 10)  # fmt: skip
            top = pdf.get_y()
            # the page as scanned, fitted inside the margins above the footer
            pdf.image(io.BytesIO(image), x=pdf.l_margin, y=top, keep_aspect_ratio=True,
                      w=pdf.epw, h=pdf.h - top - 20)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path
