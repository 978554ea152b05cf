"""What an answer means: response checks, a small family picked by `type:` (errors signalled inside
a body, provider throttles), then the status rules every API shares. Each check looks at the status,
headers and parsed body and says: fine, retry (a throttle or a hiccup), or fail (with the reason)."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from orderbridge.connectors.base import get_path, same_value

NO_BODY: Any = object()  # the answer has no JSON body (empty, HTML, 204/304)
RETRY_STATUSES = frozenset({408, 429})  # and every 5xx
NOTHING_NEW = frozenset({204, 304})  # not errors: the listing code decides what they mean


class Verdict(enum.Enum):
    OK = "ok"
    RETRY = "retry"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    """`reason` None: the answer's status line and body excerpt tell it; else the reason, followed by
    the body excerpt when `with_body`. `hint` says what to check."""

    verdict: Verdict
    reason: str | None = None
    with_body: bool = False
    hint: str = ""


# --- settings --------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BodyErrorSettings(_Model):
    """An error signalled inside a 2xx body: a field whose value is not one of the success values."""

    type: Literal["body"] = Field(default="body", description="An error code or flag inside a 2xx body.")
    field: str = Field(
        description="Dotted path of the code or flag, e.g. code, Result.ResponseStatus.IsSuccess."
    )
    ok: list[Any] = Field(
        default_factory=lambda: [0, "0", "ok", "OK", True],
        description="Values of the field that mean success.",
    )
    message: str | None = Field(default=None, description="Field with the error text.")
    absent: Literal["ok", "error"] = Field(
        default="ok",
        description="A body without the field: 'ok' (normal pages often carry no code) or 'error'.",
    )
    retry: list[Any] = Field(
        default_factory=list,
        description="Values of the field meaning 'try again later' (a throttle or a busy server): retried "
        "with backoff instead of failing the poll.",
    )


class ThrottleSettings(_Model):
    """A provider's way of saying 'too many requests' other than 429 (Salesforce's 403
    REQUEST_LIMIT_EXCEEDED, Jiandaoyun's 400 code 8303, a throttle inside a 200 body)."""

    type: Literal["throttle"] = Field(description="A throttle signal: retried with backoff and Retry-After.")
    status: list[int] = Field(
        default_factory=list, description="Answer statuses it comes with; empty means any status."
    )
    field: str | None = Field(
        default=None, description="Dotted path into the body (lists by index: 0.errorCode)."
    )
    values: list[Any] = Field(default_factory=list, description="Values at `field` that mean throttled.")
    contains: str | None = Field(default=None, description="... or text the body contains.")

    @model_validator(mode="after")
    def _says_what(self) -> Self:
        if self.field is None and self.contains is None:
            raise ValueError("give `field` with `values`, or `contains`")
        if self.field is not None and not self.values:
            raise ValueError("`field` needs `values`: the values that mean throttled")
        return self


def _shorthand(value: Any) -> Any:
    """`errors: {field: code, ...}` (one body check, the older spelling) as a list of typed checks."""
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        return [
            {"type": "body", **item} if isinstance(item, dict) and "type" not in item else item
            for item in value
        ]
    return value


CheckSettings = Annotated[BodyErrorSettings | ThrottleSettings, Field(discriminator="type")]
ChecksSettings = Annotated[list[CheckSettings], BeforeValidator(_shorthand)]


# --- the checks ------------------------------------------------------------------------------------


class ResponseCheck(ABC):
    """Looks at one answer; None when it has nothing to say about it."""

    @abstractmethod
    def check(self, response: httpx.Response, body: Any) -> Finding | None: ...


