"""Cancer registry (chartkeeper.registry): one row per tumour the registry tracks.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_case",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("primary_site", sa.String(8)),
        sa.Column("histology", sa.String(8)),
        sa.Column("behavior", sa.String(2)),
        sa.Column("laterality", sa.String(2)),
        sa.Column("diagnosis_date", sa.String(10)),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("overrides", sa.Text, nullable=False),
        sa.Column("mp_rule", sa.Text),
        sa.Column("created", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("activity", sa.Text, nullable=False),
    )
    op.create_index("ix_registry_case_patient", "registry_case", ["patient_id"])
    op.create_index("ix_registry_case_status", "registry_case", ["status", "diagnosis_date"])


def downgrade() -> None:
    op.drop_index("ix_registry_case_status", table_name="registry_case")
    op.drop_index("ix_registry_case_patient", table_name="registry_case")
    op.drop_table("registry_case")
