"""HL7 v2 message log: accepted messages by sender and control id, with their ACK.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hl7_message_log",
        sa.Column("sending_application", sa.String(227), primary_key=True),
        sa.Column("sending_facility", sa.String(227), primary_key=True),
        sa.Column("control_id", sa.String(199), primary_key=True),
        sa.Column("message_type", sa.String(32), nullable=False),
        sa.Column("received", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("ack_code", sa.String(2), nullable=False),
        sa.Column("ack_text", sa.Text, nullable=False),
        sa.Column("resources", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hl7_message_log")
