"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderbridge.storage.types import BigId, Json, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cursors",
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("value", Json, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("system", name=op.f("pk_cursors")),
    )
    op.create_table(
        "discrepancies",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("order_key", sa.String(length=255), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=True),
        sa.Column("systems", Json, nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("escalation", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", Json, nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=255), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("snoozed_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discrepancies")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_discrepancies_fingerprint")),
    )
    with op.batch_alter_table("discrepancies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discrepancies_order_key"), ["order_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_discrepancies_rule"), ["rule"], unique=False)
        batch_op.create_index(batch_op.f("ix_discrepancies_status"), ["status"], unique=False)

    op.create_table(
        "inbox",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("headers", Json, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("system", "dedupe_key", name=op.f("uq_inbox_system_dedupe_key")),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_state"), ["state"], unique=False)

    op.create_table(
        "observations",
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=255), nullable=False),
        sa.Column("order_key", sa.String(length=255), nullable=True),
        sa.Column("order_ref", sa.String(length=255), nullable=True),
        sa.Column("external_ref", sa.String(length=255), nullable=True),
        sa.Column("statuses", Json, nullable=False),
        sa.Column("native_status", Json, nullable=False),
        sa.Column("status_at", UTCDateTime(), nullable=True),
        sa.Column("observed_at", UTCDateTime(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("quantities", Json, nullable=False),
        sa.Column("amounts", Json, nullable=False),
        sa.Column("links", Json, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("raw", Json, nullable=False),
        sa.PrimaryKeyConstraint("system", "record_id", name=op.f("pk_observations")),
    )
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_observations_order_key"), ["order_key"], unique=False)

    op.create_table(
        "order_links",
        sa.Column("link_type", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("order_key", sa.String(length=255), nullable=False),
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("link_type", "value", name=op.f("pk_order_links")),
    )
    with op.batch_alter_table("order_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_links_order_key"), ["order_key"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_next_attempt_at"), ["next_attempt_at"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=True),
        sa.Column("record_id", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", Json, nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint("system", "fingerprint", name=op.f("uq_quarantine_system_fingerprint")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index("ix_quarantine_open", ["system", "resolved_at"], unique=False)
    op.create_table(
        "orphan_links",
        sa.Column("link_type", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("link_type", "value", "system", "record_id", name=op.f("pk_orphan_links")),
    )
    with op.batch_alter_table("orphan_links", schema=None) as batch_op:
        batch_op.create_index("ix_orphan_links_record", ["system", "record_id"], unique=False)

    op.create_table(
        "reconcile_queue",
        sa.Column("order_key", sa.String(length=255), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("order_key", name=op.f("pk_reconcile_queue")),
    )
    with op.batch_alter_table("reconcile_queue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconcile_queue_due_at"), ["due_at"], unique=False)

    op.create_table(
        "status_history",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("order_key", sa.String(length=255), nullable=True),
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=255), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("native", sa.Text(), nullable=True),
        sa.Column("status_at", UTCDateTime(), nullable=True),
        sa.Column("observed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_history")),
    )
    with op.batch_alter_table("status_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_history_order_key"), ["order_key"], unique=False)
        batch_op.create_index("ix_status_history_system_record", ["system", "record_id"], unique=False)

    op.create_table(
        "discrepancy_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("discrepancy_id", BigId, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("details", Json, nullable=False),
        sa.ForeignKeyConstraint(
            ["discrepancy_id"],
            ["discrepancies.id"],
            name=op.f("fk_discrepancy_events_discrepancy_id_discrepancies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discrepancy_events")),
    )
    with op.batch_alter_table("discrepancy_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_discrepancy_events_discrepancy_id"), ["discrepancy_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("discrepancy_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discrepancy_events_discrepancy_id"))

    op.drop_table("discrepancy_events")
    with op.batch_alter_table("status_history", schema=None) as batch_op:
        batch_op.drop_index("ix_status_history_system_record")
        batch_op.drop_index(batch_op.f("ix_status_history_order_key"))

    op.drop_table("status_history")
    with op.batch_alter_table("reconcile_queue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconcile_queue_due_at"))

    op.drop_table("reconcile_queue")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_open")

    op.drop_table("quarantine")
    with op.batch_alter_table("orphan_links", schema=None) as batch_op:
        batch_op.drop_index("ix_orphan_links_record")

    op.drop_table("orphan_links")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_next_attempt_at"))

    op.drop_table("outbox")
    with op.batch_alter_table("order_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_links_order_key"))

    op.drop_table("order_links")
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observations_order_key"))

    op.drop_table("observations")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_state"))

    op.drop_table("inbox")
    with op.batch_alter_table("discrepancies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discrepancies_status"))
        batch_op.drop_index(batch_op.f("ix_discrepancies_rule"))
        batch_op.drop_index(batch_op.f("ix_discrepancies_order_key"))

    op.drop_table("discrepancies")
    op.drop_table("cursors")
