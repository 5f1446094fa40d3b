"""Shared builder for clinical documents (DocumentReference with a plain-text attachment).

Any module that writes a note (notes, oncology's pathology reports, a plugin planting
identifiers in text) builds it here so all documents share one shape: signed documents have
docStatus "final" and an authenticator; unsigned ones are "preliminary" without one.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime

from ..facility import Practitioner
from ..fhirutil import b64, concept, dt, text_attachment
from ..model import Chart, Visit
from ..module import ChartContext
from ..terminology import CLINICAL_NOTE, NOTE_TYPE


def document_reference(
    ctx: ChartContext,
    chart: Chart,
    visit: Visit,
    kind: str,
    text: str,
    written: datetime,
    author: Practitioner,
    signed: bool = True,
) -> dict:
    """Build, add to the chart and to `visit.documents`, and return a DocumentReference."""
    note_type = NOTE_TYPE[kind]
    res: dict = {
        "resourceType": "DocumentReference",
        "id": ctx.new_id(),
        "status": "current",
        "docStatus": "final" if signed else "preliminary",
        "type": concept(note_type),
        "category": [concept(CLINICAL_NOTE)],
        "subject": {"reference": chart.patient_ref},
        "date": dt(written),
        "author": [{"reference": author.ref, "display": author.display}],
    }
    if signed:
        res["authenticator"] = {"reference": author.ref, "display": author.display}
    res["description"] = note_type.display
    res["content"] = [{"attachment": text_attachment(text, note_type.display, written)}]
    res["context"] = {
        "encounter": [{"reference": visit.ref}],
        "period": {"start": dt(visit.start), "end": dt(visit.end)},
    }
    chart.add(res)
    visit.documents.append(res)
    return res


def unsign(doc: dict) -> None:
    """Turn a signed document into an unsigned draft (a chart deficiency)."""
    doc["docStatus"] = "preliminary"
    doc.pop("authenticator", None)


def document_text(doc: dict) -> str:
    return base64.b64decode(doc["content"][0]["attachment"]["data"]).decode("utf-8")


def set_document_text(doc: dict, text: str) -> None:
    """Replace a document's text (e.g. to plant identifiers for de-identification tests)."""
    doc["content"][0]["attachment"]["data"] = b64(text)


def redate(doc: dict, when: datetime) -> None:
    """Move a document's authoring time (metadata and the "Written:" line of its text)."""
    doc["date"] = dt(when)
    attachment = doc["content"][0]["attachment"]
    attachment["creation"] = dt(when)
    text = re.sub(
        r"Written: [0-9/]+ [0-9:]+", f"Written: {when:%m/%d/%Y %H:%M}", document_text(doc), count=1
    )
    set_document_text(doc, text)
