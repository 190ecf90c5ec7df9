"""Notice for agent-side changes: how long before a start a caller may cancel or move it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

The columns only add to the settings row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = ("cancel_notice_minutes", "reschedule_notice_minutes")


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column(
            "business_settings",
            sa.Column(name, sa.Integer, nullable=False, server_default="0"),
        )


def downgrade() -> None:
    with op.batch_alter_table("business_settings") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)
