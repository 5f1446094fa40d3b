"""HL7 v2 message log keyed by content too: sender, control id and digest.

Senders re-use MSH-10 control ids for different messages (the sample feeds do, and real
interface engines restart their counters). With the content digest in the key, a re-sent
message is still found and answered from the log, while a different message that re-uses
a control id gets a row of its own instead of being refused.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SENDER = ["sending_application", "sending_facility", "control_id"]


def _table(key: list[str]) -> sa.Table:
    """The log as 0003 made it, with `key` as its primary key."""
    types = {
        "sending_application": sa.String(227),
        "sending_facility": sa.String(227),
        "control_id": sa.String(199),
        "message_type": sa.String(32),
        "received": sa.String(32),
        "digest": sa.String(32),
        "ack_code": sa.String(2),
        "ack_text": sa.Text(),
        "resources": sa.Text(),
    }
    return sa.Table(
        "hl7_message_log",
        sa.MetaData(),
        *(sa.Column(name, kind, nullable=False) for name, kind in types.items()),
        sa.PrimaryKeyConstraint(*key),
    )


def _set_key(key: list[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot alter a primary key: the table is rebuilt with the new one.
        with op.batch_alter_table("hl7_message_log", recreate="always", copy_from=_table(key)):
            pass
    else:
        op.drop_constraint("hl7_message_log_pkey", "hl7_message_log", type_="primary")
        op.create_primary_key("hl7_message_log_pkey", "hl7_message_log", key)


def upgrade() -> None:
    _set_key([*_SENDER, "digest"])


def downgrade() -> None:
    # The old key holds one row per control id: keep the first message of each.
    same = " AND ".join(f"e.{c} = hl7_message_log.{c}" for c in _SENDER)
    op.execute(
        sa.text(
            "DELETE FROM hl7_message_log WHERE EXISTS (SELECT 1 FROM hl7_message_log e "
            f"WHERE {same} AND (e.received < hl7_message_log.received "
            "OR (e.received = hl7_message_log.received AND e.digest < hl7_message_log.digest)))"
        )
    )
    _set_key(_SENDER)
