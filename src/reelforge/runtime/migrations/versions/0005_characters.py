"""The character library (story): characters with their profile, and their reference images
(artifact digests in the artifact store).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "characters",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("profile", sa.Text, nullable=False, server_default="{}"),
        sa.Column("profile_source", sa.String(64), nullable=False, server_default="local"),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "character_images",
        sa.Column("character_id", sa.String(32), sa.ForeignKey("characters.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("character_images")
    op.drop_table("characters")
