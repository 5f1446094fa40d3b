"""Patient merge records and their queries (used by `chartkeeper.quality.merge`, `.unmerge`)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from chartkeeper.store.base import ID, STAMP, metadata

# --- patient merges (chartkeeper.quality.merge, .unmerge): one row per merge. `changes`
# lists every resource the merge wrote as [type, id, version before, version after], so an
# unmerge restores exactly those versions and can tell what was changed since. An unmerge
# stamps the row (it is refused when already stamped) and lists what it wrote the same way.

patient_merge = Table(
    "patient_merge",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", String(ID), nullable=False),  # the record merged away
    Column("survivor_id", String(ID), nullable=False),
    Column("merged", String(STAMP), nullable=False),
    Column("merged_by", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("provenance_id", String(ID), nullable=False),
    Column("changes", Text, nullable=False),  # JSON list of [type, id, before, after]
    Column("unmerged", String(STAMP)),
    Column("unmerged_by", String(64)),
    Column("unmerge_reason", Text),
    Column("unmerge_provenance_id", String(ID)),
    Column("unmerge_changes", Text),  # JSON list of [type, id, before, after]
)
Index("ix_patient_merge_source", patient_merge.c.source_id)
Index("ix_patient_merge_survivor", patient_merge.c.survivor_id)
