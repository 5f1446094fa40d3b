"""Computer-assisted coding (CAC): diagnosis and procedure codes suggested from an
encounter's notes, each with the evidence that supports or rules it out.

    suggest(repo, encounter_id, *, data_dir=None) -> list[Suggestion]
    suggest_documents(documents, *, inpatient, when=None, data_dir=None) -> list[Suggestion]
        documents: [(document id, text)]; `when` is the date of service (fiscal year)

A `Suggestion` is (code, display, kind "diagnosis"|"procedure", score, status
"suggested"|"excluded", reason, evidence=[Evidence(document, start, end, text, sentence,
section, negated, uncertain, historical, family)]); `text` is exactly
`document_text[start:end]`. Suggested codes come first, in order of first appearance.

How (see text.py and rules.py): notes are split into sections and sentences; ConText
triggers flag each mention negated, uncertain, historical or family; mentions are mapped
with the encoder (`coding.search.find`) and kept only at a good score; the ICD-10-CM
Official Guidelines for Coding and Reporting decide what is coded: diagnoses come from the
assessment (Sections III and IV), uncertain diagnoses are coded as confirmed for inpatients
only (II.H, III.C vs IV.H), integral symptoms are not coded (I.B.5, IV.D), history maps to
personal-history codes (I.C.21.c.4, I.C.9.e.4), family history never to the condition.
A suggestion is a prompt for a coder: nothing here writes to the record.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from chartkeeper.store import Repository, Transaction

from .rules import Encoder, Finding, drop_integral_symptoms, read
from .text import mentions, units

__all__ = [
    "Evidence",
    "Suggestion",
    "documents_by_encounter",
    "encounter_documents",
    "is_inpatient",
    "suggest",
    "suggest_documents",
]

# Encounter.class codes (v3 ActCode) that are inpatient admissions for Section II/III;
# observation stays (OBSENC) are outpatient (Section IV.A.2).
INPATIENT_CLASSES = {"IMP", "ACUTE", "NONAC"}


@dataclass
class Evidence:
    document: str
    start: int
    end: int
    text: str
    sentence: str
    section: str
    negated: bool = False
    uncertain: bool = False
    historical: bool = False
    family: bool = False
    status: str = "suggested"  # how this one mention was read: suggested|excluded|support


@dataclass
class Suggestion:
    code: str
    display: str
    kind: str
    score: float
    status: str
    reason: str
    evidence: list[Evidence] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)


def is_inpatient(encounter: dict) -> bool:
    return (encounter.get("class") or {}).get("code") in INPATIENT_CLASSES


def note_text(doc: dict) -> str | None:
    """The text/plain content of a DocumentReference (base64 `data`), if it has one."""
    for content in doc.get("content", []):
        att = content.get("attachment", {})
        if att.get("data") and (att.get("contentType") or "text/plain").startswith("text/"):
            try:
                return base64.b64decode(att["data"]).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                continue
    return None


def encounter_documents(repo: Repository | Transaction, encounter_id: str) -> list[dict]:
    """The encounter's notes (DocumentReference.context.encounter), oldest first."""
    page = repo.search(
        "DocumentReference", [("encounter", f"Encounter/{encounter_id}"), ("_count", "1000")]
    )
    docs = [d for d in page.resources if d.get("status") != "entered-in-error"]
    return sorted(docs, key=lambda d: (d.get("date") or "", d["id"]))


def documents_by_encounter(
    repo: Repository | Transaction, encounter_ids: Iterable[str]
) -> dict[str, list[dict]]:
    """`encounter_documents` for many encounters at once: one search per five hundred
    encounters rather than one each (a worklist of hundreds would otherwise be hundreds of
    searches; the store answers a list of references with one IN per resource type)."""
    ids = list(dict.fromkeys(encounter_ids))
    found: dict[str, list[dict]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        refs = ",".join(f"Encounter/{i}" for i in ids[start : start + 500])
        page = repo.search("DocumentReference", [("encounter", refs), ("_count", "100000")])
        for doc in page.resources:
            if doc.get("status") == "entered-in-error":
                continue
            for enc in (doc.get("context") or {}).get("encounter", []):
                enc_id = (enc.get("reference") or "").rsplit("/", 1)[-1]
                if enc_id in found:
                    found[enc_id].append(doc)
    for docs in found.values():
        docs.sort(key=lambda d: (d.get("date") or "", d["id"]))
    return found


def service_date(encounter: dict) -> date | None:
    """The date that picks the code set: discharge for inpatients, else the visit start."""
    period = encounter.get("period") or {}
    stamp = (period.get("end") if is_inpatient(encounter) else None) or period.get("start")
    try:
        return date.fromisoformat(stamp[:10]) if stamp else None
    except ValueError:
        return None


def suggest(
    repo: Repository, encounter_id: str, *, data_dir: Path | None = None
) -> list[Suggestion]:
    encounter = repo.read("Encounter", encounter_id)
    docs = [
        (d["id"], text)
        for d in encounter_documents(repo, encounter_id)
        if (text := note_text(d)) is not None
    ]
    return suggest_documents(
        docs, inpatient=is_inpatient(encounter), when=service_date(encounter), data_dir=data_dir
    )


def suggest_documents(
    documents: Iterable[tuple[str, str]],
    *,
    inpatient: bool,
    when: date | int | None = None,
    data_dir: Path | None = None,
) -> list[Suggestion]:
    enc = Encoder(when, data_dir)
    found: list[tuple[str, str, Finding]] = []
    for doc_id, text in documents:
        findings = []
        for unit in units(text):
            for mention in mentions(text, unit):
                findings += read(mention, enc, inpatient=inpatient)
        drop_integral_symptoms(findings)
        found += [(doc_id, text, f) for f in findings]
    return _aggregate(found)


def _evidence(doc_id: str, text: str, f: Finding) -> Evidence:
    start, end = f.span
    unit = f.mention.unit
    flags = f.mention.flags
    return Evidence(
        doc_id,
        start,
        end,
        text[start:end],
        text[unit.sentence[0] : unit.sentence[1]],
        unit.section,
        "negated" in flags,
        "uncertain" in flags,
        "historical" in flags,
        "family" in flags,
        f.status,
    )


def _aggregate(found: list[tuple[str, str, Finding]]) -> list[Suggestion]:
    by_code: dict[tuple[str, str], list[tuple[str, str, Finding]]] = {}
    for item in found:
        by_code.setdefault((item[2].kind, item[2].code), []).append(item)
    out: list[tuple[int, Suggestion]] = []
    for order, ((kind, code), items) in enumerate(by_code.items()):
        chosen = [i for i in items if i[2].status == "suggested"]
        excluded = [i for i in items if i[2].status == "excluded"]
        if not chosen and not excluded:
            continue  # only supporting mentions: nothing the assessment asserts
        lead = max(chosen or excluded, key=lambda i: i[2].score)[2]
        status = "suggested" if chosen else "excluded"
        rank = {"suggested": 0, "support": 1, "excluded": 2}
        evidence = [
            _evidence(d, t, f) for d, t, f in sorted(items, key=lambda i: rank[i[2].status])
        ]
        out.append(
            (
                order if chosen else 10_000 + order,
                Suggestion(
                    code, lead.display, kind, round(lead.score, 4), status, lead.reason, evidence
                ),
            )
        )
    return [s for _, s in sorted(out, key=lambda o: o[0])]
