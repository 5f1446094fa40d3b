"""Amendment requests (45 CFR 164.526) and their queries (used by
`chartkeeper.privacy.amendments`)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from chartkeeper.store.base import ID, STAMP, TYPE, metadata

# One row per request; moves requested -> accepted | denied, each step stamped.
amendment_request = Table(
    "amendment_request",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String(ID), nullable=False),
    Column("resource_type", String(TYPE), nullable=False),
    Column("resource_id", String(ID), nullable=False),
    Column("base_version", Integer, nullable=False),  # the version the patient asked about
    Column("requested_change", Text, nullable=False),
    Column("proposed", Text),  # JSON: the patient's proposed new version, if any
    Column("requested_by", Text, nullable=False),
    Column("received", String(STAMP), nullable=False),
    Column("logged_by", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # requested | accepted | denied
    Column("extended", String(STAMP)),
    Column("extended_by", String(64)),
    Column("extension_reason", Text),
    Column("decided", String(STAMP)),
    Column("decided_by", String(64)),
    Column("new_version", Integer),
    Column("provenance_id", String(ID)),
    Column("denial_reason", Text),
    Column("include_in_disclosures", Boolean, nullable=False),
    Column("disagreement", Text),
    Column("disagreement_received", String(STAMP)),
    Column("rebuttal", Text),
    Column("rebuttal_by", String(64)),
)
Index("ix_amendment_resource", amendment_request.c.resource_type, amendment_request.c.resource_id)
Index("ix_amendment_patient", amendment_request.c.patient_id)
