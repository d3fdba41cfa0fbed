"""load_tests: the load-test results a deployment was shown, for the ops page

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "load_tests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("profile", sa.String(40), nullable=False),
        sa.Column("monthly_multiple", sa.Float(), nullable=False),
        sa.Column("thresholds_passed", sa.Boolean(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("p99_ms", sa.Float(), nullable=False),
        sa.Column("report_name", sa.String(200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_load_tests_finished_at", "load_tests", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_load_tests_finished_at", table_name="load_tests")
    op.drop_table("load_tests")
