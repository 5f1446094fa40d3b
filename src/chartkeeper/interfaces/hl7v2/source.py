"""The raw HL7 v2 message kept, and linked to what it produced.

This module owns the message as received: every message, accepted or not, is stored as a
FHIR Binary (content type `x-application/hl7-v2+er7`, the bytes as they arrived), and an
accepted one also gets a Provenance whose targets are the versions it wrote or confirmed
and whose source entity is that Binary. A value left out with a warning (a date we could
not read, a number kept as text) can so always be found again in the original, and a
reviewer can walk from any resource version to the message that made it
(`Provenance?target=...`), as the v2-to-FHIR guide's MessageHeader/Provenance map intends.

Both are FHIR resources in the one guarded store, so reading a raw message is authorised
and audited like any other read of the record.
"""

from __future__ import annotations

import base64
import hashlib

from chartkeeper.fhir.search_params import utc_now
from chartkeeper.interfaces.hl7v2.datatypes import resource_id
from chartkeeper.interfaces.hl7v2.parser import Message
from chartkeeper.store import PutItem, Transaction

CONTENT_TYPE = "x-application/hl7-v2+er7"
_DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_CONTROL_IDS = "urn:chartkeeper:hl7v2:control-id:"


def raw_bytes(raw: bytes | str) -> bytes:
    return raw if isinstance(raw, bytes) else raw.encode("utf-8")


def binary_id(raw: bytes | str) -> str:
    """One Binary per distinct message content: a re-sent message names the same one."""
    return resource_id("Binary", hashlib.blake2b(raw_bytes(raw), digest_size=16).hexdigest())


def binary(raw: bytes | str) -> dict:
    return {
        "resourceType": "Binary",
        "id": binary_id(raw),
        "contentType": CONTENT_TYPE,
        "data": base64.b64encode(raw_bytes(raw)).decode(),
    }


def _sender(message: Message) -> str:
    app, facility = (message.msh.get(3), message.msh.get(4))
    return " / ".join(p for p in (app, facility) if p) or "unnamed sender (no MSH-3/MSH-4)"


def provenance(message: Message, raw: bytes | str, targets: list[str]) -> dict:
    """The Provenance of one accepted message: its targets are "Type/id/_history/n"."""
    kind = f"{message.type}^{message.event}"
    app, facility = message.sender
    key = resource_id("Provenance", app, facility, message.control_id, binary_id(raw))
    what = {
        "reference": f"Binary/{binary_id(raw)}",
        "display": f"HL7 v2 {kind} message {message.control_id} from {_sender(message)}",
    }
    if message.control_id:
        scope = hashlib.blake2b(f"{app}|{facility}".encode(), digest_size=8).hexdigest()
        what["identifier"] = {"system": _CONTROL_IDS + scope, "value": message.control_id}
    return {
        "resourceType": "Provenance",
        "id": key,
        "target": [{"reference": t} for t in targets],
        "recorded": utc_now(),
        "activity": {
            "coding": [{"system": _DATA_OPERATION, "code": "UPDATE", "display": "revise"}],
            "text": f"HL7 v2 {kind}",
        },
        "agent": [
            {
                "type": {"coding": [{"system": _PARTICIPANT, "code": "author"}]},
                "who": {"display": _sender(message)},
            }
        ],
        "entity": [{"role": "source", "what": what}],
    }


def keep(tx: Transaction, raw: bytes | str, message: Message | None, targets: list[str]) -> list:
    """Store the raw message (and, for an accepted one with targets, its Provenance) in
    `tx`; returns "Type/id/_history/n" of what was written."""
    items = [PutItem(binary(raw))]
    if message is not None and targets:
        items.append(PutItem(provenance(message, raw, targets)))
    results = tx.put_many(items)
    return [
        f"{r.resource['resourceType']}/{r.resource['id']}/_history/{r.resource['meta']['versionId']}"
        for r in results
    ]
