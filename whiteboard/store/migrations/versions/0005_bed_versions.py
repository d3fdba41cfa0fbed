"""per-bed versions: beds.seq, the ward seq of each bed's last change

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Backfilled from the audit trail, which records every accepted bed change with its seq in the change's
own transaction: the newest such record of a bed is exactly its last change. A bed never changed
since its ward was created keeps 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("beds") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE beds SET seq = COALESCE((SELECT MAX(audit.seq) FROM audit WHERE audit.ward_id = beds.ward_id "
        "AND audit.bed_id = beds.id AND audit.seq IS NOT NULL AND audit.action NOT LIKE 'read.%'), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("beds") as batch:
        batch.drop_column("seq")
