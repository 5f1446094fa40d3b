"""The HL7 v2 message log: which messages were accepted, and what we answered.

HL7 v2 senders re-send a message when its ACK is lost (2.9.2, original mode), with the
same MSH-10 control id, which is meant to be unique per sending application and facility.
In practice senders re-use control ids for different messages (counters restart, test
feeds copy headers), so a message is known by sender, control id AND a digest of its
content. The same message again is answered with the stored ACK and nothing is written; a
different message under a control id already seen is processed as the new message it is
(process.py adds a warning to its ACK). The log row is written in the same transaction as
the message's resources, so "written" and "logged" cannot disagree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

from chartkeeper.fhir.search_params import utc_now
from chartkeeper.interfaces.hl7v2.parser import Message
from chartkeeper.store import Transaction
from chartkeeper.store import hl7_log as store

# The delimiters HL7 recommends (2.5.4): the content digest is taken over the message
# written with these, so a re-send through an engine that changed delimiters still matches.
_STANDARD = {"field": "|", "component": "^", "repetition": "~", "escape": "\\"}
_STANDARD_SUB, _STANDARD_TRUNCATION = "&", "#"
# What a standard delimiter character that is plain data in the message becomes (2.7.1).
_ESCAPES = {"|": "F", "^": "S", "~": "R", "\\": "E", "&": "T", "#": "P"}


@dataclass(frozen=True)
class LoggedMessage:  # an accepted message (refused ones are never answered from the log)
    message_type: str
    received: str
    digest: str
    ack_code: str
    ack_text: str
    resources: list[str]


def canonical(message: Message) -> str:
    """The message as content: standard delimiters, CR segment ends (the parser already
    made them CR), and no trailing empty fields or components, which carry nothing (2.5.3)."""
    seps = message.seps
    delimiters = {getattr(seps, name): std for name, std in _STANDARD.items()}
    delimiters[seps.subcomponent] = _STANDARD_SUB
    if seps.truncation:
        delimiters[seps.truncation] = _STANDARD_TRUNCATION
    table = {ord(d): std for d, std in delimiters.items()}
    for char, code in _ESCAPES.items():
        if char not in delimiters.values() or char in delimiters:
            continue
        table.setdefault(ord(char), f"\\{code}\\")  # data that looks like a delimiter
    if all(d == std for d, std in delimiters.items()):
        table = {}  # the usual case: the message is already canonical
    lines = []
    for line in message.text.split("\r"):
        text = line.translate(table) if table else line
        head, tail = (text[:9], text[9:]) if text.startswith("MSH") else ("", text)
        lines.append(head + tail.rstrip("|^~&"))
    return "\r".join(lines)


def digest(message: Message) -> str:
    return hashlib.blake2b(canonical(message).encode(), digest_size=16).hexdigest()


def raw_digest(raw: bytes | str) -> str:
    """The digest of a message too broken to be read as one."""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "replace")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _logged(row) -> LoggedMessage:
    return LoggedMessage(
        row.message_type,
        row.received,
        row.digest,
        row.ack_code,
        row.ack_text,
        orjson.loads(row.resources),
    )


def find(
    tx: Transaction, sender: tuple[str, str], control_id: str, message_digest: str | None = None
) -> LoggedMessage | None:
    """The logged message with this control id and digest; with no digest, the first one
    logged under the control id (for telling a sender its id was already used)."""
    row = store.find_row(tx, sender, control_id, message_digest)
    return None if row is None else _logged(row)


def record_refused(
    tx: Transaction, sender: tuple[str, str], ack, message_digest: str, resources: list[str]
) -> None:
    """Log a refused message (AE/AR) with the Binary that keeps it. A refused message is
    never answered from the log: a re-send is processed again (the sender may have fixed
    it, or the store was down), and an acceptance replaces this row."""
    store.insert_row(
        tx,
        sending_application=sender[0][:227],
        sending_facility=sender[1][:227],
        control_id=ack.control_id[:199],
        message_type=ack.message_type[:32],
        received=utc_now(),
        digest=message_digest,
        ack_code=ack.code,
        ack_text=ack.text,
        resources=orjson.dumps(resources).decode(),
    )


def record(
    tx: Transaction,
    sender: tuple[str, str],
    control_id: str,
    message_type: str,
    message_digest: str,
    ack_code: str,
    ack_text: str,
    resources: list[str],
) -> None:
    store.insert_row(
        tx,
        sending_application=sender[0],
        sending_facility=sender[1],
        control_id=control_id,
        message_type=message_type,
        received=utc_now(),
        digest=message_digest,
        ack_code=ack_code,
        ack_text=ack_text,
        resources=orjson.dumps(resources).decode(),
    )
