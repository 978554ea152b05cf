"""The schema. Alembic migrations under migrations/ create exactly this (a test compares them)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from orderbridge.storage.types import BigId, Json, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

KEY = 255

# Latest observation per (system, record); several records of one system may share an order key
# (that is the duplicate rule's business), so the record is the identity, the order key an index.
# `scope` is the unit a complete read covers (a spreadsheet file): a complete read of it that no
# longer holds the record retires it (`retired_at`); a retired record is kept, and left out of what
# the rules see, until a read finds it again.
observations = Table(
    "observations",
    metadata,
    Column("system", String(64), primary_key=True),
    Column("record_id", String(KEY), primary_key=True),
    Column("order_key", String(KEY), nullable=True, index=True),
    Column("order_ref", String(KEY)),
    Column("external_ref", String(KEY)),
    Column("statuses", Json, nullable=False),
    Column("native_status", Json, nullable=False),
    Column("status_at", UTCDateTime),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("quantities", Json, nullable=False),
    Column("amounts", Json, nullable=False),
    Column("links", Json, nullable=False),
    Column("reason", Text),
    Column("content_hash", String(64), nullable=False),
    Column("raw", Json, nullable=False),
    Column("scope", String(KEY)),
    Column("retired_at", UTCDateTime),
    Index("ix_observations_system_scope", "system", "scope"),
)

# Append-only: every status every system reported, per dimension.
status_history = Table(
    "status_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_key", String(KEY), index=True),
    Column("system", String(64), nullable=False),
    Column("record_id", String(KEY), nullable=False),
    Column("dimension", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("native", Text),
    Column("status_at", UTCDateTime),
    Column("observed_at", UTCDateTime, nullable=False),
    Index("ix_status_history_system_record", "system", "record_id"),
)

# Link values (tracking number, external reference, customer PO) -> the order they belong to.
order_links = Table(
    "order_links",
    metadata,
    Column("link_type", String(64), primary_key=True),
    Column("value", String(KEY), primary_key=True),
    Column("order_key", String(KEY), nullable=False, index=True),
    Column("system", String(64), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The link values of records that link to no order yet, so that the record carrying one of them
# (the WMS record with that tracking number) attaches them when it arrives, without a scan.
orphan_links = Table(
    "orphan_links",
    metadata,
    Column("link_type", String(64), primary_key=True),
    Column("value", String(KEY), primary_key=True),
    Column("system", String(64), primary_key=True),
    Column("record_id", String(KEY), primary_key=True),
    Index("ix_orphan_links_record", "system", "record_id"),
)

# Raw events as received (webhooks), written before they are acknowledged.
inbox = Table(
    "inbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("system", String(64), nullable=False),
    Column("dedupe_key", String(KEY), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("headers", Json, nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("error", Text),
    Column("processed_at", UTCDateTime),
    UniqueConstraint("system", "dedupe_key"),
)

# Records that could not be read, with where they came from and why; kept for replay.
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("system", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("location", Text, nullable=False),
    Column("scope", String(KEY)),  # a file: reading it whole again settles what is not found again
    Column("record_id", String(KEY)),  # reading this record successfully later settles it
    Column("reason", Text, nullable=False),
    Column("raw", Json, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("times_seen", Integer, nullable=False),
    Column("resolved_at", UTCDateTime),
    UniqueConstraint("system", "fingerprint"),
    Index("ix_quarantine_open", "system", "resolved_at"),
)

cursors = Table(
    "cursors",
    metadata,
    Column("system", String(64), primary_key=True),
    Column("value", Json, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Each polled system's poll outcomes: failures in a row, the last success and error, when the
# failing began and, once failures reached the threshold, when it was marked unhealthy (the alert
# episode); kept so that a restart neither forgets a failing source nor announces it twice.
connector_health = Table(
    "connector_health",
    metadata,
    Column("system", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("failing_since", UTCDateTime),
    Column("unhealthy_since", UTCDateTime),
    Column("retry_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Orders to evaluate: changed ones (due now) and ones whose deadline (grace, SLA tier) is ahead.
reconcile_queue = Table(
    "reconcile_queue",
    metadata,
    Column("order_key", String(KEY), primary_key=True),
    Column("due_at", UTCDateTime, nullable=False, index=True),
    Column("token", String(32), nullable=False),  # new on every write; see storage/queue.py
)

discrepancies = Table(
    "discrepancies",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("order_key", String(KEY), nullable=False, index=True),
    Column("rule", String(64), nullable=False, index=True),
    Column("dimension", String(16)),
    Column("systems", Json, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("tier", Integer, nullable=False),
    Column("escalation", Integer, nullable=False),
    Column("summary", Text, nullable=False),
    Column("details", Json, nullable=False),
    Column("since", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("resolution", Text),
    Column("acknowledged_by", String(KEY)),
    Column("acknowledged_at", UTCDateTime),
    Column("snoozed_until", UTCDateTime),
)

discrepancy_events = Table(
    "discrepancy_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("discrepancy_id", BigId, ForeignKey("discrepancies.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(KEY), nullable=False),
    Column("details", Json, nullable=False),
)

# Notifications waiting to be delivered; a sink outage leaves them here to retry.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("recipient", String(KEY), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("payload", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("sent_at", UTCDateTime),
    # report, alert (one announcement, later packed into a digest), digest (what a channel receives)
    Column("kind", String(16), nullable=False, server_default="report"),
    Column("state", String(16), nullable=False, server_default="pending", index=True),
    Column("dedupe_key", String(KEY), unique=True),  # the same report slot or announcement never twice
    Column("message_id", String(KEY)),
    Column("packed_into", BigId),
)
