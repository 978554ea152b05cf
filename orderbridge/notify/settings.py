"""Settings of the `reports:` and `alerts:` sections (`smtp:` is in notify.mail)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import timedelta
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from orderbridge.config.types import Duration
from orderbridge.mapping.model import dimension_of_status
from orderbridge.notify.channels.base import ChannelSettings
from orderbridge.notify.channels.registry import CHANNEL_TYPES, NOT_CHANNELS
from orderbridge.notify.i18n import Language
from orderbridge.reconciler.rules import RULE_NAMES
from orderbridge.reconciler.types import SEVERITY_ORDER

Severity = Literal["info", "warning", "critical"]
# The channel names of the `alerts:` block being validated, so each rule's `send` is checked in place.
_channel_names: ContextVar[tuple[str, ...] | None] = ContextVar("alert_channel_names", default=None)


def _rule_names(values: list[str]) -> list[str]:
    wrong = [name for name in values if name not in RULE_NAMES]
    if wrong:
        raise ValueError(
            f"unknown rule {', '.join(map(repr, wrong))}; expected one of {', '.join(RULE_NAMES)}"
        )
    return values


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[str] = Field(min_length=1, description="Recipients of the report.")
    cc: list[str] = Field(default_factory=list, description="Copy recipients.")
    cron: str = Field(
        default="0 8 * * 1-5",
        description='When to send it, as crontab fields (minute hour day month weekday), e.g. "0 8 * * 1-5".',
    )
    timezone: str = Field(default="UTC", description="Time zone of `cron` and of the dates in the report.")
    language: Language = Field(default=Language.en, description="zh-CN or en.")
    rules: list[str] | None = Field(default=None, description="Only these rules (default: every rule).")
    min_severity: Severity = Field(default="info", description="Leave out discrepancies below this severity.")
    only: Literal["new_and_open", "all_open"] = Field(
        default="new_and_open",
        description="The e-mail's table: new_and_open lists discrepancies opened since the last report that "
        "are still open; all_open lists every open one. The attachments always hold every open one.",
    )
    subject: str | None = Field(
        default=None, description="Subject line (default: the report's title and date)."
    )
    max_rows: int = Field(
        default=100, ge=1, description="Rows shown in the e-mail's table; all are attached."
    )
    attach: list[Literal["xlsx", "csv"]] = Field(
        default=["xlsx", "csv"], description="Attachments: xlsx, csv or both."
    )
    skip_empty: bool = Field(default=False, description="Send nothing when no discrepancy matches.")

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _rule_names(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; expected e.g. Asia/Shanghai or UTC") from None
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            cron_trigger(value, ZoneInfo("UTC"))
        except ValueError as exc:
            raise ValueError(f'not a crontab expression ({exc}); expected e.g. "0 8 * * 1-5"') from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expression: str, zone: ZoneInfo) -> Any:
    """An APScheduler trigger for five crontab fields, read as cron reads them. APScheduler 3 numbers
    weekdays from Monday = 0, cron from Sunday = 0 (and 7): "1-5" must mean Monday to Friday, so
    numeric weekdays are turned into names first."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(weekday), timezone=zone
    )


def _weekdays(field: str) -> str:
    if field == "*" or any(c.isalpha() for c in field):
        return field  # names mean the same to both
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = int(start), int(end)
        else:
            first = int(base)
            last = 7 if step_text else first
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last):
            raise ValueError(f"weekday {part!r} is not within 0-7 (0 and 7 are Sunday)")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"weekday step {step_text!r} must be at least 1")
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(WEEKDAYS[day] for day in sorted(days, key=lambda d: (d - 1) % 7))


