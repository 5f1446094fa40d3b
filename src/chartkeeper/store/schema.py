"""The store's tables, as SQLAlchemy Core metadata.

`resource` holds the current version of every resource, `resource_history` every version
ever written (deletes included), and the `idx_*` tables one row per indexed value of the
current, non-deleted versions. The migrations in `migrations/versions` create exactly this;
`tests/store/test_migrations.py` checks the two never drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

TYPE = 64  # longest R4 resource type name is 34; room for profiles of our own
ID = 64  # FHIR id: [A-Za-z0-9\-\.]{1,64}
STAMP = 32  # sortable UTC instants, see fhir.search_params.parse_date_range

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
    Column("content", Text, nullable=False),
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


def _index_table(name: str, *columns: Column) -> Table:
    table = Table(
        name,
        metadata,
        Column("resource_type", String(TYPE), nullable=False),
        Column("resource_id", String(ID), nullable=False),
        Column("param", String(64), nullable=False),
        *columns,
    )
    Index(f"ix_{name}_resource", table.c.resource_type, table.c.resource_id)
    return table


idx_token = _index_table(
    "idx_token", Column("system", String(255)), Column("code", String(255), nullable=False)
)
Index("ix_idx_token_value", idx_token.c.resource_type, idx_token.c.param, idx_token.c.code)

idx_string = _index_table(
    "idx_string", Column("value", String(255), nullable=False), Column("raw", Text, nullable=False)
)
Index("ix_idx_string_value", idx_string.c.resource_type, idx_string.c.param, idx_string.c.value)

idx_date = _index_table(
    "idx_date",
    Column("low", String(STAMP), nullable=False),
    Column("high", String(STAMP), nullable=False),
)
Index("ix_idx_date_low", idx_date.c.resource_type, idx_date.c.param, idx_date.c.low)

idx_quantity = _index_table(
    "idx_quantity",
    Column("value", Float, nullable=False),
    Column("system", String(255)),
    Column("code", String(255)),
)
Index(
    "ix_idx_quantity_value",
    idx_quantity.c.resource_type,
    idx_quantity.c.param,
    idx_quantity.c.value,
)

idx_reference = _index_table(
    "idx_reference",
    Column("target_type", String(TYPE), nullable=False),
    Column("target_id", String(ID), nullable=False),
)
Index("ix_idx_reference_target", idx_reference.c.target_type, idx_reference.c.target_id)

INDEX_TABLES = {
    "token": idx_token,
    "string": idx_string,
    "date": idx_date,
    "quantity": idx_quantity,
    "reference": idx_reference,
}

# --- sign-in (chartkeeper.privacy.users): users with hashed passwords, hashed bearer tokens

app_user = Table(
    "app_user",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),  # argon2id, never the password
    Column("role", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created", String(STAMP), nullable=False),
)

access_token = Table(
    "access_token",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the token; the token is not kept
    Column("username", String(64), nullable=False),
    Column("issued", String(STAMP), nullable=False),
    Column("expires", String(STAMP), nullable=False),
    Column("revoked", Boolean, nullable=False),
)
Index("ix_access_token_user", access_token.c.username)

# --- HL7 v2 message log (chartkeeper.interfaces.hl7v2.log): one row per accepted message,
# written in the same transaction as its resources, so a re-sent control id is answered
# with the same ACK and nothing is written twice.

hl7_message_log = Table(
    "hl7_message_log",
    metadata,
    # MSH-3 and MSH-4 as written (HD, at most 227 characters) scope MSH-10 (at most 199).
    Column("sending_application", String(227), primary_key=True),
    Column("sending_facility", String(227), primary_key=True),
    Column("control_id", String(199), primary_key=True),
    Column("message_type", String(32), nullable=False),  # MSH-9.1^MSH-9.2, e.g. ADT^A01
    Column("received", String(STAMP), nullable=False),
    Column("digest", String(32), nullable=False),  # of the message text: resend or reuse?
    Column("ack_code", String(2), nullable=False),
    Column("ack_text", Text, nullable=False),
    Column("resources", Text, nullable=False),  # JSON list of "Type/id/_history/n" written
)
