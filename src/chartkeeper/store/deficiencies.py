"""Chart deficiency tables and their queries (used by `chartkeeper.quality.deficiencies`)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from chartkeeper.store.base import ID, STAMP, TYPE, metadata

# --- chart deficiencies (chartkeeper.quality.deficiencies): what a record still lacks, found
# by the rules in quality/rules/*.toml, assigned to the person the record names, closed by
# itself when the record is fixed. `key` names the finding (rule and resource); `open_key`
# is the same while the deficiency is open and NULL once closed, so a unique index allows
# one open deficiency per finding even when two writers re-evaluate a chart at once.

deficiency = Table(
    "deficiency",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", String(64), nullable=False),
    Column("rule_set", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("patient_id", String(ID), nullable=False),
    Column("encounter_id", String(ID)),
    Column("resource", String(TYPE + ID + 1), nullable=False),  # "Type/id" the rule examined
    Column("responsible_role", String(32), nullable=False),  # attending | author | ... | him
    Column("responsible", String(TYPE + ID + 1)),  # Practitioner reference from the record
    Column("assignee", String(TYPE + ID + 1)),  # who works it; NULL: the HIM pool
    Column("detail", Text, nullable=False),
    Column("discharged", String(STAMP)),  # the encounter's end, for delinquency
    Column("opened", String(STAMP), nullable=False),  # when the deadline passed
    Column("detected", String(STAMP), nullable=False),  # when a scan or write first saw it
    Column("status", String(8), nullable=False),  # open | closed
    Column("closed", String(STAMP)),
    Column("closed_reason", String(32)),  # fixed | fixed-late | rule-retired | removed
    Column("key", String(255), nullable=False),
    Column("open_key", String(255)),
    Column("notes", Text, nullable=False),  # JSON list of {at, by, kind, text}
)
Index("ix_deficiency_patient", deficiency.c.patient_id, deficiency.c.status)
Index("ix_deficiency_assignee", deficiency.c.assignee, deficiency.c.status)
Index("ix_deficiency_key", deficiency.c.key)
Index("ux_deficiency_open", deficiency.c.open_key, unique=True)

# One row per evaluated chart: how many checks the rules made and how many failed, overall
# and per responsible provider (JSON {"Practitioner/x": [checked, failed]}), for the
# completeness scores.
deficiency_chart = Table(
    "deficiency_chart",
    metadata,
    Column("patient_id", String(ID), primary_key=True),
    Column("checked", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("by_provider", Text, nullable=False),
    Column("evaluated", String(STAMP), nullable=False),
)