class When(BaseModel):
    """What a discrepancy (or a source) must be for an alert rule to send. Every condition given must
    hold; none given matches every discrepancy."""

    model_config = ConfigDict(extra="forbid")

    severity: Severity | None = Field(default=None, description="At least this severity.")
    rule: list[str] | None = Field(default=None, description="One of these rules (a name or a list).")
    age: Duration | None = Field(
        default=None, description="Open at least this long (an escalation tier: 1d, 3d ...)."
    )
    tier: int | None = Field(
        default=None,
        ge=1,
        description="At least this tier of the rule's own tiers (the stuck rule's SLA tiers).",
    )
    stage: str | None = Field(
        default=None, description="The stage the order is stuck in (a canonical status, e.g. preparing)."
    )
    source: Literal["unhealthy"] | None = Field(
        default=None, description="unhealthy: a source system whose polls keep failing (and its recovery)."
    )

    @field_validator("rule", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("rule")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _rule_names(value)

    @field_validator("stage")
    @classmethod
    def _stage(cls, value: str | None) -> str | None:
        if value is not None and dimension_of_status(value.rpartition(".")[2]) is None:
            raise ValueError(f"{value!r} is not a canonical status such as preparing or shipped")
        return value

    @model_validator(mode="after")
    def _source_alone(self) -> Self:
        if self.source is not None and self.model_fields_set - {"source"}:
            raise ValueError("`source` matches source systems, not discrepancies: give it alone")
        return self

    @property
    def key(self) -> str:
        """Identifies the tier this condition describes: an announcement is made once per key."""
        data = self.model_dump(mode="json", exclude_none=True)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]

    def matches(self, found: Mapping[str, Any], age: timedelta) -> bool:
        """Whether a discrepancy (as stored) meets the conditions, being open `age`."""
        if self.source is not None:
            return False
        if self.severity is not None and SEVERITY_ORDER[found["severity"]] < SEVERITY_ORDER[self.severity]:
            return False
        if self.rule is not None and found["rule"] not in self.rule:
            return False
        if self.age is not None and age < self.age:
            return False
        if self.tier is not None and found["tier"] < self.tier:
            return False
        if self.stage is not None:
            stage = found["details"].get("status") if found["rule"] == "stuck" else None
            if stage != self.stage.rpartition(".")[2]:
                return False
        return True


class AlertRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    when: When = Field(default_factory=When, description="Conditions; all must hold.")
    send: list[str] = Field(min_length=1, description="Channel names to announce to.")

    @field_validator("send", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("send")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        names = _channel_names.get()
        if names is None:
            return value
        wrong = [name for name in value if name not in names]
        if wrong:
            known = ", ".join(names) if names else "no channels are configured"
            raise ValueError(f"no channel {', '.join(map(repr, wrong))} under alerts.channels ({known})")
        return value


def _channel_settings(value: Any) -> Any:
    """A channel block is validated by the settings model of its `type`."""
    if not isinstance(value, Mapping):
        return value
    type_name = value.get("type")
    known = ", ".join(CHANNEL_TYPES)
    if not isinstance(type_name, str):
        raise ValueError(f"a channel needs a `type`; one of {known}")
    if type_name not in CHANNEL_TYPES:
        hint = NOT_CHANNELS.get(type_name.lower())
        raise ValueError(hint or f"unknown channel type {type_name!r}; expected one of {known}")
    return CHANNEL_TYPES[type_name].settings_model.model_validate(value)


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: dict[str, Annotated[ChannelSettings, BeforeValidator(_channel_settings)]] = Field(
        default_factory=dict, description="Channel name -> its settings; `type` picks the service."
    )
    rules: list[AlertRule] = Field(
        default_factory=list, description="Which discrepancies go to which channels, tier by tier."
    )
    language: Language = Field(default=Language.en, description="Language of alert messages: zh-CN or en.")

    @model_validator(mode="wrap")
    @classmethod
    def _with_channel_names(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        channels = data.get("channels") if isinstance(data, Mapping) else None
        names = tuple(str(n) for n in channels) if isinstance(channels, Mapping) else ()
        token = _channel_names.set(names)
        try:
            return handler(data)
        finally:
            _channel_names.reset(token)


REPORT_NAME_RULE = "start with a letter and hold only letters, digits, '_' and '-'"


def notify_problems(
    smtp: BaseModel | None, reports: Mapping[str, ReportSettings], alerts: AlertSettings
) -> list[str]:
    """What spans the sections: e-mail needs `smtp:`; report names are used in file names."""
    import re

    found: list[str] = []
    if smtp is None:
        if reports:
            found.append(f"reports ({', '.join(reports)}) are sent by e-mail: add an smtp: section")
        mailed = [name for name, channel in alerts.channels.items() if channel.type == "email"]
        if mailed:
            found.append(f"alert channels {', '.join(mailed)} send e-mail: add an smtp: section")
    wrong = [name for name in reports if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name)]
    if wrong:
        found.append(f"report names must {REPORT_NAME_RULE}: {', '.join(map(repr, wrong))}")
    return found
