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


def _key(name: str, kind=None) -> sa.Column:
    return sa.Column(name, kind if kind is not None else sa.String(255), primary_key=True)


# name: (columns after resource_type, resource_id, param; columns of the value index)
INDEX_TABLES = {
    "idx_token": ([_key("code"), _key("system")], ["resource_type", "param", "code"]),
    "idx_string": ([_key("value"), _key("raw")], ["resource_type", "param", "value"]),
    "idx_date": (
        [_key("low", sa.String(32)), _key("high", sa.String(32))],
        ["resource_type", "param", "low"],
    ),
    "idx_quantity": (
        [_key("value", sa.Float), _key("system"), _key("code")],
        ["resource_type", "param", "value"],
    ),
    "idx_reference": (
        [_key("target_type", sa.String(64)), _key("target_id", sa.String(64))],
        ["target_type", "target_id", "resource_type", "param"],
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
    for name, (columns, value_index) in INDEX_TABLES.items():
        op.create_table(
            name,
            sa.Column("resource_type", sa.String(64), primary_key=True),
            sa.Column("resource_id", sa.String(64), primary_key=True),
            sa.Column("param", sa.String(64), primary_key=True),
            *(c._copy() for c in columns),
            sqlite_with_rowid=False,
        )
        op.create_index(f"ix_{name}_value", name, value_index)


def downgrade() -> None:
    for name in reversed(list(INDEX_TABLES)):
        op.drop_table(name)
    op.drop_table("resource_history")
    op.drop_table("resource")
