"""The HL7 v2 message log table and its queries (used by `interfaces.hl7v2.log`)."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from chartkeeper.store.base import STAMP, metadata

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
