"""outbox delivery: kind, state, dedupe key, message id, digest packing

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderbridge.storage.types import BigId

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="report", nullable=False))
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), server_default="pending", nullable=False)
        )
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("packed_into", BigId, nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_state"), ["state"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_outbox_dedupe_key"), ["dedupe_key"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outbox_dedupe_key"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_outbox_state"))
        batch_op.drop_column("packed_into")
        batch_op.drop_column("message_id")
        batch_op.drop_column("dedupe_key")
        batch_op.drop_column("state")
        batch_op.drop_column("kind")
