"""Bulk Data export jobs are rows, so they survive a restart and a worker runs them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_job",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64)),
        sa.Column("request_url", sa.Text, nullable=False),
        sa.Column("folder", sa.Text, nullable=False),
        sa.Column("types", sa.Text, nullable=False),
        sa.Column("since", sa.String(32)),
        sa.Column("patient_compartment", sa.Boolean, nullable=False),
        sa.Column("transaction_time", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exported", sa.Integer, nullable=False),
        sa.Column("counts", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("finished", sa.String(32)),
    )
    op.create_index("ix_export_job_status", "export_job", ["status"])


def downgrade() -> None:
    op.drop_index("ix_export_job_status", "export_job")
    op.drop_table("export_job")
