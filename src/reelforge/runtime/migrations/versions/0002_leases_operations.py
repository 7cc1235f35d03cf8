"""Run liveness by a heartbeat lease (not host + pid, which says nothing across machines), and
long-running operations' handles, filed under their step key so a rerun resumes polling.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime, nullable=True))
    op.create_table(
        "operations",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("handle", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("operations")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("lease_until")