class BodyError(ResponseCheck):
    def __init__(self, settings: BodyErrorSettings) -> None:
        self.settings = settings

    def check(self, response: httpx.Response, body: Any) -> Finding | None:
        s = self.settings
        if not response.is_success or body is NO_BODY:
            return None
        if not _present(body, s.field):
            if s.absent == "ok":
                return None
            return Finding(
                Verdict.FAIL, f"reported no {s.field!r} (errors.absent: error): body", with_body=True
            )
        code = get_path(body, s.field)
        if any(same_value(code, ok) for ok in s.ok):
            return None
        message = get_path(body, s.message) if s.message else None
        verdict = Verdict.RETRY if any(same_value(code, v) for v in s.retry) else Verdict.FAIL
        reason = f"reported an error: {s.field}={code!r}"
        if message is not None:
            return Finding(verdict, f"{reason}: {message}")
        return Finding(verdict, f"{reason}: body", with_body=True)


class Throttle(ResponseCheck):
    def __init__(self, settings: ThrottleSettings) -> None:
        self.settings = settings

    def check(self, response: httpx.Response, body: Any) -> Finding | None:
        s = self.settings
        if s.status and response.status_code not in s.status:
            return None
        if s.field is not None:
            found = get_path(body, s.field) if body is not NO_BODY else None
            if not any(same_value(found, v) for v in s.values):
                return None
        if s.contains is not None and s.contains not in _text(response):
            return None
        return Finding(Verdict.RETRY, hint=" (throttled)")


class StatusRules(ResponseCheck):
    """What every API shares: 2xx (204/304 included) is fine, 408/429/5xx are retried, any other
    status fails with a hint at the usual cause."""

    def check(self, response: httpx.Response, body: Any) -> Finding | None:
        status = response.status_code
        if response.is_success or status in NOTHING_NEW:
            return Finding(Verdict.OK)
        if status in RETRY_STATUSES or status >= 500:
            return Finding(Verdict.RETRY)
        hint = {
            401: " (check the credentials)",
            403: " (the credentials were refused or lack a permission)",
            404: " (check base_url and the path)",
        }.get(status, "")
        return Finding(Verdict.FAIL, hint=hint)


# Throttles of well-known APIs that do not answer 429; on unless retry.known_throttles is false.
KNOWN_THROTTLES = (
    ThrottleSettings(type="throttle", status=[403], contains="REQUEST_LIMIT_EXCEEDED"),  # Salesforce
    ThrottleSettings(type="throttle", status=[400], field="code", values=[8303]),  # Jiandaoyun
    ThrottleSettings(
        type="throttle", status=[400], contains="SSS_REQUEST_LIMIT_EXCEEDED"
    ),  # NetSuite RESTlets
    ThrottleSettings(
        type="throttle", status=[200], field="errors.0.extensions.code", values=["THROTTLED"]
    ),  # Shopify
)

CHECKS: dict[str, type[ResponseCheck]] = {"body": BodyError, "throttle": Throttle}


def build_checks(settings: Sequence[BaseModel], known_throttles: bool = True) -> list[ResponseCheck]:
    """The configured checks in order, the known throttles, then the status rules."""
    configured = [*settings, *(KNOWN_THROTTLES if known_throttles else ())]
    checks: list[ResponseCheck] = [CHECKS[s.type](s) for s in configured]  # type: ignore[call-arg]
    return [*checks, StatusRules()]


def judge(checks: Sequence[ResponseCheck], response: httpx.Response, body: Any) -> Finding:
    """The first check with something to say decides."""
    for check in checks:
        if (finding := check.check(response, body)) is not None:
            return finding
    return Finding(Verdict.OK)


def _present(body: Any, path: str) -> bool:
    """Whether `path` exists in `body` (even holding null): absent and null are told apart."""
    if isinstance(body, dict) and path in body:
        return True
    current = body
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif (
            isinstance(current, list)
            and part.lstrip("-").isdigit()
            and -len(current) <= int(part) < len(current)
        ):
            current = current[int(part)]
        else:
            return False
    return True


def _text(response: httpx.Response) -> str:
    try:
        return response.text
    except (UnicodeDecodeError, LookupError):
        return ""
