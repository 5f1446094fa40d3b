"""Chart deficiencies (chartkeeper.quality.deficiencies): open and closed deficiencies with
their assignee and notes, and per-chart check counts for completeness scores.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deficiency",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("rule_set", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("encounter_id", sa.String(64)),
        sa.Column("resource", sa.String(129), nullable=False),
        sa.Column("responsible_role", sa.String(32), nullable=False),
        sa.Column("responsible", sa.String(129)),
        sa.Column("assignee", sa.String(129)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("discharged", sa.String(32)),
        sa.Column("opened", sa.String(32), nullable=False),
        sa.Column("detected", sa.String(32), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("closed", sa.String(32)),
        sa.Column("closed_reason", sa.String(32)),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("open_key", sa.String(255)),
        sa.Column("notes", sa.Text, nullable=False),
    )
    op.create_index("ix_deficiency_patient", "deficiency", ["patient_id", "status"])
    op.create_index("ix_deficiency_assignee", "deficiency", ["assignee", "status"])
    op.create_index("ix_deficiency_key", "deficiency", ["key"])
    op.create_index("ux_deficiency_open", "deficiency", ["open_key"], unique=True)
    op.create_table(
        "deficiency_chart",
        sa.Column("patient_id", sa.String(64), primary_key=True),
        sa.Column("checked", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("by_provider", sa.Text, nullable=False),
        sa.Column("evaluated", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deficiency_chart")
    op.drop_index("ux_deficiency_open", table_name="deficiency")
    op.drop_index("ix_deficiency_key", table_name="deficiency")
    op.drop_index("ix_deficiency_assignee", table_name="deficiency")
    op.drop_index("ix_deficiency_patient", table_name="deficiency")
    op.drop_table("deficiency")
