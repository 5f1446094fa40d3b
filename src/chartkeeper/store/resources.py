"""The FHIR store's tables: current versions, every version's content, search indexes.

`resource` says which version of every resource is current, `resource_history` holds the
content of every version ever written (deletes included; the current content is read
through `current`, a join, so no JSON is stored twice), and the `idx_*` tables hold one row
per indexed value of the current, non-deleted versions.

The index tables are clustered by resource (their primary key starts with the resource's
type and id; on SQLite they are WITHOUT ROWID tables) with one secondary index by value:
two B-trees per row, where a rowid table with two indexes would be three. Columns that
can be absent (a token's system) hold '' rather than NULL so they can be keys.

Only `store.repository` (reads and writes) and `store.search` (queries) use these tables;
everything else goes through the Repository.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, Text, and_

from chartkeeper.store.base import ID, STAMP, TYPE, metadata

resource = Table(
    "resource",
    metadata,
    Column("resource_type", String(TYPE), primary_key=True),
    Column("id", String(ID), primary_key=True),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", String(STAMP), nullable=False),
    Column("deleted", Boolean, nullable=False),
    # Hash of the content without meta.versionId/lastUpdated: an unchanged re-import is a no-op.
    Column("content_hash", String(32), nullable=False),
)

resource_history = Table(
    "resource_history",
    metadata,
    Column("resource_type", String(TYPE), primary_key=True),
    Column("id", String(ID), primary_key=True),
    Column("version_id", Integer, primary_key=True),
    Column("last_updated", String(STAMP), nullable=False),
    Column("method", String(8), nullable=False),  # create | update | delete
    Column("content", Text, nullable=True),  # NULL for a delete
)
Index("ix_history_type_updated", resource_history.c.resource_type, resource_history.c.last_updated)

# The current version's row of history: select content from this to read what is live.
current = resource.join(
    resource_history,
    and_(
        resource_history.c.resource_type == resource.c.resource_type,
        resource_history.c.id == resource.c.id,
        resource_history.c.version_id == resource.c.version_id,
    ),
)


def _index_table(name: str, *columns: Column, value: tuple[str, ...]) -> Table:
    """`value`: the columns of the secondary index, after (resource_type, param) unless
    it names resource_type itself (references are looked up by target first)."""
    table = Table(
        name,
        metadata,
        Column("resource_type", String(TYPE), primary_key=True),
        Column("resource_id", String(ID), primary_key=True),
        Column("param", String(64), primary_key=True),
        *columns,
        sqlite_with_rowid=False,
    )
    lead = () if "resource_type" in value else ("resource_type", "param")
    Index(f"ix_{name}_value", *(table.c[c] for c in (*lead, *value)))
    return table


def _key(name: str, kind=None, length: int = 255) -> Column:
    return Column(name, kind or String(length), primary_key=True)


idx_token = _index_table("idx_token", _key("code"), _key("system"), value=("code",))
idx_string = _index_table("idx_string", _key("value"), _key("raw"), value=("value",))
idx_date = _index_table(
    "idx_date", _key("low", length=STAMP), _key("high", length=STAMP), value=("low",)
)
idx_quantity = _index_table(
    "idx_quantity", _key("value", Float), _key("system"), _key("code"), value=("value",)
)
idx_reference = _index_table(
    "idx_reference",
    _key("target_type", length=TYPE),
    _key("target_id", length=ID),
    # Serves both a reference search and "who refers to Patient/x" ($everything, merge).
    value=("target_type", "target_id", "resource_type", "param"),
)

INDEX_TABLES = {
    "token": idx_token,
    "string": idx_string,
    "date": idx_date,
    "quantity": idx_quantity,
    "reference": idx_reference,
}
