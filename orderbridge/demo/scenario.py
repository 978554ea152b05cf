"""The demo's story: eighteen orders of an imaginary trading company as its ERP, warehouse, purchasing
workbook and finance export see them, relative to a given `now`, with the problems each should raise."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from orderbridge.demo.carrier import ParcelEvent
from orderbridge.demo.config import FINANCE_FILE, PURCHASING_FILE
from orderbridge.demo.simulators import SHANGHAI, Record, SimulatedERP, SimulatedWMS, erp_time, wms_time

PURCHASING_SHEET = "采购跟踪"
PURCHASING_HEADERS = ("订单号", "状态", "更新时间", "数量")
FINANCE_HEADERS = ("order_no", "invoice_status", "invoiced_amount", "paid_amount", "currency", "updated_at")


def order_key(number: int) -> str:
    return f"SO-{number:06d}"


def demo_phone(number: int) -> str:
    """The customer's phone number on order `number`: what the demo's /track page asks the last
    four digits of."""
    return f"+86 139 {number * 7919 % 10000:04d} {number * 104729 % 10000:04d}"


def orphan_ref(system: str, record_id: str) -> str:
    """How `Scenario.expected` names a record that belongs to no order: "<system>:<record id>"."""
    return f"{system}:{record_id}"


@dataclass(frozen=True)
class Case:
    """One entry of the story: an order (or an orphan record) and the rules it should trigger now."""

    ref: str  # an order key, or an orphan_ref
    title: str
    story: str
    expected: frozenset[str]


@dataclass
class Scenario:
    """Per-system data of the story. Fine orders are listed in `cases` with no expected rules."""

    now: datetime
    cases: list[Case] = field(default_factory=list)
    erp_records: list[Record] = field(default_factory=list)
    wms_records: list[Record] = field(default_factory=list)
    purchasing_rows: list[dict[str, Any]] = field(default_factory=list)  # keyed by PURCHASING_HEADERS
    finance_rows: list[dict[str, str]] = field(default_factory=list)  # keyed by FINANCE_HEADERS
    carrier_events: list[ParcelEvent] = field(default_factory=list)  # pushed to the webhook endpoint

    @property
    def expected(self) -> dict[str, frozenset[str]]:
        """Order key or orphan reference -> names of the rules that should fire for it at `now`."""
        return {case.ref: case.expected for case in self.cases}

    @property
    def rules(self) -> frozenset[str]:
        return frozenset().union(*(case.expected for case in self.cases))


def build_scenario(now: datetime) -> Scenario:
    """The same story for the same `now` (which must carry a time zone)."""
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone, e.g. datetime.now(UTC)")
    return _Builder(now.replace(microsecond=0)).build()


class _Builder:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.scenario = Scenario(now=now)
        self._erp_ids = iter(range(5001, 6000))
        self._wms_ids = iter(range(88001, 89000))

    def ago(self, **delta: float) -> datetime:
        return self.now - timedelta(**delta)

    def case(self, number: int, title: str, story: str, *rules: str) -> None:
        self.scenario.cases.append(Case(order_key(number), title, story, frozenset(rules)))

    def erp(self, number: int, status: str, at: datetime, qty: int, amount: str) -> None:
        self.scenario.erp_records.append(
            {
                "id": next(self._erp_ids),
                "bill_no": f"SO-{self.now.year}-{number:04d}",
                "status": status,
                "modified": erp_time(at),
                "amount": amount,
                "currency": "CNY",
                "qty": qty,
                "customer_po": f"PO-{7700 + number}",
                "contact": {"phone": demo_phone(number)},
            }
        )

    def wms(
        self,
        order_ref: str,
        status: str,
        at: datetime,
        ordered: int,
        shipped: int,
        tracking: str | None = None,
        wms_id: str | None = None,
    ) -> str:
        wms_id = wms_id or f"OB-{next(self._wms_ids)}"
        self.scenario.wms_records.append(
            {
                "wms_id": wms_id,
                "order_ref": order_ref,
                "status": status,
                "updated_at": wms_time(at),
                "qty_ordered": ordered,
                "qty_shipped": shipped,
                "tracking_no": tracking,
            }
        )
        return wms_id

    def wms_for(self, number: int, status: str, at: datetime, qty: int, *, shipped: int | None = None) -> str:
        moved = status in ("SHIPPED", "DELIVERED")
        return self.wms(
            f"XSDD{number:06d}",
            status,
            at,
            qty,
            (qty if shipped is None else shipped) if moved else 0,
            f"SF14{number:08d}" if moved else None,
        )

    def sheet(self, written: str, status: str, at: datetime, qty: int, *, as_text: bool) -> None:
        local = at.astimezone(SHANGHAI).replace(tzinfo=None)
        when: datetime | str = local.strftime("%Y/%m/%d %H:%M") if as_text else local
        self.scenario.purchasing_rows.append(
            dict(zip(PURCHASING_HEADERS, (written, status, when, qty), strict=True))
        )

    def finance(self, written: str, status: str, at: datetime, invoiced: str = "", paid: str = "") -> None:
        values = (
            written,
            status,
            invoiced,
            paid,
            "CNY",
            at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
        )
        self.scenario.finance_rows.append(dict(zip(FINANCE_HEADERS, values, strict=True)))

    def parcel(self, number: int, *steps: tuple[str, datetime]) -> None:
        """The carrier's pushes about order `number`'s parcel (its WMS tracking number)."""
        for state, at in steps:
            self.scenario.carrier_events.append(ParcelEvent(f"SF14{number:08d}", state, at))

    def build(self) -> Scenario:
        self._fine_orders()
        self._problem_orders()
        self._parcels()
        return self.scenario

    def _parcels(self) -> None:
        """Kuaidi100 state codes: 1 picked up, 0 in transit, 5 out for delivery, 3 delivered."""
        ago = self.ago
        self.parcel(41, ("1", ago(days=2, hours=3)), ("3", ago(days=2)))
        self.parcel(43, ("1", ago(days=1, hours=2)), ("3", ago(days=1)))
        # Pushed out of order: "in transit" arrives after "out for delivery" and changes nothing.
        self.parcel(46, ("1", ago(days=1)), ("5", ago(hours=1)), ("0", ago(hours=12)))
        self.parcel(42, ("1", ago(hours=6)), ("0", ago(hours=4)))
        # The ERP voided order 44; the carrier delivered it anyway.
        self.parcel(44, ("1", ago(hours=3)), ("3", ago(minutes=40)))

    def _fine_orders(self) -> None:
        ago = self.ago

        self.case(41, "delivered and paid", "Delivered two days ago, invoiced and paid in full.")
        self.erp(41, "已签收", ago(days=2), 20, "3600.00")
        self.wms_for(41, "DELIVERED", ago(days=2, hours=3), 20)
        self.finance("#41", "paid", ago(days=1), "3600.00", "3600.00")

        self.case(43, "delivered and invoiced", "Delivered yesterday, invoiced, payment not due yet.")
        self.erp(43, "已签收", ago(days=1), 5, "980.00")
        self.wms_for(43, "DELIVERED", ago(days=1, hours=2), 5)
        self.finance("#43", "invoiced", ago(hours=20), "980.00")

        self.case(
            46, "shipped everywhere", "Shipped yesterday; ERP, warehouse, purchasing and finance agree."
        )
        self.erp(46, "已发货", ago(days=1), 12, "2160.00")
        self.wms_for(46, "SHIPPED", ago(days=1, hours=1), 12)
        self.sheet(" SO46 ", "已发货", ago(hours=23), 12, as_text=True)
        self.finance("SO/0046", "invoiced", ago(hours=22), "2,160.00")

        self.case(49, "preparing within its SLA", "In the warehouse for five hours; one day is allowed.")
        self.erp(49, "备货中", ago(hours=6), 15, "4125.00")
        self.wms_for(49, "ALLOCATED", ago(hours=5), 15)
        self.sheet("SO-0049", "备货中", ago(hours=6), 15, as_text=False)
        self.finance("SO/0049", "unbilled", ago(hours=6))

        self.case(52, "approved, reached the warehouse", "Approved an hour ago; the warehouse has it as NEW.")
        self.erp(52, "已审核", ago(minutes=70), 2, "318.00")
        self.wms_for(52, "NEW", ago(minutes=60), 2)

        self.case(
            55, "just placed", "A draft from a quarter of an hour ago; no warehouse record expected yet."
        )
        self.erp(55, "草稿", ago(minutes=15), 1, "99.00")
        self.sheet("SO55", "已下单", ago(minutes=10), 1, as_text=False)

        self.case(
            56,
            "lag within grace",
            "The warehouse shipped ten minutes ago and the ERP has not caught up yet: younger than the "
            "30-minute grace, so not a discrepancy yet (it becomes status_lag 20 minutes after `now`).",
        )
        self.erp(56, "备货中", ago(hours=8), 6, "870.00")
        self.wms_for(56, "SHIPPED", ago(minutes=10), 6)

        self.case(57, "cancelled everywhere", "Cancelled two days ago in the ERP and in the warehouse.")
        self.erp(57, "已作废", ago(days=2), 3, "450.00")
        self.wms_for(57, "CANCELLED", ago(days=2), 3)

    def _problem_orders(self) -> None:
        ago = self.ago

        self.case(
            42, "status lag", "The warehouse shipped 6 hours ago; the ERP still says 备货中.", "status_lag"
        )
        self.erp(42, "备货中", ago(hours=20), 10, "2450.00")
        self.wms_for(42, "SHIPPED", ago(hours=6), 10)
        self.sheet("SO-42", "已发货", ago(hours=5), 10, as_text=True)
        self.finance("SO/0042", "unbilled", ago(hours=20))

        self.case(
            44,
            "cancelled but shipped",
            "Voided in the ERP yesterday, yet the warehouse shipped it 3 hours ago.",
            "status_conflict",
        )
        # (the carrier's delivered push about its parcel is a second conflict: see _parcels)
        self.erp(44, "已作废", ago(days=1), 6, "1500.00")
        self.wms_for(44, "SHIPPED", ago(hours=3), 6)

        self.case(
            58,
            "cancelled but still being picked",
            "Voided in the ERP 2 hours ago; the warehouse has not heard and is still picking it.",
            "still_open",
        )
        self.erp(58, "已作废", ago(hours=2), 4, "560.00")
        self.wms_for(58, "PICKING", ago(hours=5), 4)

        self.case(45, "short shipment", "The warehouse shipped 8 of the 10 ordered.", "quantity_mismatch")
        self.erp(45, "已发货", ago(hours=2), 10, "1850.00")
        self.wms_for(45, "SHIPPED", ago(hours=3), 10, shipped=8)
        self.sheet("so 45", "已发货", ago(hours=2, minutes=30), 10, as_text=False)

        self.case(
            47,
            "invoice differs from the order",
            "Finance invoiced 1,380.00; the ERP order is for 1,200.00.",
            "amount_mismatch",
        )
        self.erp(47, "已签收", ago(days=1), 10, "1200.00")
        self.wms_for(47, "DELIVERED", ago(days=1, hours=3), 10)
        self.finance("#47", "invoiced", ago(hours=20), "1,380.00")

        self.case(
            48, "missing in the warehouse", "Approved 5 hours ago, never reached the warehouse.", "missing"
        )
        self.erp(48, "已审核", ago(hours=5), 8, "760.00")

        self.case(
            50,
            "stuck in preparing",
            "Picking for 4 days (warning after 1 day, critical after 3 days).",
            "stuck",
        )
        self.erp(50, "备货中", ago(days=4, hours=2), 4, "620.00")
        self.wms_for(50, "PICKING", ago(days=4), 4)
        self.sheet("so50", "备货中", ago(days=4, hours=1), 4, as_text=True)

        self.case(
            51,
            "unknown warehouse status",
            "The warehouse put it on QC_HOLD, a status the configuration does not map.",
            "unmapped_status",
        )
        self.erp(51, "备货中", ago(hours=10), 3, "540.00")
        self.wms_for(51, "QC_HOLD", ago(hours=2), 3)

        self.case(
            53,
            "ERP ahead of the warehouse",
            "The ERP says 已发货 since 3 hours; the warehouse has it PACKED, not shipped.",
            "ahead_of_authority",
        )
        self.erp(53, "已发货", ago(hours=3), 7, "1330.00")
        self.wms_for(53, "PACKED", ago(hours=4), 7)

        self.case(
            54,
            "two warehouse records",
            "The interface sent the order to the warehouse twice: two outbound orders for one sale.",
            "duplicate",
        )
        self.erp(54, "备货中", ago(hours=8), 9, "1710.00")
        self.wms_for(54, "PICKING", ago(hours=7), 9)
        self.wms_for(54, "PICKING", ago(hours=6, minutes=58), 9)
        self.sheet("SO 54", "备货中", ago(hours=8), 9, as_text=True)

        orphan = self.wms("", "SHIPPED", ago(hours=2), 5, 5, "SF1499990001", wms_id="OB-88099")
        self.scenario.cases.append(
            Case(
                orphan_ref("wms", orphan),
                "shipment of no order",
                "A warehouse shipment without an order number whose tracking number no other record has.",
                frozenset({"orphan"}),
            )
        )


def load_erp(erp: SimulatedERP, scenario: Scenario) -> SimulatedERP:
    """Replace the simulated ERP's records with the scenario's."""
    erp.set_records(scenario.erp_records)
    return erp


def load_wms(wms: SimulatedWMS, scenario: Scenario) -> SimulatedWMS:
    """Replace the simulated WMS's records with the scenario's."""
    wms.set_records(scenario.wms_records)
    return wms


def write_purchasing_xlsx(scenario: Scenario, path: Path) -> Path:
    """The purchasing workbook: sheet 采购跟踪, times as Excel datetimes in some rows and text in others."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = PURCHASING_SHEET
    sheet.append(list(PURCHASING_HEADERS))
    for row in scenario.purchasing_rows:
        sheet.append([row[header] for header in PURCHASING_HEADERS])
        when = sheet.cell(row=sheet.max_row, column=PURCHASING_HEADERS.index("更新时间") + 1)
        if isinstance(when.value, datetime):
            when.number_format = "yyyy-mm-dd hh:mm"
    sheet.column_dimensions["C"].width = 18
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def write_finance_csv(scenario: Scenario, path: Path) -> Path:
    """Finance's export: UTF-8 with a byte-order mark (as Excel writes it), one row per order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(FINANCE_HEADERS))
        writer.writeheader()
        writer.writerows(scenario.finance_rows)
    return path


def write_spreadsheets(scenario: Scenario, directory: Path) -> list[Path]:
    """Both files, where the demo configuration written into `directory` looks for them."""
    return [
        write_purchasing_xlsx(scenario, directory / PURCHASING_FILE),
        write_finance_csv(scenario, directory / FINANCE_FILE),
    ]
