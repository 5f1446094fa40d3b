"""Paper scanning and indexing (chartkeeper.paper.scanning): scanned content stored once by
SHA-256, and every scanned page with its fate (cover, blank, filed, queued) and OCR text.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_blob",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created", sa.String(32), nullable=False),
    )
    op.create_table(
        "paper_scan_page",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("batch", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("page_no", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("document_id", sa.String(64)),
        sa.Column("patient_id", sa.String(64)),
        sa.Column("ocr_text", sa.Text),
        sa.Column("words", sa.Text),
        sa.Column("scanned", sa.String(32), nullable=False),
        sa.Column("scanned_by", sa.String(64), nullable=False),
        sa.Column("assigned", sa.String(32)),
        sa.Column("assigned_by", sa.String(64)),
    )
    op.create_index("ix_paper_scan_page_status", "paper_scan_page", ["status", "id"])
    op.create_index("ix_paper_scan_page_document", "paper_scan_page", ["document_id", "seq"])
    op.create_index("ix_paper_scan_page_source", "paper_scan_page", ["source_sha256"])
    op.create_table(
        "paper_misfile",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("from_patient", sa.String(64), nullable=False),
        sa.Column("to_patient", sa.String(64), nullable=False),
        sa.Column("from_encounter", sa.String(64)),
        sa.Column("to_encounter", sa.String(64)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("moved", sa.String(32), nullable=False),
        sa.Column("moved_by", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("repointed", sa.Text, nullable=False),
        sa.Column("disclosures", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("paper_misfile")
    op.drop_index("ix_paper_scan_page_source", table_name="paper_scan_page")
    op.drop_index("ix_paper_scan_page_document", table_name="paper_scan_page")
    op.drop_index("ix_paper_scan_page_status", table_name="paper_scan_page")
    op.drop_table("paper_scan_page")
    op.drop_table("paper_blob")
