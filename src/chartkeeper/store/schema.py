"""The store's tables, as SQLAlchemy Core metadata.

`resource` says which version of every resource is current, `resource_history` holds the
content of every version ever written (deletes included; the current content is read
through `current`, a join, so no JSON is stored twice), and the `idx_*` tables hold one row
per indexed value of the current, non-deleted versions.

The index tables are clustered by resource (their primary key starts with the resource's
type and id; on SQLite they are WITHOUT ROWID tables) with one secondary index by value:
two B-trees per row, where a rowid table with two indexes would be three. Columns that
can be absent (a token's system) hold '' rather than NULL so they can be keys. The migrations in `migrations/versions` create exactly this;
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
    and_,
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

# --- sign-in (chartkeeper.privacy.users): users with hashed passwords, hashed bearer tokens

app_user = Table(
    "app_user",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),  # argon2id, never the password
    Column("role", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created", String(STAMP), nullable=False),
    Column("failed_sign_ins", Integer, nullable=False, server_default="0"),
    Column("locked_until", String(STAMP)),
)

access_token = Table(
    "access_token",
    metadata,
    Column(
        "token_hash", String(64), primary_key=True
    ),  # sha256 of the token; the token is not kept
    Column("username", String(64), nullable=False),
    Column("issued", String(STAMP), nullable=False),
    Column("expires", String(STAMP), nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("last_used", String(STAMP)),  # for log-off after inactivity
)
Index("ix_access_token_user", access_token.c.username)

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

# --- audit trail (chartkeeper.privacy.audit): append-only, each row chained to the last by
# an HMAC, so a changed, removed or inserted row is found by `chartkeeper audit verify`.

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("recorded", String(STAMP), nullable=False),
    Column("username", String(64)),
    Column("role", String(32)),
    Column("action", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("resources", Text, nullable=False),  # JSON list of "Type/id"
    Column("patients", Text, nullable=False),  # JSON list of patient ids concerned
    Column("source", String(64)),  # the client's network address
    Column("purpose", String(32)),  # purpose of use, HL7 v3 ActReason
    Column("break_glass", Boolean, nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
Index("ix_audit_log_recorded", audit_log.c.recorded)

# One row: the last sequence number and hash, so removing rows from the end shows too.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

break_glass_grant = Table(
    "break_glass_grant",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),
    Column("patient_id", String(ID), nullable=False),
    Column("reason", Text, nullable=False),
    Column("granted", String(STAMP), nullable=False),
    Column("expires", String(STAMP), nullable=False),
)
Index("ix_break_glass_user", break_glass_grant.c.username, break_glass_grant.c.expires)

# --- release of information and amendments (chartkeeper.privacy.disclosures, .amendments):
# requests move through states, so these rows are updated, each transition stamped with
# when and by whom. What a request names (requester, authorization, what is asked) is kept
# as JSON: it is read whole, never searched by part. Disclosure records are append-only
# in use; the accounting of disclosures (45 CFR 164.528) reads them by patient and date.

roi_request = Table(
    "roi_request",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String(ID), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # logged | validated | fulfilled | denied
    Column("requester", Text, nullable=False),  # JSON: name, organization, address
    Column("authorization", Text, nullable=False),  # JSON: reference, basis, dates, scope
    Column("asked", Text, nullable=False),  # JSON scope: types, start, end, items
    Column("logged", String(STAMP), nullable=False),
    Column("logged_by", String(64), nullable=False),
    Column("validated", String(STAMP)),
    Column("validated_by", String(64)),
    Column("fulfilled", String(STAMP)),
    Column("fulfilled_by", String(64)),
    Column("denied", String(STAMP)),
    Column("denied_by", String(64)),
    Column("denial_reason", Text),
    Column("withheld", Text),  # JSON list of {ref, reason, sensitive}: the HIM worksheet
    Column("packet", Text),  # path of the packet PDF in the data directory
)
Index("ix_roi_request_patient", roi_request.c.patient_id, roi_request.c.status)

disclosure_record = Table(
    "disclosure_record",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", Integer, nullable=False),
    Column("patient_id", String(ID), nullable=False),
    Column("disclosed", String(STAMP), nullable=False),
    Column("recipient_name", Text, nullable=False),
    Column("recipient_address", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("resources", Text, nullable=False),  # JSON list of "Type/id/_history/n" disclosed
    Column("disclosed_by", String(64), nullable=False),
    Column("exemption", Text),  # the 164.528(a)(1) exemption that applies, NULL if none
)
Index("ix_disclosure_patient", disclosure_record.c.patient_id, disclosure_record.c.disclosed)

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

# --- master patient index review queue (chartkeeper.quality.mpi.queue): candidate duplicate
# pairs that scored between the review and the auto-link thresholds, one row per pair
# (`pair_key` is "a|b" with a < b, unique, so a rescan refreshes the open row instead of
# queueing the pair twice). A decided row keeps its verdict: "not-a-match" rows are fed back
# into later scans so the pair is never linked automatically.

mpi_review = Table(
    "mpi_review",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pair_key", String(2 * (TYPE + ID + 1) + 1), nullable=False),
    Column("a", String(TYPE + ID + 1), nullable=False),  # "Patient/<id>"
    Column("b", String(TYPE + ID + 1), nullable=False),
    Column("probability", Float, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON: levels and Bayes factors per field
    Column("status", String(16), nullable=False),  # open | linked | not-a-match
    Column("found", String(STAMP), nullable=False),  # first queued
    Column("scanned", String(STAMP), nullable=False),  # last seen by a scan
    Column("decided", String(STAMP)),
    Column("reviewer", String(64)),
    Column("note", Text),
)
Index("ux_mpi_review_pair", mpi_review.c.pair_key, unique=True)
Index("ix_mpi_review_status", mpi_review.c.status, mpi_review.c.probability)

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
