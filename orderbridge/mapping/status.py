"""Status tables: map each system's native status words onto canonical statuses, per dimension.

A simple vocabulary is a `map` over one field; a composite one is a list of first-match `rules`
over several fields (Kingdee: document + close + cancel status). Unknown values become `unmapped`;
words listed in `ignore` belong to another dimension and say nothing on this one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orderbridge.mapping.model import (
    SHIPMENT_IMPLIES_FULFILLMENT,
    UNMAPPED,
    CanonicalStatus,
    Dimension,
    is_valid_status,
    statuses_of,
)

ANY = "*"


class Condition(BaseModel):
    """One test on a field: equal to one of `in`, absent/empty, or a numeric comparison."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    in_: list[str] | None = Field(default=None, alias="in", description="The value is one of these.")
    gt: float | None = Field(default=None, description="The value is a number greater than this.")
    gte: float | None = Field(default=None, description="... greater than or equal to this.")
    lt: float | None = Field(default=None, description="... less than this.")
    lte: float | None = Field(default=None, description="... less than or equal to this.")
    empty: bool | None = Field(
        default=None,
        description="true: the field is null, absent or blank (enough on its own for a rule to match a "
        "record whose status fields are all blank); false: it has a value.",
    )

    def matches(self, value: Any) -> bool:
        blank = value is None or (isinstance(value, str) and not value.strip())
        if self.empty is not None and blank != self.empty:
            return False
        if self.in_ is not None and (blank or _text(value) not in self.in_):
            return False
        numeric = (self.gt, self.gte, self.lt, self.lte)
        if any(bound is not None for bound in numeric):
            try:
                number = float(value)
            except (TypeError, ValueError):
                return False
            if self.gt is not None and not number > self.gt:
                return False
            if self.gte is not None and not number >= self.gte:
                return False
            if self.lt is not None and not number < self.lt:
                return False
            if self.lte is not None and not number <= self.lte:
                return False
        return True


class StatusRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    when: dict[str, str | list[str] | Condition] = Field(
        description="Field -> value, list of values, '*' (any non-empty) or a condition; all must hold."
    )
    then: str = Field(description="The canonical status when every condition of `when` holds.")

    @property
    def asks_blank(self) -> bool:
        return any(isinstance(c, Condition) and c.empty is True for c in self.when.values())

    def matches(self, fields: dict[str, Any]) -> bool:
        for name, expected in self.when.items():
            value = fields.get(name)
            if isinstance(expected, Condition):
                if not expected.matches(value):
                    return False
            elif expected == ANY:
                if value is None or _text(value) == "":
                    return False
            elif isinstance(expected, list):
                if _text(value) not in expected:
                    return False
            elif _text(value) != expected:
                return False
        return True


