"""What a report says each system says, from the details the rules really write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderbridge.mapping.model import CanonicalStatus, Dimension, Observation
from orderbridge.notify.report import says
from orderbridge.reconciler.rules.records import duplicate
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.reconciler.types import Finding, OrderSnapshot, RuleContext
from orderbridge.storage.discrepancies import Discrepancy

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _record(record_id: str, native: str, hours: float) -> Observation:
    return Observation(
        system="erp",
        record_id=record_id,
        order_key="SO42",
        order_ref=record_id,
        statuses={Dimension.fulfillment: CanonicalStatus(status="placed", native=native)},
        native_status={"FDocumentStatus": native},
        status_at=NOW - timedelta(hours=hours),
        observed_at=NOW,
    )


def _stored(finding: Finding) -> Discrepancy:
    return Discrepancy(
        id=1,
        fingerprint="f",
        order_key="SO42",
        rule=finding.rule,
        dimension=None,
        systems=list(finding.systems),
        severity=finding.severity,
        status="open",
        tier=0,
        escalation=0,
        summary=finding.summary,
        details=finding.details,
        since=finding.since,
        opened_at=NOW,
        last_seen_at=NOW,
        resolved_at=None,
        resolution=None,
        acknowledged_by=None,
        acknowledged_at=None,
        snoozed_until=None,
    )


def test_a_duplicate_lists_the_systems_records_with_their_words_not_no_record() -> None:
    snapshot = OrderSnapshot("SO42", [_record("S00042", "A", 30), _record("SO-0042", "C", 5)])
    context = RuleContext(now=NOW, settings=ReconcileSettings(), systems=("erp", "wms"))
    [finding] = [o for o in duplicate(snapshot, context) if isinstance(o, Finding)]
    assert says(_stored(finding)) == {"erp": "S00042 (A), SO-0042 (C)"}
