"""The audit head carries a seal: an HMAC of its sequence and hash under the audit key, so
rows cut from the end (or all of them) are found even when the head is rewritten to match.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL until chartkeeper, holding the key, writes the first seal (chartkeeper.privacy.audit).
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("seal", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("seal")
