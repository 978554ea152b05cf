"""records a complete read no longer holds: observations.scope and observations.retired_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderbridge.storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("retired_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_observations_system_scope", ["system", "scope"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index("ix_observations_system_scope")
        batch_op.drop_column("retired_at")
        batch_op.drop_column("scope")
