"""The whole configuration file as settings models, the checks that span its sections (does the
authority name a configured system?), and its JSON Schema for editors."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from datetime import timedelta, tzinfo
from typing import Annotated, Any, Literal, NamedTuple, Self, Union
from urllib.parse import quote, unquote, urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from orderbridge.config.errors import KeyPath, format_key_path
from orderbridge.config.types import PositiveDuration, Secret
from orderbridge.connectors.base import HealthSettings, SystemSettings
from orderbridge.connectors.registry import REGISTRY, UnknownConnectorType, lookup
from orderbridge.mapping.model import PROGRESS, Dimension, statuses_of
from orderbridge.mapping.timeparse import zone
from orderbridge.notify.channels.registry import CHANNEL_TYPES
from orderbridge.notify.mail import SmtpSettings
from orderbridge.notify.settings import AlertSettings, ReportSettings, notify_problems
from orderbridge.reconciler.rules import RULE_NAMES
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.web.passwords import hash_problem
from orderbridge.web.settings import TrackSettings

SYSTEM_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")  # the store keeps 64 characters
SYSTEM_NAME_RULE = "start with a lowercase letter, hold only a-z, 0-9, '_' and '-', and be at most 64 long"

# Validation context key: the loader checks references itself, on the raw file, so that they are
# reported together with every other problem rather than only once all else is valid.
SKIP_REFERENCE_CHECKS = "orderbridge.skip_reference_checks"

_DATABASE_HINT = "expected sqlite:///path/to/file.db or postgresql+psycopg://user:password@host:5432/dbname"


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # repr=False: the URL may carry the database password.
    url: str = Field(
        default="sqlite:///orderbridge.db",
        repr=False,
        description="sqlite:///file.db (relative to the config file) or postgresql+psycopg://user:pw@host/db.",
    )
    keep_webhook_events: PositiveDuration = Field(
        default=timedelta(days=90),
        description="How long processed and rejected webhook events stay in the inbox (the daemon "
        "deletes older ones daily; pending and failed events stay until processed or replayed). A "
        "provider's redelivery is recognised as a duplicate only while its event is kept.",
    )

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        # Messages here never quote the URL: it may hold a password.
        scheme, sep, rest = value.strip().partition("://")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
            raise ValueError(f"not a database URL; {_DATABASE_HINT}")
        scheme = scheme.lower()
        if scheme == "sqlite":
            if rest and not rest.startswith("/"):
                raise ValueError(
                    "a SQLite URL has three slashes: sqlite:///relative.db or sqlite:////abs/path.db"
                )
        elif scheme in ("postgresql", "postgresql+psycopg"):
            value = encoded_userinfo(value.strip())
            try:
                urlsplit(value).port  # noqa: B018 - parsing the port is the check
            except ValueError:
                raise ValueError("the port of the database URL is not a number from 0 to 65535") from None
        elif scheme == "postgres":
            raise ValueError("write postgresql:// (or postgresql+psycopg://), not postgres://")
        elif scheme.startswith("postgresql+"):
            raise ValueError(f"database driver {scheme[11:]!r} is not supported; use postgresql+psycopg://")
        else:
            raise ValueError(f"database {scheme!r} is not supported; {_DATABASE_HINT}")
        return value.strip()


def encoded_userinfo(url: str) -> str:
    """The URL with its user name and password percent-encoded where they hold characters a URL
    cannot (`@`, `/`, `#`, `?`, a stray `%`): a password from `${PGPASSWORD}` is taken as it is,
    rather than cut at its first `@` (and the rest shown as the host). Already encoded: unchanged."""
    scheme, _, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or "/" in userinfo.partition(":")[0] or ("?" in userinfo and "/" not in host):
        return url  # no userinfo, or the last `@` is in the path or query
    user, colon, password = userinfo.partition(":")
    if not any(_needs_encoding(part) for part in (user, password)):
        return url
    encoded = quote(unquote(user) if not _needs_encoding(user) else user, safe="")
    if colon:
        raw = unquote(password) if not _needs_encoding(password) else password
        encoded += ":" + quote(raw, safe="")
    return f"{scheme}://{encoded}@{host}"


def _needs_encoding(part: str) -> bool:
    return bool(re.search(r"[@/#?\s]|%(?![0-9A-Fa-f]{2})", part))


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listen: str = Field(
        default="127.0.0.1:8080", description="host:port of the HTTP endpoint; [::1]:8080 for IPv6."
    )
    users: dict[str, str] = Field(
        default_factory=dict,
        description="Staff who may log in to the web pages: name -> password hash made by "
        "`orderbridge hash-password` (never the password itself).",
    )
    user_header: str | None = Field(
        default=None,
        description="A header a trusted reverse proxy with single sign-on sets to the logged-in user's "
        "name (e.g. X-Forwarded-User); believed only from `trusted_proxies`.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Addresses whose `user_header` and `track.client_header` are believed.",
    )
    session_secret: Secret | None = Field(
        default=None,
        description="Key that signs the session cookies (use ${ENV}); without it a random key per start, "
        "so a restart logs everyone out.",
    )
    session_lifetime: PositiveDuration = Field(
        default=timedelta(hours=12), description="How long a login lasts."
    )
    secure_cookies: bool = Field(
        default=False, description="Send the session cookie over HTTPS only (set when served behind TLS)."
    )
    board_refresh: PositiveDuration = Field(
        default=timedelta(seconds=30),
        description="How often the discrepancy board refreshes itself (not while a note is being written).",
    )
    track: TrackSettings = Field(
        default_factory=TrackSettings, description="The customers' status page /track (off by default)."
    )

    @field_validator("listen", mode="before")
    @classmethod
    def _host_port(cls, value: Any) -> Any:
        hint = "expected host:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080"
        if not isinstance(value, str):
            raise ValueError(hint)
        value = value.strip()
        host, sep, port = value.rpartition(":")
        if not sep or not host:
            raise ValueError(hint)
        if host.startswith("["):
            if not host.endswith("]") or len(host) < 3:
                raise ValueError(f"{hint}; an IPv6 address goes in brackets, e.g. [::1]:8080")
        elif ":" in host:
            raise ValueError("an IPv6 address goes in brackets, e.g. [::1]:8080")
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"the port must be a number from 0 to 65535; {hint}")
        return value

    @field_validator("users")
    @classmethod
    def _hashes(cls, value: dict[str, str]) -> dict[str, str]:
        problems = [f"{name}: {problem}" for name, h in value.items() if (problem := hash_problem(h))]
        if problems:
            raise ValueError("; ".join(problems))
        if any(not name.strip() or len(name) > 64 for name in value):
            raise ValueError("a user name is 1 to 64 characters")
        return value

    @property
    def host(self) -> str:
        """The host without IPv6 brackets, as servers expect it."""
        return self.listen.rpartition(":")[0].removeprefix("[").removesuffix("]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class LogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Least important level logged: debug, info, warning or error."
    )
    format: Literal["json", "console"] = Field(
        default="json", description="json: one JSON object a line (for log collectors); console: for people."
    )
    file: str | None = Field(
        default=None, description="Log to this file (relative to the config file), not stderr."
    )

    @field_validator("file")
    @classmethod
    def _a_file(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or value.rstrip().endswith(("/", "\\", "/.", "/.."))):
            raise ValueError("names a folder, not a file; e.g. /var/log/orderbridge/orderbridge.log")
        return value

    @field_validator("level", "format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class DisplaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(
        default="UTC",
        description="Time zone of the times people read: command-line tables and the explanations of "
        "discrepancies (an IANA name such as Asia/Shanghai). JSON and CSV output keep ISO 8601 with the "
        "offset.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except Exception:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    @property
    def zone(self) -> tzinfo:
        return zone(self.timezone)


def _system_settings(value: Any) -> Any:
    """A system block is validated by the settings model of its connector `type`."""
    if not isinstance(value, Mapping):
        return value
    type_name = value.get("type")
    if not isinstance(type_name, str):
        raise ValueError(f"a system needs a `type`; known types: {', '.join(sorted(REGISTRY))}")
    try:
        return lookup(type_name).settings.model_validate(value)
    except UnknownConnectorType as exc:
        raise ValueError(exc.args[0]) from None


class OrderbridgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: StoreSettings = Field(
        default_factory=StoreSettings,
        description="Where orderbridge keeps what it learnt (SQLite or PostgreSQL).",
    )
    server: ServerSettings = Field(
        default_factory=ServerSettings, description="The daemon's HTTP endpoint: health, metrics, read API."
    )
    log: LogSettings = Field(default_factory=LogSettings, description="What is logged, how, and where.")
    systems: dict[str, Annotated[SystemSettings, BeforeValidator(_system_settings)]] = Field(
        default_factory=dict, description="System name -> its connector settings; `type` picks the connector."
    )
    reconcile: ReconcileSettings = Field(
        default_factory=ReconcileSettings,
        description="How the systems are compared: authorities, grace windows, SLAs, tolerances, rules.",
    )
    smtp: SmtpSettings | None = Field(
        default=None, description="The mail server reports and e-mail alerts use."
    )
    reports: dict[str, ReportSettings] = Field(
        default_factory=dict, description="Report name -> its settings."
    )
    alerts: AlertSettings = Field(default_factory=AlertSettings, description="Alert channels and rules.")
    health: HealthSettings = Field(
        default_factory=HealthSettings, description="When a failing source is marked unhealthy."
    )
    display: DisplaySettings = Field(
        default_factory=DisplaySettings, description="How times are shown to people."
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_sections(cls, data: Any) -> Any:
        # `log:` with every line below it commented out means "defaults", not "a null log".
        if isinstance(data, Mapping):
            return {
                key: value for key, value in data.items() if not (value is None and key in cls.model_fields)
            }
        return data

    @field_validator("systems")
    @classmethod
    def _system_names(cls, systems: dict[str, SystemSettings]) -> dict[str, SystemSettings]:
        wrong = [name for name in systems if not SYSTEM_NAME.match(name)]
        if wrong:
            raise ValueError(f"system names must {SYSTEM_NAME_RULE}: {', '.join(map(repr, wrong))}")
        return systems

    @model_validator(mode="after")
    def _notify(self) -> Self:
        found = notify_problems(self.smtp, self.reports, self.alerts)
        if found:
            raise ValueError("; ".join(found))
        return self

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Self:
        if info.context and info.context.get(SKIP_REFERENCE_CHECKS):
            return self
        found = reference_problems(list(self.streams()), self.reconcile.model_dump())
        if found:
            raise ValueError(
                "; ".join(
                    f"reconcile.{format_key_path(p.path)}: {p.message}"
                    + ("" if p.found is None else f" (found {p.found!r})")
                    for p in found
                )
            )
        return self

    def streams(self) -> dict[str, list[str]]:
        """Every system records come from (the configured ones and their child listings, such as
        `erp.deliveries`), with the link types each attaches records by."""
        return {n: links for name, s in self.systems.items() for n, links in s.streams(name).items()}

    def unhealthy_after(self, system: str) -> int:
        """Failed polls in a row after which `system` is marked unhealthy: its own, else the global."""
        own = self.systems[system].poll.unhealthy_after
        return own if own is not None else self.health.unhealthy_after


class ReferenceProblem(NamedTuple):
    path: KeyPath  # below `reconcile`
    message: str
    found: Any  # the offending value; None when the message names it (a key)


def reference_problems(systems: Collection[str], reconcile: Any) -> list[ReferenceProblem]:
    """Names in `reconcile` that point nowhere. Works on the raw file data as well as on a dump of
    ReconcileSettings, and skips whatever has the wrong shape (the model reports that)."""
    if not isinstance(reconcile, Mapping):
        return []
    found: list[ReferenceProblem] = []
    configured = _listing(systems) if systems else "no systems are configured"
    not_a_system = f"not a configured system; {'configured: ' if systems else ''}{configured}"

    authority = reconcile.get("authority")
    if isinstance(authority, Mapping):
        for dimension, system in authority.items():
            if isinstance(system, str) and system not in systems:
                found.append(ReferenceProblem(("authority", str(dimension)), not_a_system, system))

    expect = reconcile.get("expect")
    if isinstance(expect, list):
        progress = PROGRESS[Dimension.fulfillment]
        for index, item in enumerate(expect):
            if not isinstance(item, Mapping):
                continue
            expected_in, after = item.get("system"), item.get("after")
            if isinstance(expected_in, str) and expected_in not in systems:
                found.append(ReferenceProblem(("expect", index, "system"), not_a_system, expected_in))
            if isinstance(after, str) and after not in progress:
                message = f"not a fulfillment progress status; expected one of {_listing(progress)}"
                found.append(ReferenceProblem(("expect", index, "after"), message, after))

    grace = reconcile.get("grace")
    if isinstance(grace, Mapping):
        known = {"default", *systems, *RULE_NAMES}
        for key in grace:
            if str(key) not in known:
                message = (
                    f"unknown grace key {str(key)!r}{_did_you_mean(str(key), known)}; expected `default`, "
                    f"a system name ({configured}) or a rule name ({_listing(RULE_NAMES)})"
                )
                found.append(ReferenceProblem(("grace", str(key)), message, None))

    sla = reconcile.get("sla")
    if isinstance(sla, Mapping):
        for key in sla:
            wrong_status = _sla_key_problem(str(key))
            if wrong_status:
                found.append(ReferenceProblem(("sla", str(key)), wrong_status, None))

    rules = reconcile.get("rules")
    if isinstance(rules, list):
        for index, rule in enumerate(rules):
            if isinstance(rule, str) and rule not in RULE_NAMES:
                message = (
                    f"unknown rule{_did_you_mean(rule, RULE_NAMES)}; expected one of {_listing(RULE_NAMES)}"
                )
                found.append(ReferenceProblem(("rules", index), message, rule))
    return found


def _sla_key_problem(key: str) -> str | None:
    dimensions = [d.value for d in Dimension]
    every = sorted(
        {s for d in Dimension for s in statuses_of(d)}
        | {f"{d}.{s}" for d in Dimension for s in statuses_of(d)}
    )
    dimension, dot, status = key.partition(".")
    if dot:
        if dimension not in dimensions:
            return f"unknown dimension {dimension!r} in {key!r}; expected one of {_listing(dimensions)}"
        if status in statuses_of(Dimension(dimension)):
            return None
        allowed = _listing(statuses_of(Dimension(dimension)))
        return (
            f"{status!r} is not a {dimension} status{_did_you_mean(status, every)}; expected one of {allowed}"
        )
    if any(key in statuses_of(d) for d in Dimension):
        return None
    return (
        f"{key!r} is not a canonical status{_did_you_mean(key, every)}; expected a status such as "
        "preparing, or dimension.status such as shipment.in_transit"
    )


def _listing(names: Collection[str]) -> str:
    return ", ".join(names)


def _did_you_mean(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def config_json_schema() -> dict[str, Any]:
    """JSON Schema of the configuration file. Each system is one of the registered connectors'
    settings, told apart by `type`, so a connector added to the registry appears here by itself."""
    models = tuple(entry.settings for entry in REGISTRY.values())
    system: Any = models[0] if len(models) == 1 else Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007 - built at run time
    # Alert channels likewise: each one of the channel types' settings, told apart by `type`.
    channel_models = tuple(channel.settings_model for channel in CHANNEL_TYPES.values())
    channel: Any = Annotated[Union[channel_models], Field(discriminator="type")]  # noqa: UP007 - built at run time
    alerts_model = create_model(
        "AlertSettings",
        __base__=AlertSettings,
        channels=(
            dict[str, channel],
            Field(default_factory=dict, description=AlertSettings.model_fields["channels"].description),
        ),
    )
    schema_model = create_model(
        "OrderbridgeConfig",
        __base__=OrderbridgeConfig,
        alerts=(
            alerts_model,
            Field(
                default_factory=alerts_model, description=OrderbridgeConfig.model_fields["alerts"].description
            ),
        ),
        systems=(
            dict[str, system],
            Field(
                default_factory=dict, description="System name -> its settings; `type` picks the connector."
            ),
        ),
    )
    schema = schema_model.model_json_schema()
    systems = schema["properties"]["systems"]
    systems["propertyNames"] = {"pattern": SYSTEM_NAME.pattern}
    for model in (*models, *channel_models):
        definition = schema.get("$defs", {}).get(model.__name__)
        if definition is None:
            continue
        # The loader requires `type` even where a model defaults it; say so, so editors pick the branch.
        if "type" not in definition.get("required", []):
            definition["required"] = ["type", *definition.get("required", [])]
        # SystemSettings also takes one status table, or one link type, without the list around it.
        for name in ("status", "link_by"):
            prop = definition.get("properties", {}).get(name)
            if prop is not None and prop.get("type") == "array":
                items = prop.pop("items")
                prop.pop("type")
                prop["anyOf"] = [items, {"type": "array", "items": items}]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
