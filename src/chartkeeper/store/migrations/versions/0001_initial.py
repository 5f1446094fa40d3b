"""The resource store: current versions, history and search indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _key() -> list[sa.Column]:
    return [
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
    ]


INDEX_TABLES = {
    "idx_token": (
        [sa.Column("system", sa.String(255)), sa.Column("code", sa.String(255), nullable=False)],
        ("ix_idx_token_value", ["resource_type", "param", "code"]),
    ),
    "idx_string": (
        [
            sa.Column("value", sa.String(255), nullable=False),
            sa.Column("raw", sa.Text, nullable=False),
        ],
        ("ix_idx_string_value", ["resource_type", "param", "value"]),
    ),
    "idx_date": (
        [
            sa.Column("low", sa.String(32), nullable=False),
            sa.Column("high", sa.String(32), nullable=False),
        ],
        ("ix_idx_date_low", ["resource_type", "param", "low"]),
    ),
    "idx_quantity": (
        [
            sa.Column("value", sa.Float, nullable=False),
            sa.Column("system", sa.String(255)),
            sa.Column("code", sa.String(255)),
        ],
        ("ix_idx_quantity_value", ["resource_type", "param", "value"]),
    ),
    "idx_reference": (
        [
            sa.Column("target_type", sa.String(64), nullable=False),
            sa.Column("target_id", sa.String(64), nullable=False),
        ],
        ("ix_idx_reference_target", ["target_type", "target_id"]),
    ),
}


def upgrade() -> None:
    op.create_table(
        "resource",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )
    op.create_table(
        "resource_history",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, primary_key=True),
        sa.Column("last_updated", sa.String(32), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("content", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_history_type_updated", "resource_history", ["resource_type", "last_updated"]
    )
    for name, (columns, (value_index, value_columns)) in INDEX_TABLES.items():
        op.create_table(name, *_key(), *columns)
        op.create_index(f"ix_{name}_resource", name, ["resource_type", "resource_id"])
        op.create_index(value_index, name, value_columns)


def downgrade() -> None:
    for name in reversed(list(INDEX_TABLES)):
        op.drop_table(name)
    op.drop_table("resource_history")
    op.drop_table("resource")
