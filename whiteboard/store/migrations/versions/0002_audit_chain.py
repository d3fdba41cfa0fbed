"""audit hash chain

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from whiteboard.store.audit import GENESIS, SYSTEM_CHAIN, record_hash

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_chains",
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("pos", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain"),
    )
    with op.batch_alter_table("wards") as batch:
        batch.add_column(sa.Column("audit_pos", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("audit_head", sa.String(length=64), nullable=False, server_default=GENESIS))
    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("chain", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("pos", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    # Chain the records written before this revision, in the order they were written.
    conn = op.get_bind()
    audit = sa.table(
        "audit", *(sa.column(c) for c in (
            "id", "actor", "credential_id", "role", "source", "action", "ward_id", "bed_id", "seq",
            "request_id", "chain", "pos", "prev_hash", "hash",
        )), sa.column("at", sa.DateTime(timezone=True)), sa.column("before", sa.JSON()), sa.column("after", sa.JSON()),
    )  # fmt: skip
    heads: dict[str, tuple[int, str]] = {}
    for row in conn.execute(sa.select(audit).order_by(audit.c.id)).mappings().all():
        chain = row["ward_id"] or SYSTEM_CHAIN
        pos, prev = heads.get(chain, (0, GENESIS))
        rec = {**row, "chain": chain, "pos": pos + 1, "prev_hash": prev}
        digest = record_hash(rec)
        conn.execute(
            audit.update().where(audit.c.id == row["id"]).values(chain=chain, pos=pos + 1, prev_hash=prev, hash=digest)
        )
        heads[chain] = (pos + 1, digest)
    chains = sa.table("audit_chains", sa.column("chain"), sa.column("pos"), sa.column("head"))
    wards = sa.table("wards", sa.column("id"), sa.column("audit_pos"), sa.column("audit_head"))
    system = heads.pop(SYSTEM_CHAIN, (0, GENESIS))  # the row exists from the start: first writers lock it
    conn.execute(chains.insert().values(chain=SYSTEM_CHAIN, pos=system[0], head=system[1]))
    for chain, (pos, head) in heads.items():
        conn.execute(wards.update().where(wards.c.id == chain).values(audit_pos=pos, audit_head=head))
    with op.batch_alter_table("audit") as batch:
        for name in ("chain", "prev_hash", "hash"):
            batch.alter_column(name, existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("pos", existing_type=sa.BigInteger(), nullable=False)
        batch.create_index("ux_audit_chain_pos", ["chain", "pos"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.drop_index("ux_audit_chain_pos")
        for name in ("hash", "prev_hash", "pos", "chain"):
            batch.drop_column(name)
    op.drop_table("audit_chains")
    with op.batch_alter_table("wards") as batch:
        batch.drop_column("audit_head")
        batch.drop_column("audit_pos")
