"""MDM^T01 and MDM^T02 (HL7 v2 chapter 9, medical records / information management) to
DocumentReference.

This module owns clinical notes: TXA describes the document, the OBX segments carry it.
Per the v2-to-FHIR TXA[DocumentReference] map: TXA-2 document type (table 0270), TXA-3
content presentation (table 0191, the attachment's content type), TXA-6 origination time
(date, attachment creation), TXA-4 activity time (context period), TXA-9 originator
(author, else TXA-5 primary activity provider), TXA-10 authenticator (else TXA-22), TXA-12
unique document number (masterIdentifier, and the resource id, so a re-sent or replaced
note updates one resource), TXA-17 completion status (table 0271, to docStatus), TXA-19
availability (table 0273, to status), TXA-25 title (description). The OBX text lines (TX,
FT, ST) become one text/plain attachment with the line breaks kept; ED and RP values
become further attachments.

The even events T02, T04, T06, T08 and T10 ("... and content") must carry OBX content;
the odd ones (notifications, 9.6.1) may carry none: the attachment then has only a title
and content type, and content already stored for the same document is kept. T03/T04
(status change) and T07/T08 (edit) update the document TXA-12 names; T05/T06 (addendum)
and T09/T10 (replacement) are documents of their own that append to or replace the
parent TXA-13 names (relatesTo; the replaced one becomes superseded); T11 (cancel) marks
the document entered-in-error.
"""

from __future__ import annotations

import base64

from chartkeeper.interfaces.hl7v2.build import Build, overlay
from chartkeeper.interfaces.hl7v2.coded import cwe_concept
from chartkeeper.interfaces.hl7v2.datatypes import (
    ei_identifier,
    resource_id,
    to_datetime,
    to_instant,
    xcn_reference,
)
from chartkeeper.interfaces.hl7v2.errors import SEGMENT_SEQUENCE, Location, error
from chartkeeper.interfaces.hl7v2.observations import attachment, text_lines
from chartkeeper.interfaces.hl7v2.parser import Segment
from chartkeeper.interfaces.hl7v2.patient import put_encounter, put_patient

EVENTS = frozenset(f"T{n:02d}" for n in range(1, 12))
# Chapter 9 trigger events: the ones that must carry the document (OBX) ...
_WITH_CONTENT = frozenset({"T02", "T04", "T06", "T08", "T10"})
# ... and how the document relates to the one TXA-13 (parent document number) names.
_RELATION = {"T05": "appends", "T06": "appends", "T09": "replaces", "T10": "replaces"}
# Table 0191 document content presentation (TXA-3) -> MIME type, for the ones that have one.
_PRESENTATION = {
    "TX": "text/plain",
    "TEXT": "text/plain",
    "FT": "text/x-hl7-ft",
    "AP": "application/octet-stream",
}
# Table 0271 document completion status -> composition-status (docStatus).
_DOC_STATUS = {
    "AU": "final",
    "LA": "final",
    "PA": "preliminary",
    "DI": "preliminary",
    "DO": "preliminary",
    "IN": "preliminary",
    "IP": "preliminary",
}
# Table 0273 document availability status -> document-reference-status.
_STATUS = {"AV": "current", "UN": "current", "OB": "superseded", "CA": "entered-in-error"}


def handle_mdm(build: Build) -> None:
    """T01/T02 original, T03/T04 status change, T05/T06 addendum, T07/T08 edit, T09/T10
    replacement (each: notification, then notification and content), T11 cancel."""
    event = build.message.event
    patient_id = put_patient(build, build.require("PID"))
    pv1 = build.message.first("PV1")
    encounter = put_encounter(build, pv1, patient_id, status=None, required=False) if pv1 else None
    txa = build.require("TXA")
    obx = [s for s in build.message.segments if s.name == "OBX" and s.line > txa.line]
    if not obx and event in _WITH_CONTENT:
        raise error(
            Location("OBX"), SEGMENT_SEQUENCE, f"MDM^{event} carries the note in OBX; none found"
        )
    build.require_value(txa, 12, "unique document number")
    document = _document(build, txa, patient_id, encounter)
    if event == "T11":  # cancel: the document was made in error
        document["status"] = "entered-in-error"
    if event in _RELATION:
        _relate(build, txa, document, _RELATION[event])
    if obx:
        document["content"] = _content(build, txa, obx, document)
        build.put(document, txa.loc())
        return
    document["content"] = [{"attachment": _announced(build, txa, document)}]
    build.put(document, txa.loc(), merge=_keep_content)


