"""The HL7 v2 message log table and its queries (used by `interfaces.hl7v2.log`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from sqlalchemy import Column, Row, String, Table, Text, delete, insert, select

from chartkeeper.store.base import STAMP, metadata

if TYPE_CHECKING:
    from chartkeeper.store.repository import Transaction

# --- HL7 v2 message log (chartkeeper.interfaces.hl7v2.log): one row per accepted message,
# written in the same transaction as its resources, so a re-sent message is answered with
# the same ACK and nothing is written twice. The key is sender, control id AND content: a
# control id re-used for a different message is a message of its own (migration 0004).

hl7_message_log = Table(
    "hl7_message_log",
    metadata,
    # MSH-3 and MSH-4 as written (HD, at most 227 characters) scope MSH-10 (at most 199).
    Column("sending_application", String(227), primary_key=True),
    Column("sending_facility", String(227), primary_key=True),
    Column("control_id", String(199), primary_key=True),
    Column("message_type", String(32), nullable=False),  # MSH-9.1^MSH-9.2, e.g. ADT^A01
    Column("received", String(STAMP), nullable=False),
    Column("digest", String(32), primary_key=True),  # of the content, separators normalised
    Column("ack_code", String(2), nullable=False),
    Column("ack_text", Text, nullable=False),
    Column("resources", Text, nullable=False),  # JSON list of "Type/id/_history/n" written
)


def find_row(
    tx: Transaction, sender: tuple[str, str], control_id: str, digest: str | None
) -> Row | None:
    """The first accepted message from this sender with this control id (and digest)."""
    c = hl7_message_log.c
    query = select(c.message_type, c.received, c.digest, c.ack_code, c.ack_text, c.resources).where(
        c.sending_application == sender[0],
        c.sending_facility == sender[1],
        c.control_id == control_id,
        c.ack_code == "AA",
    )
    if digest is not None:
        query = query.where(c.digest == digest)
    return tx.conn.execute(query.order_by(c.received).limit(1)).first()


def insert_row(tx: Transaction, **values) -> None:
    """Log a message; a refused one logged earlier under the same key is replaced (an
    accepted one is never: a message accepted is answered from the log, not re-run)."""
    c = hl7_message_log.c
    same = (
        (c.sending_application == values["sending_application"])
        & (c.sending_facility == values["sending_facility"])
        & (c.control_id == values["control_id"])
        & (c.digest == values["digest"])
    )
    if values["ack_code"] != "AA":
        accepted = tx.conn.execute(select(c.ack_code).where(same, c.ack_code == "AA")).first()
        if accepted is not None:
            return
    tx.conn.execute(delete(hl7_message_log).where(same, c.ack_code != "AA"))
    tx.conn.execute(insert(hl7_message_log).values(**values))


def logged_resources(tx: Transaction, sender: tuple[str, str]) -> dict[str, list[str]]:
    """Control id -> the resources ("Type/id/_history/n") each logged message wrote."""
    c = hl7_message_log.c
    query = select(c.control_id, c.resources).where(
        c.sending_application == sender[0], c.sending_facility == sender[1], c.ack_code == "AA"
    )
    return {row.control_id: orjson.loads(row.resources) for row in tx.conn.execute(query)}
