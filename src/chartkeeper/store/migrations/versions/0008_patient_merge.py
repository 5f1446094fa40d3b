"""Patient merges: one row per merge, with every resource version it changed, so an
unmerge knows exactly what to restore (chartkeeper.quality.merge, .unmerge).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_merge",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("survivor_id", sa.String(64), nullable=False),
        sa.Column("merged", sa.String(32), nullable=False),
        sa.Column("merged_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("provenance_id", sa.String(64), nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("unmerged", sa.String(32)),
        sa.Column("unmerged_by", sa.String(64)),
        sa.Column("unmerge_reason", sa.Text),
        sa.Column("unmerge_provenance_id", sa.String(64)),
        sa.Column("unmerge_changes", sa.Text),
    )
    op.create_index("ix_patient_merge_source", "patient_merge", ["source_id"])
    op.create_index("ix_patient_merge_survivor", "patient_merge", ["survivor_id"])


def downgrade() -> None:
    op.drop_table("patient_merge")
