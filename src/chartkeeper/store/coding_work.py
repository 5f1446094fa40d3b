"""Coding workflow tables and their queries (used by `chartkeeper.coding.workflow`)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from chartkeeper.store.base import ID, STAMP, TYPE, metadata

# --- coding workflow (chartkeeper.coding.workflow): one row per coded encounter, and the
# physician queries coders raise. The coded state lives here, not as a tag on the Encounter,
# because coders may write only Condition, Procedure and Claim (privacy.policy); `resources`
# lists the Condition/Procedure ids the coding wrote, so recoding replaces exactly those.

coding_abstract = Table(
    "coding_abstract",
    metadata,
    Column("encounter_id", String(ID), primary_key=True),
    Column("patient_id", String(ID)),
    Column("coder", String(64), nullable=False),
    Column("coded", String(STAMP), nullable=False),
    Column("discharged", String(STAMP)),  # the encounter's end, for DNFB and turnaround
    Column("principal", String(16)),
    Column("codes", Text, nullable=False),  # JSON list of {code, kind, poa}
    Column("resources", Text, nullable=False),  # JSON list of "Type/id"
)
Index("ix_coding_abstract_coder", coding_abstract.c.coder, coding_abstract.c.coded)

# A physician query (AHIMA/ACDIS "Guidelines for Achieving a Compliant Query Practice"): a
# coder's question to a provider, open until answered or withdrawn; kept as a table rather
# than a FHIR Communication because coders may not write Communication resources.
physician_query = Table(
    "physician_query",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("encounter_id", String(ID), nullable=False),
    Column("patient_id", String(ID)),
    Column("practitioner", String(TYPE + ID + 1), nullable=False),  # "Practitioner/<id>"
    Column("question", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open | answered | withdrawn
    Column("answer", Text),
    Column("asked_by", String(64), nullable=False),
    Column("asked", String(STAMP), nullable=False),
    Column("closed", String(STAMP)),  # answered or withdrawn
    Column("closed_by", String(64)),
)
Index("ix_physician_query_status", physician_query.c.status, physician_query.c.practitioner)
Index("ix_physician_query_encounter", physician_query.c.encounter_id)
