"""The HL7 v2 message log: which control ids were accepted, and what we answered.

HL7 v2 senders re-send a message when its ACK is lost (2.9.2, original mode), with the
same MSH-10 control id, unique per sending application and facility. The log row is
written in the same transaction as the message's resources, so "written" and "logged"
cannot disagree: a control id found here is answered with the stored ACK and nothing is
written again. A control id re-used for a different message (different digest) is refused
instead of silently dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson
from sqlalchemy import insert, select

from chartkeeper.fhir.search_params import utc_now
from chartkeeper.store import Transaction
from chartkeeper.store.schema import hl7_message_log


@dataclass(frozen=True)
class LoggedMessage:
    message_type: str
    received: str
    digest: str
    ack_code: str
    ack_text: str
    resources: list[str]


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def find(tx: Transaction, sender: tuple[str, str], control_id: str) -> LoggedMessage | None:
    c = hl7_message_log.c
    row = tx.conn.execute(
        select(c.message_type, c.received, c.digest, c.ack_code, c.ack_text, c.resources).where(
            c.sending_application == sender[0],
            c.sending_facility == sender[1],
            c.control_id == control_id,
        )
    ).first()
    if row is None:
        return None
    return LoggedMessage(
        row.message_type,
        row.received,
        row.digest,
        row.ack_code,
        row.ack_text,
        orjson.loads(row.resources),
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
    tx.conn.execute(
        insert(hl7_message_log).values(
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
    )