def _relate(build: Build, txa: Segment, document: dict, relation: str) -> None:
    """An addendum appends to, a replacement replaces, the parent document (TXA-13); the
    replaced one is marked superseded."""
    if not txa.get(13):
        build.warn(
            txa.loc(13), f"TXA-13 parent document number is empty: what it {relation} is unknown"
        )
        return
    number = ei_identifier(txa.rep(13), build.sender_system)
    parent_id = resource_id("DocumentReference", number.get("system", ""), number["value"])
    parent = build.existing("DocumentReference", parent_id)
    if parent is None:
        # A logical reference: the parent may arrive later, and a literal one to a document
        # not on file would dangle.
        build.warn(txa.loc(13), f"the document this {relation} is not on file")
        document["relatesTo"] = [{"code": relation, "target": {"identifier": number}}]
        return
    target = {"reference": f"DocumentReference/{parent_id}"}
    document["relatesTo"] = [{"code": relation, "target": target}]
    if relation == "replaces":
        build.put({**parent, "status": "superseded"}, txa.loc(13))


def _keep_content(old: dict | None, new: dict) -> dict:
    # A notification without content must not erase the content a T02 already delivered.
    merged = overlay(old, new)
    if old is not None and old.get("content"):
        merged["content"] = old["content"]
    return merged


def _announced(build: Build, txa: Segment, document: dict) -> dict:
    """The attachment of a document announced without content: what it is, not what it
    says."""
    attachment: dict = {}
    kind = _PRESENTATION.get(txa.get(3).upper())
    if kind:
        attachment["contentType"] = kind
    title = document.get("description") or _display(document.get("type"))
    if title:
        attachment["title"] = title
    creation = to_datetime(txa.get(6), txa.loc(6), build.tz)
    if creation:
        attachment["creation"] = creation
    return attachment or {"contentType": "application/octet-stream"}


def _document(build: Build, txa: Segment, patient_id: str, encounter: str | None) -> dict:
    number = ei_identifier(txa.rep(12), build.sender_system)
    document: dict = {
        "resourceType": "DocumentReference",
        "id": resource_id("DocumentReference", number.get("system", ""), number["value"]),
        "masterIdentifier": number,
        "status": _STATUS.get(txa.get(19).upper(), "current"),
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    completion = txa.get(17).upper()
    if completion:
        if completion not in _DOC_STATUS:
            build.warn(txa.loc(17), f"{completion!r} is not in table 0271; docStatus left out")
        else:
            document["docStatus"] = _DOC_STATUS[completion]
    kind = cwe_concept(txa.rep(2), "0270")
    if kind:
        document["type"] = kind
    created = to_instant(txa.get(6), txa.loc(6), build.tz)
    if created:
        document["date"] = created
    authors = [xcn_reference(r) for r in txa.reps(9) or txa.reps(5)]
    if any(authors):
        document["author"] = [a for a in authors if a]
    authenticator = xcn_reference(txa.rep(10)) or xcn_reference(txa.rep(22))
    if authenticator:
        document["authenticator"] = authenticator
    if txa.get(25):
        document["description"] = txa.rep(25).text()
    context: dict = {}
    if encounter:
        context["encounter"] = [{"reference": encounter}]
    activity = to_datetime(txa.get(4), txa.loc(4), build.tz)
    if activity:
        context["period"] = {"start": activity}
    if context:
        document["context"] = context
    return document


def _content(build: Build, txa: Segment, obx: list[Segment], document: dict) -> list[dict]:
    lines: list[str] = []
    attachments: list[dict] = []
    for segment in obx:
        kind = segment.get(2).upper()
        if kind in ("TX", "FT", "ST"):
            lines.extend(text_lines(segment))
        elif kind in ("ED", "RP"):
            attachments.extend(attachment(segment, kind))
        else:
            build.warn(segment.loc(2), f"OBX of type {kind or '(none)'} is not document content")
    title = document.get("description") or _display(document.get("type"))
    creation = to_datetime(txa.get(6), txa.loc(6), build.tz)
    text = "\n".join(lines).strip("\n")
    if text:
        attachments.insert(
            0,
            {
                "contentType": "text/plain; charset=utf-8",
                "data": base64.b64encode(text.encode()).decode(),
            },
        )
    if not attachments:
        # The note was announced without a body we can read; keep what describes it.
        build.warn(Location("OBX"), "no document content in TX, FT, ST, ED or RP values")
        attachments.append({"contentType": "text/plain"})
    for item in attachments:
        if title:
            item.setdefault("title", title)
        if creation:
            item.setdefault("creation", creation)
    return [{"attachment": a} for a in attachments]


def _display(concept: dict | None) -> str | None:
    if not concept:
        return None
    return concept.get("text") or next(
        (c.get("display") or c.get("code") for c in concept.get("coding", [])), None
    )
