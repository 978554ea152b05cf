"""Rules on the records themselves rather than what they say: a status word nobody mapped, one system
holding two records of an order, and a record that links to no order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from orderbridge.mapping.model import UNMAPPED, Observation
from orderbridge.reconciler.rules.common import Check, findings, iso
from orderbridge.reconciler.types import Finding, OrderSnapshot, Outcome, RuleContext


def unmapped_status(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterator[Outcome]:
    checks = []
    for obs in sorted(snapshot.observations, key=lambda o: (o.system, o.record_id)):
        for dimension, found in obs.statuses.items():
            if found.status != UNMAPPED:
                continue
            checks.append(
                Check(
                    dimension=dimension,
                    systems=(obs.system,),
                    severity="warning",
                    since=obs.effective_at,
                    summary=f"{obs.system} reports {dimension.value} status {found.native!r}, "
                    "which its status table does not map"
                    if found.native is not None
                    else f"{obs.system} reports no {dimension.value} status (the field is empty or "
                    "missing); map it with a rule `when: {FIELD: {empty: true}}` if that means something",
                    says={
                        obs.system: {"record_id": obs.record_id, "status": UNMAPPED, "native": found.native}
                    },
                    facts={"native": found.native, "record_id": obs.record_id},
                )
            )
    return findings("unmapped_status", checks)


def duplicate(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterator[Outcome]:
    records: dict[str, dict[str, Observation]] = {}
    first_seen: dict[tuple[str, str], datetime] = {}
    for obs in snapshot.observations:
        # Only records whose own order number normalises to this key: records attached through a link
        # (a carrier's parcels, found by tracking number) are rightly several.
        if not obs.order_ref:
            continue
        records.setdefault(obs.system, {})[obs.record_id] = obs
        first_seen[(obs.system, obs.record_id)] = obs.effective_at
    for entry in snapshot.history:
        key = (entry.system, entry.record_id)
        if key in first_seen:
            first_seen[key] = min(first_seen[key], entry.at)
    checks = []
    for system, found in sorted(records.items()):
        if len(found) < 2:
            continue
        appeared = sorted(first_seen[(system, record_id)] for record_id in found)
        record_ids = sorted(found)
        checks.append(
            Check(
                dimension=None,
                systems=(system,),
                severity="warning",
                # Duplicated from the moment the second record appeared.
                since=appeared[1],
                summary=f"{system} has {len(found)} records for this order: {', '.join(record_ids)}",
                says={
                    system: {
                        "records": [
                            {
                                "record_id": rid,
                                "order_ref": found[rid].order_ref,
                                "native_status": found[rid].native_status,
                                "effective_at": iso(found[rid].effective_at),
                            }
                            for rid in record_ids
                        ]
                    }
                },
                facts={"record_ids": record_ids},
            )
        )
    return findings("duplicate", checks)


ORPHAN = "orphan"


def orphan(unlinked: list[Observation], ctx: RuleContext) -> Iterator[Outcome]:
    latest: dict[tuple[str, str], Observation] = {}
    for obs in sorted(unlinked, key=lambda o: o.observed_at):
        if obs.order_key is None:
            latest[(obs.system, obs.record_id)] = obs
    for (system, record_id), obs in sorted(latest.items()):
        links = ", ".join(f"{name} {value}" for name, value in sorted(obs.links.items())) or "no links"
        reference = f", order reference {obs.order_ref}" if obs.order_ref else ""
        yield Finding(
            rule=ORPHAN,
            dimension=None,
            systems=(system,),
            severity="warning",
            since=obs.effective_at,  # when the source says it happened: a link is overdue from then
            summary=f"{system} record {record_id} ({links}{reference}) links to no known order",
            details={
                "record_id": record_id,
                "order_ref": obs.order_ref,
                "links": dict(obs.links),
                "native_status": dict(obs.native_status),
            },
        )
