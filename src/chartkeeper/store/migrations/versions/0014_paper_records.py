"""Paper records (chartkeeper.paper): legal holds, destruction certificates, chart volumes
and their custody history.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_hold",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("case_ref", sa.String(128)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("placed", sa.String(32), nullable=False),
        sa.Column("placed_by", sa.String(64), nullable=False),
        sa.Column("released", sa.String(32)),
        sa.Column("released_by", sa.String(64)),
        sa.Column("release_reason", sa.Text),
    )
    op.create_index("ix_paper_hold_patient", "paper_hold", ["patient_id", "released"])
    op.create_table(
        "paper_destruction",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("performed", sa.String(32), nullable=False),
        sa.Column("performed_by", sa.String(64), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("jurisdiction", sa.String(32), nullable=False),
        sa.Column("items", sa.Text, nullable=False),
    )
    op.create_table(
        "paper_volume",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("barcode", sa.String(32), nullable=False, unique=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("volume_no", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("location", sa.String(128), nullable=False),
        sa.Column("custodian", sa.String(128)),
        sa.Column("due", sa.String(10)),
        sa.Column("created", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_paper_volume_patient", "paper_volume", ["patient_id"])
    op.create_table(
        "paper_custody",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("volume_id", sa.Integer, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("custodian", sa.String(128)),
        sa.Column("location", sa.String(128), nullable=False),
        sa.Column("due", sa.String(10)),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_paper_custody_volume", "paper_custody", ["volume_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_paper_custody_volume", table_name="paper_custody")
    op.drop_table("paper_custody")
    op.drop_index("ix_paper_volume_patient", table_name="paper_volume")
    op.drop_table("paper_volume")
    op.drop_table("paper_destruction")
    op.drop_index("ix_paper_hold_patient", table_name="paper_hold")
    op.drop_table("paper_hold")