class StatusTable(BaseModel):
    """The vocabulary of one system on one dimension."""

    model_config = ConfigDict(extra="forbid")

    dimension: Dimension = Field(description="fulfillment, shipment or billing.")
    field: str | None = Field(
        default=None, description="The native field a simple `map` reads (default: status)."
    )
    map: dict[str, str] = Field(
        default_factory=dict, description="Native word -> canonical status, e.g. {备货中: preparing}."
    )
    rules: list[StatusRule] = Field(
        default_factory=list,
        description="First-match rules over one or several fields, tried after `map`: "
        "[{when: {status: [OPEN], allocated: {gt: 0}}, then: preparing}].",
    )
    ignore: list[str] = Field(
        default_factory=list,
        description="Words of `field` that belong to another dimension (a column holding both 已发货 and "
        "已收款): a record saying one of them says nothing on this table's dimension, instead of being "
        "reported as unmapped.",
    )
    case_sensitive: bool = Field(
        default=True, description="false: native words match whatever their case (Shipped, SHIPPED)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.map and not self.rules:
            raise ValueError("give a `map` (with `field`) or a list of `rules`")
        if (self.map or self.ignore) and self.field is None:
            self.field = "status"  # the usual column/field name; say `field:` when it is another
        both = sorted(set(self._fold(self.map)) & set(self._fold(self.ignore)))
        if both:
            raise ValueError(f"{', '.join(both)}: both mapped and ignored; keep it in `map` or in `ignore`")
        targets = list(self.map.values()) + [rule.then for rule in self.rules]
        wrong = sorted({t for t in targets if t == UNMAPPED or not is_valid_status(self.dimension, t)})
        if wrong:
            allowed = ", ".join(statuses_of(self.dimension))
            raise ValueError(
                f"{', '.join(wrong)}: not a {self.dimension.value} status; expected one of: {allowed}"
            )
        return self

    def as_rules(self) -> list[StatusRule]:
        """The table as first-match rules alone: each `map` word (a rule on `field`), then `rules`;
        so another table's map and rules can be tried before it."""
        if self.map and not self.case_sensitive:
            raise ValueError("a table whose map ignores case cannot be written as rules")
        mapped = [
            StatusRule(when={self.field or "status": Condition(in_=[word])}, then=status)
            for word, status in self.map.items()
        ]
        return [*mapped, *self.rules]

    @property
    def fields(self) -> list[str]:
        names = [self.field] if self.field else []
        for rule in self.rules:
            names.extend(n for n in rule.when if n not in names)
        return names

    def lookup(self, fields: dict[str, Any]) -> CanonicalStatus | None:
        """The canonical status for these native fields: `unmapped` for a word the table does not know
        and for no status at all (every field null, absent or blank) unless a rule asks for a blank
        field; None for a word the table ignores (it belongs to another dimension) and for a record
        that has none of the table's fields at all (a Shopify fulfilment says nothing of billing). A
        record read by configured fields always has them (None when missing from the source), so a
        field that went missing still shows as unmapped."""
        names = self.fields
        if fields.keys().isdisjoint(names):
            return None
        native = self._native(fields, names)
        if self.field is not None:
            value = fields.get(self.field)
            if value is not None and (text := _text(value)) != "":
                if self.ignore and self._word(text) in self._fold(self.ignore):
                    return None
                hit = self.map.get(text)
                if hit is None and not self.case_sensitive:
                    hit = {k.casefold(): v for k, v in self.map.items()}.get(text.casefold())
                if hit is not None:
                    return _canonical(hit, native)
        # With every field blank, a rule that asks for a blank field still applies: `{status: {empty:
        # true}}` may be all it asks (a Shopify order not yet fulfilled has fulfillment_status null).
        for rule in self.rules:
            if (native is not None or rule.asks_blank) and rule.matches(fields):
                return _canonical(rule.then, native)
        # No status at all is reported like a word nobody mapped (native None), never taken silently
        # as the record saying nothing: a status field that went null is a change people must see.
        return _canonical(UNMAPPED, native)

    def _word(self, text: str) -> str:
        return text if self.case_sensitive else text.casefold()

    def _fold(self, words: Any) -> list[str]:
        return [self._word(str(w).strip()) for w in words]

    def _native(self, fields: dict[str, Any], names: list[str]) -> str | None:
        if len(names) == 1:
            value = fields.get(names[0])
            return None if value is None or (text := _text(value)) == "" else text
        present = [(n, text) for n in names if (v := fields.get(n)) is not None and (text := _text(v)) != ""]
        if not present:
            return None
        return ", ".join(f"{n}={text}" for n, text in present)


@lru_cache(maxsize=4096)
def _canonical(status: str, native: str | None) -> CanonicalStatus:
    """A reported status (frozen, so one instance serves every record that says the same)."""
    return CanonicalStatus(status=status, native=native)


def map_statuses(tables: list[StatusTable], fields: dict[str, Any]) -> dict[Dimension, CanonicalStatus]:
    statuses: dict[Dimension, CanonicalStatus] = {}
    for table in tables:
        found = table.lookup(fields)
        if found is not None and table.dimension not in statuses:
            statuses[table.dimension] = found
    shipment = statuses.get(Dimension.shipment)
    if shipment is not None and Dimension.fulfillment not in statuses:
        implied = SHIPMENT_IMPLIES_FULFILLMENT.get(shipment.status)
        if implied is not None:
            statuses[Dimension.fulfillment] = CanonicalStatus(
                status=implied, native=shipment.native, implied=True
            )
    return statuses


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
