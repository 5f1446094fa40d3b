"""Coding workflow (chartkeeper.coding.workflow): coded encounters and physician queries.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coding_abstract",
        sa.Column("encounter_id", sa.String(64), primary_key=True),
        sa.Column("patient_id", sa.String(64)),
        sa.Column("coder", sa.String(64), nullable=False),
        sa.Column("coded", sa.String(32), nullable=False),
        sa.Column("discharged", sa.String(32)),
        sa.Column("principal", sa.String(16)),
        sa.Column("codes", sa.Text, nullable=False),
        sa.Column("resources", sa.Text, nullable=False),
    )
    op.create_index("ix_coding_abstract_coder", "coding_abstract", ["coder", "coded"])
    op.create_table(
        "physician_query",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("encounter_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64)),
        sa.Column("practitioner", sa.String(129), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text),
        sa.Column("asked_by", sa.String(64), nullable=False),
        sa.Column("asked", sa.String(32), nullable=False),
        sa.Column("closed", sa.String(32)),
        sa.Column("closed_by", sa.String(64)),
    )
    op.create_index("ix_physician_query_status", "physician_query", ["status", "practitioner"])
    op.create_index("ix_physician_query_encounter", "physician_query", ["encounter_id"])


def downgrade() -> None:
    op.drop_index("ix_physician_query_encounter", table_name="physician_query")
    op.drop_index("ix_physician_query_status", table_name="physician_query")
    op.drop_table("physician_query")
    op.drop_index("ix_coding_abstract_coder", table_name="coding_abstract")
    op.drop_table("coding_abstract")
