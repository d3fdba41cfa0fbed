"""observations: each charted set of vital signs with its NEWS2 score, for the patient's history

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ward_id", sa.String(64), nullable=False),
        sa.Column("bed_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("nhs_number", sa.String(10), nullable=True),
        sa.Column("patient_name", sa.String(200), nullable=True),
        sa.Column("admitted_at", sa.String(40), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("respiration_rate", sa.Integer(), nullable=False),
        sa.Column("spo2", sa.Integer(), nullable=False),
        sa.Column("spo2_scale", sa.Integer(), nullable=False),
        sa.Column("on_oxygen", sa.Boolean(), nullable=False),
        sa.Column("systolic_bp", sa.Integer(), nullable=False),
        sa.Column("pulse", sa.Integer(), nullable=False),
        sa.Column("consciousness", sa.String(1), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("red_score", sa.Boolean(), nullable=False),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("monitoring", sa.String(16), nullable=False),
        sa.Column("next_due", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_observations_nhs_number", "observations", ["nhs_number", "recorded_at"])
    op.create_index("ix_observations_patient", "observations", ["patient_name", "admitted_at"])
    op.create_index("ix_observations_ward_bed", "observations", ["ward_id", "bed_id", "recorded_at"])


def downgrade() -> None:
    for name in ("ix_observations_ward_bed", "ix_observations_patient", "ix_observations_nhs_number"):
        op.drop_index(name, table_name="observations")
    op.drop_table("observations")
