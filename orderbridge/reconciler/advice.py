"""What to do about a discrepancy: one plain sentence per rule, built from what the rule found. The
rule registry (`rules.ADVICE`) maps each rule name to its function here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Advice = Callable[[str, Sequence[str], Mapping[str, Any]], str]  # order key, systems, details -> text


def status_lag(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    behind, ahead = _fact(details, "behind", systems, 0), _fact(details, "reference", systems, -1)
    return (
        f"Bring {order} up to date in {behind} ({ahead} is further along), or find out why it did not hear."
    )


def status_conflict(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    checks = details.get("checks") or [details]
    first = checks[0]
    statuses: Mapping[str, str] = first.get("statuses", {})
    stopper = next((s for s, said in statuses.items() if said.endswith(("cancelled", "voided"))), systems[0])
    other = next((s for s in systems if s != stopper), stopper)
    if "voided" in str(first.get("conflict", "")):
        return (
            f"Check the payment of {order} in {other}: the bill was voided in {stopper}; refund it or "
            "restore the bill."
        )
    if any("paid" in str(c.get("conflict", "")) for c in checks) and len(checks) == 1:
        return f"Refund {order} in {other}, or take back the cancellation in {stopper}."
    return (
        f"Check the shipment of {order} in {other}: stop or recall it, or take back the cancellation in "
        f"{stopper}."
    )


def still_open(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    stopped, open_in = _fact(details, "stopped", systems, 0), _fact(details, "still_open", systems, -1)
    state = str(details.get("state", "cancelled")).replace("_", " ")
    return (
        f"Tell {open_in} that {order} is {state} in {stopped}, and stop it there (or take that back in "
        f"{stopped})."
    )


def ahead_of_authority(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    ahead, sure = _fact(details, "ahead", systems, 0), _fact(details, "authority", systems, -1)
    return f"Check {order} in {sure}: correct {ahead} if it went too far, or update {sure} if it is behind."


def missing(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    return f"Send {order} to {_all(systems)}, or find out why it never arrived there."


def quantity_mismatch(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    return f"Compare the quantities of {order} in {_all(systems)} and correct the one that is wrong."


def amount_mismatch(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    return f"Compare the amounts of {order} in {_all(systems)}; correct the invoice or the order."


def stuck(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    return f"Find out why {order} is not moving on in {_all(systems)}, and move it on."


def regression(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    return f"Check {order} in {_all(systems)}: its status went back; correct it if that was a mistake."


def unmapped_status(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    native = details.get("native")
    word = f"{native!r}" if native else "the new status word"
    return (
        f"Add {word} (seen on {order}) to the status table of {_all(systems)} in the configuration, or "
        "list it under `ignore` if it belongs to another dimension."
    )


def duplicate(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    records = ", ".join(str(r) for r in details.get("record_ids", []))
    return f"Keep one record of {order} in {_all(systems)} and cancel or merge the others ({records})."


def orphan(order: str, systems: Sequence[str], details: Mapping[str, Any]) -> str:
    record = details.get("record_id") or order
    return f"Give {_all(systems)}'s record {record} its order number, or check its tracking number."


def _fact(details: Mapping[str, Any], name: str, systems: Sequence[str], fallback: int) -> str:
    found = details.get(name)
    return str(found) if found else systems[fallback]


def _all(systems: Sequence[str]) -> str:
    return " and ".join(systems)
