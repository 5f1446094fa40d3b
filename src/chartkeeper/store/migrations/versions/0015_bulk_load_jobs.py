"""Bulk load jobs (chartkeeper.store.bulk): which bundles a resumable load has committed.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "load_job",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("inputs", sa.String(64), nullable=False),
        sa.Column("started", sa.String(32), nullable=False),
        sa.Column("finished", sa.String(32)),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("resources", sa.Integer, nullable=False),
        sa.Column("deferred_indexes", sa.Boolean, nullable=False),
    )
    op.create_table(
        "load_job_unit",
        sa.Column("job_id", sa.Integer, primary_key=True),
        sa.Column("unit", sa.String(32), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("load_job_unit")
    op.drop_table("load_job")
