"""feed_messages and feed_cancels: each HL7 v2 message a feed had applied (sender, MSH-10) with the ACKs it got;
cancels that arrived before the event they cancel

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_messages",
        sa.Column("sender", sa.String(400), primary_key=True),
        sa.Column("control_id", sa.String(199), primary_key=True),
        sa.Column(
            "acks", sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"), nullable=False
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "feed_cancels",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sender", sa.String(400), nullable=False),
        sa.Column("key", sa.String(600), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("control_id", sa.String(199), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_feed_cancels_sender_key", "feed_cancels", ["sender", "key"])


def downgrade() -> None:
    op.drop_index("ix_feed_cancels_sender_key", table_name="feed_cancels")
    op.drop_table("feed_cancels")
    op.drop_table("feed_messages")
