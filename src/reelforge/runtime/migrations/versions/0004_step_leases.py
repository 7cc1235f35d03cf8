"""Step leases: a process about to pay for a step key holds a lease on it, so two processes
sharing one data folder (or one database, across machines) never both pay for the same key.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_leases",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("lease_until", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("step_leases")
