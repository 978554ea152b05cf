"""The reconcile pass: evaluate the orders that changed plus those whose deadlines expired (or every
order, on request), turn what the rules see into discrepancy lifecycle changes, and queue the next
deadline of each order."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

import structlog
from sqlalchemy import Connection

from orderbridge.mapping.model import Dimension, FulfillmentStatus, Observation
from orderbridge.reconciler import rules
from orderbridge.reconciler.lifecycle import AGREE, Change, Settled, settle
from orderbridge.reconciler.rules.deadlines import quiet_deadline, sla_targets, stuck
from orderbridge.reconciler.rules.records import ORPHAN
from orderbridge.reconciler.rules.status import PAID, SHIPPED
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.reconciler.types import Finding, OrderSnapshot, Rule, RuleContext, Wake
from orderbridge.storage import discrepancies as repo
from orderbridge.storage import observations, queue, screen
from orderbridge.storage.db import Store
from orderbridge.storage.discrepancies import Discrepancy
from orderbridge.storage.screen import Flag

log = structlog.get_logger("orderbridge.reconciler")
CHUNK = 2000  # orders per transaction: one screen, one load, one bulk write each
ONLY_SLA = {Flag.in_sla_status}


@dataclass
class PassResult:
    evaluated: int = 0  # orders the pass looked at (changed, due, or all of them)
    candidates: int = 0  # of those, the ones the pre-screen showed to the rules (the rest agree)
    changes: list[Change] = field(default_factory=list)
    rule_errors: int = 0

    def of(self, *kinds: str) -> list[Change]:
        return [c for c in self.changes if c.kind in kinds]


Progress = Callable[[int, int], None]
# Called in a pass's transaction with the unresolved discrepancies of the orders it just settled (so
# notifications are written with the changes that caused them); returns order key -> time to look again.
Observer = Callable[[Connection, list[Discrepancy], datetime], Mapping[str, datetime]]


class Reconciler:
    def __init__(
        self,
        store: Store,
        settings: ReconcileSettings,
        systems: tuple[str, ...],
        link_by: dict[str, list[str]] | None = None,
        *,
        order_rules: Mapping[str, Rule] = rules.ORDER_RULES,
        observer: Observer | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        """`order_rules` are the rules there are (the built-in ones unless given); `settings.rules`
        chooses among them. `zone` is the time zone of the times in summaries."""
        self.zone = zone
        self.store = store
        self.settings = settings
        self.systems = systems
        self.link_by = link_by or {}
        enabled = settings.rules
        self.order_rules = {n: r for n, r in order_rules.items() if enabled is None or n in enabled}
        self.orphans_enabled = enabled is None or ORPHAN in enabled
        self.observer = observer
        self.unscreened = frozenset(name for name in self.order_rules if name not in rules.SCREENED_BY)
        # An order that only sits in a status with an SLA has its next deadline computed in SQL when
        # `stuck` is the built-in rule and the only one it would be shown to.
        self.sla_in_sql = not self.unscreened and self.order_rules.get("stuck") is stuck
        # What the pre-screen looks for: the statuses with an SLA, the systems every order must be in.
        self.sla: dict[Dimension, set[str]] = {}
        for dimension, status, _ in sla_targets(settings):
            self.sla.setdefault(dimension, set()).add(status)
        self.expected = sorted({e.system for e in settings.expect if e.system in systems})

    def run(
        self, now: datetime | None = None, *, full: bool = False, progress: Progress | None = None
    ) -> PassResult:
        now = now or datetime.now(UTC)
        result = PassResult()
        with self.store.begin() as conn:
            if full:
                observations.relink_orphans(conn, now, self.link_by)
                # Counting every order scans the table: only for someone watching the progress.
                total = observations.count_orders(conn) if progress is not None else 0
                due: list[str] = []
            else:
                due = queue.due(conn, now)
                total = len(due)
        # Orphans are looked at when one appeared, changed or linked, when one of their deadlines
        # came, or on a full pass: an idle pass costs nothing however many there are.
        orphans_due = full or queue.ORPHANS in due
        due = [key for key in due if key != queue.ORPHANS]
        after: str | None = None
        ctx = RuleContext(now=now, settings=self.settings, systems=self.systems, zone=self.zone)
        done = 0
        while True:
            with self.store.begin() as conn:
                if full:
                    chunk = observations.order_keys(conn, after=after, limit=CHUNK)
                else:
                    chunk = due[done : done + CHUNK]
                if not chunk:
                    break
                settled = self._chunk(conn, chunk, ctx, now, result, span=full)
            after = chunk[-1]
            done += len(chunk)
            result.changes.extend(settled.changes)
            if progress is not None:
                progress(done, max(total, done))
        if orphans_due:
            with self.store.begin() as conn:
                claimed = queue.claim(conn, [queue.ORPHANS])
                if self.orphans_enabled:
                    changes, wake = self._orphans(conn, ctx, now)
                    result.changes.extend(changes)
                    if self.observer is not None:
                        asked = self.observer(conn, repo.active_by_rule(conn, ORPHAN), now).values()
                        wake = min([*asked, *([wake] if wake else [])], default=None)
                queue.done(conn, claimed, now)
                if self.orphans_enabled and wake is not None:
                    queue.enqueue(conn, [queue.ORPHANS], wake)
        for change in result.changes:  # after the commits: a log line never tells of a rolled-back change
            (log.debug if change.kind == "updated" else log.info)(
                f"discrepancy {change.kind}",
                discrepancy_id=change.id,
                order_key=change.order_key,
                rule=change.rule,
                systems=list(change.systems),
                severity=change.severity,
                summary=change.summary,
            )
        log.info(
            "reconcile pass",
            evaluated=result.evaluated,
            candidates=result.candidates,
            full=full,
            opened=len(result.of("opened", "reopened")),
            resolved=len(result.of("resolved")),
            rule_errors=result.rule_errors,
        )
        return result

    def _chunk(
        self,
        conn: Connection,
        chunk: list[str],
        ctx: RuleContext,
        now: datetime,
        result: PassResult,
        *,
        span: bool,
    ) -> Settled:
        """One chunk of orders: screened in SQL, the ones that can fire shown to the rules that can fire
        on them, what changed written, their next deadlines queued."""
        claimed = queue.claim(conn, chunk, span=span)  # before loading: a later change stays queued
        flagged = self._screen(conn, chunk, span)
        quiet = self._quiet_deadlines(conn, [key for key in chunk if flagged.get(key) == ONLY_SLA], ctx)
        evaluate = [key for key in chunk if key in flagged and key not in quiet]
        found, history = observations.load_orders(conn, evaluate)
        findings: dict[str, list[Finding]] = {}
        wakes = {key: at for key, at in quiet.items() if at is not None}
        failed: set[tuple[str, str]] = set()
        for key in evaluate:
            snapshot = OrderSnapshot(key, found[key], history[key])
            findings[key], wake, broken = self._evaluate(snapshot, ctx, result, self._rules_for(flagged[key]))
            failed.update((key, name) for name in broken)
            if wake is not None:
                wakes[key] = wake
        known = repo.for_orders(conn, evaluate)
        # A rule that failed on an order says nothing about it: its discrepancies stay as they are.
        active = [
            d
            for d in known.values()
            if d.status in repo.ACTIVE and d.rule != ORPHAN and (d.order_key, d.rule) not in failed
        ]
        settled = settle(conn, findings, active, self.settings, now, self._resolution, known=known)
        if self.observer is not None:
            now_active = [d for d in repo.active_for(conn, evaluate) if d.rule != ORPHAN]
            settled.wakes.update(_earliest(settled.wakes, self.observer(conn, now_active, now)))
        for key, at in settled.wakes.items():
            wakes[key] = min(at, wakes.get(key, at))
        queue.done(conn, claimed, now)
        queue.enqueue_each(conn, wakes)
        result.evaluated += len(chunk)
        result.candidates += len(evaluate)
        return settled

    def _quiet_deadlines(
        self, conn: Connection, keys: list[str], ctx: RuleContext
    ) -> dict[str, datetime | None]:
        """Of orders whose only flag is a status with an SLA, those that are inside every SLA, with their
        next deadline, found in SQL without loading them: `stuck` (the only rule such an order is shown
        to) would say just that. The rest (a limit passed, a shipment status) are shown to it."""
        if not keys or not self.sla_in_sql:
            return {}
        held, shipping = screen.holdings(conn, keys, self.sla)
        quiet: dict[str, datetime | None] = {}
        for key in keys:
            if key in shipping:
                continue
            within, wake = quiet_deadline(held[key], ctx)
            if within:
                quiet[key] = wake
        return quiet

    def _screen(self, conn: Connection, chunk: list[str], span: bool) -> dict[str, set[Flag]]:
        flagged = screen.flags(
            conn,
            chunk,
            span=span,
            sla=self.sla,
            expected=self.expected,
            shipped=SHIPPED,
            cancelled=FulfillmentStatus.cancelled,
            paid=PAID,
        )
        if self.unscreened:  # a rule without a screen sees every order
            return {key: flagged.get(key, set()) for key in chunk}
        return flagged

    def _rules_for(self, flags: set[Flag]) -> dict[str, Rule]:
        if flags & rules.EVERY_RULE:
            return self.order_rules
        return {
            name: rule
            for name, rule in self.order_rules.items()
            if name in self.unscreened or flags & rules.SCREENED_BY[name]
        }

    def _evaluate(
        self, snapshot: OrderSnapshot, ctx: RuleContext, result: PassResult, chosen: Mapping[str, Rule]
    ) -> tuple[list[Finding], datetime | None, list[str]]:
        """The findings of the `chosen` rules on one order, the earliest time to look again, and the
        rules that failed."""
        findings: list[Finding] = []
        wake: datetime | None = None
        failed: list[str] = []
        for name, rule in chosen.items():
            try:
                outcomes = list(rule(snapshot, ctx))
            except Exception:
                # One rule failing on one order must not stop the pass; it is logged loudly.
                result.rule_errors += 1
                failed.append(name)
                log.exception("rule failed", rule=name, order_key=snapshot.order_key)
                continue
            for outcome in outcomes:
                if isinstance(outcome, Wake):
                    wake = outcome.at if wake is None else min(wake, outcome.at)
                else:
                    findings.append(outcome)
        return findings, wake, failed

    def _resolution(self, stale: Discrepancy) -> str:
        if stale.rule not in self.order_rules:
            return f"the {stale.rule} rule is switched off"
        return AGREE

    def _orphans(
        self, conn: Connection, ctx: RuleContext, now: datetime
    ) -> tuple[list[Change], datetime | None]:
        """The orphan rule over every unlinked record: its changes, and when to look again."""
        unlinked = observations.unlinked(conn)
        findings: dict[str, list[Finding]] = {}
        for obs in unlinked:
            findings.setdefault(orphan_key(obs), [])
        for outcome in rules.orphan(unlinked, ctx):
            if isinstance(outcome, Finding):
                key = orphan_key_of(outcome)
                findings.setdefault(key, []).append(outcome)
        settled = settle(
            conn,
            findings,
            repo.active_by_rule(conn, ORPHAN),
            self.settings,
            now,
            resolution="the record now links to an order",
        )
        return settled.changes, min(settled.wakes.values(), default=None)


def orphan_key(obs: Observation) -> str:
    return f"{obs.system}:{obs.record_id}"


def orphan_key_of(finding: Finding) -> str:
    return f"{finding.systems[0]}:{finding.details.get('record_id')}"


def _earliest(first: Mapping[str, datetime], second: Mapping[str, datetime]) -> dict[str, datetime]:
    merged = dict(first)
    for key, at in second.items():
        merged[key] = min(at, merged.get(key, at))
    return merged
