"""Master patient index review queue: candidate duplicate pairs awaiting a person's verdict
(chartkeeper.quality.mpi.queue).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mpi_review",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pair_key", sa.String(259), nullable=False),
        sa.Column("a", sa.String(129), nullable=False),
        sa.Column("b", sa.String(129), nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("found", sa.String(32), nullable=False),
        sa.Column("scanned", sa.String(32), nullable=False),
        sa.Column("decided", sa.String(32)),
        sa.Column("reviewer", sa.String(64)),
        sa.Column("note", sa.Text),
    )
    op.create_index("ux_mpi_review_pair", "mpi_review", ["pair_key"], unique=True)
    op.create_index("ix_mpi_review_status", "mpi_review", ["status", "probability"])


def downgrade() -> None:
    op.drop_table("mpi_review")
