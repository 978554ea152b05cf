"""Status tables of raw provider codes per canonical status, and the StatusTable they become.

A provider's table maps each canonical status to the raw codes that mean it, checked in order:
finer codes (AfterShip subtags, 17TRACK sub-statuses) before the coarse ones. A system's own
`status:` block in the YAML is checked before the preset, so a company can map a code the preset
does not know, or map one differently."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orderbridge.mapping.model import Dimension
from orderbridge.mapping.status import Condition, StatusRule, StatusTable

Codes = Mapping[str, Sequence[str]]  # canonical status -> raw codes


@dataclass(frozen=True)
class CodeTable:
    """Raw codes of one native field, per canonical status (keys are the dimension's enum members)."""

    field: str
    codes: Codes

    def rules(self) -> list[StatusRule]:
        return [
            StatusRule(when={self.field: Condition(in_=list(raw))}, then=str(status))
            for status, raw in self.codes.items()
            if raw
        ]


def preset_table(dimension: Dimension, *tables: CodeTable, extra: Sequence[StatusRule] = ()) -> StatusTable:
    """One StatusTable from code tables checked in the order given, then `extra` rules."""
    rules = [rule for table in tables for rule in table.rules()]
    return StatusTable(dimension=dimension, rules=[*rules, *extra])


def with_preset(own: list[StatusTable], presets: list[StatusTable]) -> list[StatusTable]:
    """A system's own tables in front of the provider's presets, per dimension: the own table's map
    and rules are tried first, then the preset's map and rules; the preset's ignored words stay
    ignored unless the own table maps them."""
    merged: list[StatusTable] = []
    for preset in presets:
        mine = [t for t in own if t.dimension == preset.dimension]
        if not mine:
            merged.append(preset)
            continue
        first = mine[0]
        field = first.field if first.map or first.ignore else preset.field
        ignored = preset.ignore if field == preset.field else []
        merged.append(
            StatusTable(
                dimension=preset.dimension,
                field=field,
                map=first.map,
                rules=[*first.rules, *preset.as_rules()],
                ignore=[*first.ignore, *(w for w in ignored if w not in first.map)],
                case_sensitive=first.case_sensitive,
            )
        )
    merged.extend(t for t in own if t.dimension not in {p.dimension for p in presets})
    return merged
