"""Release of information (45 CFR 164.508, 164.524, 164.528) and amendments (164.526):
requests, disclosure records for the accounting of disclosures, amendment requests.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roi_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requester", sa.Text, nullable=False),
        sa.Column("authorization", sa.Text, nullable=False),
        sa.Column("asked", sa.Text, nullable=False),
        sa.Column("logged", sa.String(32), nullable=False),
        sa.Column("logged_by", sa.String(64), nullable=False),
        sa.Column("validated", sa.String(32)),
        sa.Column("validated_by", sa.String(64)),
        sa.Column("fulfilled", sa.String(32)),
        sa.Column("fulfilled_by", sa.String(64)),
        sa.Column("denied", sa.String(32)),
        sa.Column("denied_by", sa.String(64)),
        sa.Column("denial_reason", sa.Text),
        sa.Column("withheld", sa.Text),
        sa.Column("packet", sa.Text),
    )
    op.create_index("ix_roi_request_patient", "roi_request", ["patient_id", "status"])
    op.create_table(
        "disclosure_record",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("disclosed", sa.String(32), nullable=False),
        sa.Column("recipient_name", sa.Text, nullable=False),
        sa.Column("recipient_address", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("resources", sa.Text, nullable=False),
        sa.Column("disclosed_by", sa.String(64), nullable=False),
        sa.Column("exemption", sa.Text),
    )
    op.create_index("ix_disclosure_patient", "disclosure_record", ["patient_id", "disclosed"])
    op.create_table(
        "amendment_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("requested_change", sa.Text, nullable=False),
        sa.Column("proposed", sa.Text),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("received", sa.String(32), nullable=False),
        sa.Column("logged_by", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("extended", sa.String(32)),
        sa.Column("extended_by", sa.String(64)),
        sa.Column("extension_reason", sa.Text),
        sa.Column("decided", sa.String(32)),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("new_version", sa.Integer),
        sa.Column("provenance_id", sa.String(64)),
        sa.Column("denial_reason", sa.Text),
        sa.Column("include_in_disclosures", sa.Boolean, nullable=False),
        sa.Column("disagreement", sa.Text),
        sa.Column("disagreement_received", sa.String(32)),
        sa.Column("rebuttal", sa.Text),
        sa.Column("rebuttal_by", sa.String(64)),
    )
    op.create_index("ix_amendment_resource", "amendment_request", ["resource_type", "resource_id"])
    op.create_index("ix_amendment_patient", "amendment_request", ["patient_id"])


def downgrade() -> None:
    op.drop_table("amendment_request")
    op.drop_table("disclosure_record")
    op.drop_table("roi_request")
