"""Outgoing HTTP shared by connectors: one remote API as a connector sees it. Each request keeps the
system's budget, is checked by the response checks, retried with backoff and `Retry-After`, follows
redirects only where credentials may go, gives way at once when the poll is stopped, and fails with
a message that names the host and never carries a secret."""

from __future__ import annotations

import math
import random
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import structlog
from pydantic import BaseModel, SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from orderbridge import __version__
from orderbridge.connectors.auth import AuthFailure, AuthStyle, NoAuth, build_auth
from orderbridge.connectors.base import ConnectorContext, PollStopped, RetryNotice, SourceError
from orderbridge.connectors.budget import BUDGETS, RequestBudget
from orderbridge.connectors.http_settings import HttpSystemSettings, RetrySettings
from orderbridge.connectors.responses import (
    NO_BODY,
    NOTHING_NEW,
    Finding,
    ResponseCheck,
    Verdict,
    build_checks,
    judge,
)

log = structlog.get_logger(__name__)

USER_AGENT = f"orderbridge/{__version__}"
# Query parameters whose values are credentials by their name alone; an extra guard beside the
# values of secret-typed settings, which are masked wherever they appear.
SECRET_PARAMS = frozenset(
    {"key", "apikey", "api_key", "access_token", "token", "secret", "password", "sign", "signature"}
)
# Configured headers whose values are credentials by their name (X-Api-Key, X-App-Secret, Cookie, ...).
SECRET_HEADER = re.compile(r"auth|key|token|secret|passw|cookie|sign|session", re.IGNORECASE)
EXCERPT = 200
MAX_REDIRECTS = 10
MAX_RETRY_AFTER = 86400.0
STOP_CHECK = 0.1  # seconds between looks at the stop event while a request is in flight
JSON_KEY = "orderbridge.json"  # where the parsed body of an answer is kept (response.extensions)

Sleep = Callable[[float], object]


def secret_values(model: Any) -> list[str]:
    """Every value of a secret-typed setting inside a settings tree."""
    if isinstance(model, SecretStr):
        return [model.get_secret_value()]
    if isinstance(model, BaseModel):
        return [v for name in type(model).model_fields for v in secret_values(getattr(model, name))]
    if isinstance(model, dict):
        return [v for item in model.values() for v in secret_values(item)]
    if isinstance(model, list | tuple):
        return [v for item in model for v in secret_values(item)]
    return []


def build_client(
    base_url: str,
    *,
    timeout: timedelta,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        timeout=timeout.total_seconds(),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
        auth=auth,
        transport=transport,
        follow_redirects=False,  # HttpApi follows them itself, deciding where credentials may go
    )


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asks us to wait (`Retry-After` in seconds or as an HTTP date), if it says."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None  # "inf", "nan": no usable answer
    # Longer than a day is taken as a day: the source is asked again then, rather than never.
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError | _Retryable) or (
        isinstance(exc, AuthFailure) and exc.transient
    )


class _Retryable(Exception):
    def __init__(self, reason: str, asked: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.asked = reason, asked


class HttpApi:
    """One remote API as a connector sees it: its client, checks, retry policy, budget and secrets.

    `sleep` is how retries wait; it defaults to waiting on the poll's stop event (so shutdown aborts
    the wait) and tests replace it to record waits instead of sleeping."""

    def __init__(
        self,
        system: str,
        client: httpx.Client,
        *,
        retry: RetrySettings,
        checks: Sequence[ResponseCheck] | None = None,
        budget: RequestBudget | None = None,
        secrets: Iterable[str] = (),
        strip_on_redirect: bool = False,
        sleep: Sleep | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
    ) -> None:
        self.system, self.client, self.retry = system, client, retry
        self.checks = list(checks) if checks is not None else build_checks([], retry.known_throttles)
        self.budget, self.sleep, self.on_retry = budget, sleep, on_retry
        self.strip_on_redirect = strip_on_redirect
        self.configured_secrets = [s for s in secrets if s]
        self._guessed: list[str] = []
        self.last_response: httpx.Response | None = None  # the last answer accepted (probe reads it)

    @classmethod
    def from_settings(
        cls, system: str, settings: HttpSystemSettings, context: ConnectorContext | None = None
    ) -> HttpApi:
        """The API a system block describes: its auth style, checks, budget and every secret it holds."""
        context = context or ConnectorContext()
        base_url = str(settings.base_url)
        client = build_client(
            base_url,
            timeout=settings.timeout,
            headers=settings.headers,
            auth=build_auth(settings.auth, base_url, system),
            transport=context.transport,
        )
        return cls(
            system,
            client,
            retry=settings.retry,
            checks=build_checks(settings.errors, settings.retry.known_throttles),
            budget=BUDGETS.of(system, settings.budget) if settings.budget is not None else None,
            secrets=secret_values(settings),
            strip_on_redirect=settings.redirects == "strip_credentials",
            on_retry=context.on_retry,
        )

    # --- requests ----------------------------------------------------------------------------------

    def fetch(self, method: str, url: str, *, stop: threading.Event | None = None, **kwargs: Any) -> Any:
        """`send`, then the JSON body; None for an answer without one (204 No Content, 304 Not Modified)."""
        return self.read_json(self.send(method, url, stop=stop, **kwargs))

    def send(
        self,
        method: str,
        url: str,
        *,
        stop: threading.Event | None = None,
        accept: Callable[[httpx.Response], bool] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """A request, checked and retried; the whole answer (status, headers, parsed body via
        `read_json`). Raises SourceError when it fails, PollStopped when the poll was stopped. An
        answer for which `accept` is true is returned as it is, unjudged (a paging end, say)."""
        stop = stop or threading.Event()
        shown = self.client.build_request(method, url, **kwargs)
        hidden = self._secret_params()
        # Values of parameters that are credentials by name (a token passed in list.params), masked too.
        self._guessed = [v for k, v in shown.url.params.multi_items() if k.lower() in hidden and len(v) >= 6]
        what = self.describe(shown)
        pause = self.sleep or stop.wait

        def wait(seconds: float) -> bool:
            pause(seconds)
            return stop.is_set()

        def sleep(seconds: float) -> None:
            if wait(seconds):
                raise PollStopped(f"{self.system}: {what}: stopped while waiting to retry")

        def attempt() -> httpx.Response:
            nonlocal what
            if self.budget is not None and not self.budget.acquire(wait):
                raise PollStopped(f"{self.system}: {what}: stopped while waiting for the request budget")
            request = self.client.build_request(method, url, **kwargs)  # afresh: signatures, tokens
            response = self._in_flight(request, stop, what)
            what = self.describe(response.request)  # as sent: with the auth's parameters, masked
            if accept is not None and accept(response):
                self.last_response = response
                return response
            finding = judge(self.checks, response, self._body(response))
            if finding.verdict == Verdict.OK:
                self.last_response = response
                return response
            reason = self._reason(finding, response)
            if finding.verdict == Verdict.RETRY:
                asked = retry_after(response)
                if self.budget is not None:
                    self.budget.pause(asked if asked is not None else self.retry.initial_wait.total_seconds())
                if asked is not None and asked > self.retry.max_wait.total_seconds():
                    # Retrying sooner than asked would only be refused again: give the poll up now;
                    # the daemon waits as long as asked before the next one.
                    message = (
                        f"{self.system}: {what} failed: {reason}; the server asks to wait {asked:.0f} s "
                        "(more than retry.max_wait), so the next poll waits that long"
                    )
                    raise SourceError(self.scrub(message), retry_after=asked)
                raise _Retryable(reason, asked)
            verb = "failed: " if finding.reason is None else ""
            raise SourceError(self.scrub(f"{self.system}: {what} {verb}{reason}"))

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self._wait,
            retry=retry_if_exception(_transient),
            sleep=sleep,
            before_sleep=lambda state: self._notify(state, what),
            reraise=True,
        )
        tries = f" after {self.retry.attempts} attempts" if self.retry.attempts > 1 else ""
        try:
            return retrying(attempt)
        except _Retryable as exc:
            reason = exc.reason
        except httpx.TransportError as exc:
            reason = self._transport_reason(exc, shown)
        except AuthFailure as exc:
            tries = tries if exc.transient else ""
            reason = str(exc)
        # `from None`: the chained httpx exception would carry the request, credentials included
        raise SourceError(self.scrub(f"{self.system}: {what} failed{tries}: {reason}")) from None

    def read_json(self, response: httpx.Response) -> Any:
        """The answer's JSON body; None for 204/304 (the listing code decides what they mean)."""
        if response.status_code in NOTHING_NEW:
            return None
        body = self._body(response)
        if body is NO_BODY:
            what = self.describe(response.request)
            failure = f"answered something that is not JSON: {self._excerpt(response)}"
            raise SourceError(self.scrub(f"{self.system}: {what} {failure}")) from None
        return body

    def describe(self, request: httpx.Request) -> str:
        """Method, host, path and query with credentials masked, e.g. `GET api.example.com/orders?key=***`."""
        url = request.url
        port = f":{url.port}" if url.port is not None else ""
        hidden = self._secret_params()
        secrets = self._secrets()
        params = [
            f"{k}={'***' if k.lower() in hidden or any(s in v for s in secrets) else v}"
            for k, v in url.params.multi_items()
        ]
        return f"{request.method} {url.host}{port}{url.path}" + (f"?{'&'.join(params)}" if params else "")

    def close(self) -> None:
        self.client.close()

    # --- masking -----------------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        """The text with every credential replaced by ***, wherever it appears (servers echo keys,
        headers and whole requests back in error bodies)."""
        for secret in self._secrets():
            text = text.replace(secret, "***")
        return text

    def _secrets(self) -> list[str]:
        found = [*self.configured_secrets, *self._auth.secrets(), *self._guessed]
        for name, value in self.client.headers.items():
            if SECRET_HEADER.search(name) and len(value) >= 6:
                # A value only guessed to be secret by its name is masked when long enough to be one,
                # so a header such as `X-Sign-Version: 2` does not mask every 2 in the message.
                found += [value, value.rpartition(" ")[2]]  # "Bearer abc": the token alone, too
        variants = {v for s in found if s for v in (s, quote(s, safe=""), quote_plus(s))}
        return sorted((v for v in variants if len(v) >= 4 or v in found), key=len, reverse=True)

    def _secret_params(self) -> frozenset[str]:
        return SECRET_PARAMS | self._auth.secret_params

    @property
    def _auth(self) -> AuthStyle:
        auth = self.client.auth
        return auth if isinstance(auth, AuthStyle) else NoAuth()

    # --- internals ---------------------------------------------------------------------------------

    def _in_flight(self, request: httpx.Request, stop: threading.Event, what: str) -> httpx.Response:
        """Send in a worker thread while watching the stop event: a stop does not wait for a slow
        source's answer (up to `timeout`); the abandoned request ends with its own timeout."""
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                outcome["response"] = self._follow(request)
            except BaseException as exc:  # handed to the waiting thread
                outcome["error"] = exc
            finally:
                done.set()

        if stop.is_set():
            raise PollStopped(f"{self.system}: {what}: stopped before the request")
        threading.Thread(target=run, name=f"orderbridge-http-{self.system}", daemon=True).start()
        while not done.wait(STOP_CHECK):
            if stop.is_set():
                raise PollStopped(f"{self.system}: {what}: stopped during the request")
        if "error" in outcome:
            raise outcome["error"]
        response: httpx.Response = outcome["response"]
        return response

    def _follow(self, request: httpx.Request) -> httpx.Response:
        """Send, following redirects: within the origin as usual; to another origin only when allowed,
        and then without any credential."""
        response = self.client.send(request)
        stripped = False
        for _ in range(MAX_REDIRECTS):
            target = response.next_request
            if target is None:
                return response
            response.close()
            sent = response.request.url
            same = (target.url.scheme, target.url.host, target.url.port) == (
                sent.scheme,
                sent.host,
                sent.port,
            )
            if same and not stripped:
                response = self.client.send(target)
                continue
            if not self.strip_on_redirect:
                raise SourceError(
                    self.scrub(
                        f"{self.system}: {self.describe(request)} was redirected to another host "
                        f"({target.url.scheme}://{target.url.netloc.decode()}) and not followed, so that no "
                        "credential goes there; set `redirects: strip_credentials` to follow such "
                        "redirects without credentials, or point base_url at the new host"
                    )
                )
            stripped = True
            response = self.client.send(self._without_credentials(target), auth=None)
        raise SourceError(f"{self.system}: {self.describe(request)}: more than {MAX_REDIRECTS} redirects")

    def _without_credentials(self, request: httpx.Request) -> httpx.Request:
        hidden, secrets = self._secret_params(), self._secrets()
        params = [
            (k, v)
            for k, v in request.url.params.multi_items()
            if k.lower() not in hidden and not any(s in v for s in secrets)
        ]
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if "Content-Type" in request.headers:
            headers["Content-Type"] = request.headers["Content-Type"]
        return httpx.Request(
            request.method, request.url.copy_with(params=params), headers=headers, content=request.read()
        )

    def _body(self, response: httpx.Response) -> Any:
        if JSON_KEY not in response.extensions:
            try:
                body = response.json() if response.content.strip() else NO_BODY
            except (ValueError, RecursionError):  # also UnicodeDecodeError; nesting too deep to parse
                body = NO_BODY
            response.extensions[JSON_KEY] = body
        return response.extensions[JSON_KEY]

    def _reason(self, finding: Finding, response: httpx.Response) -> str:
        if finding.reason is None:
            return f"{self._status(response)}{finding.hint}"
        excerpt = f" {self._excerpt(response)}" if finding.with_body else ""
        return f"{self.scrub(_shorten(self.scrub(finding.reason)))}{excerpt}{finding.hint}"

    def _status(self, response: httpx.Response) -> str:
        return f"HTTP {response.status_code} {response.reason_phrase}: {self._excerpt(response)}"

    def _excerpt(self, response: httpx.Response) -> str:
        """The start of the body, masked before it is cut (a secret across the cut stays hidden)."""
        try:
            text = response.text
        except (UnicodeDecodeError, LookupError):
            text = repr(response.content[:EXCERPT])
        return _shorten(self.scrub(text)) or "(empty body)"

    def _transport_reason(self, exc: httpx.TransportError, request: httpx.Request) -> str:
        url = request.url
        where = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
        timeout = self.client.timeout.read
        if isinstance(exc, httpx.ConnectTimeout):
            return f"{where} did not accept a connection within {timeout:g} s"
        if isinstance(exc, httpx.TimeoutException):
            return f"{where} did not answer within {timeout:g} s (timeout)"
        if isinstance(exc, httpx.ConnectError):
            return f"cannot connect to {where}: {exc}"
        return f"{type(exc).__name__} talking to {where}: {exc}"

    def _wait(self, state: RetryCallState) -> float:
        cap = self.retry.max_wait.total_seconds()
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.asked is not None:
            return min(error.asked, cap)
        initial = self.retry.initial_wait.total_seconds()
        backoff = initial * 2.0 ** (state.attempt_number - 1) + random.uniform(0, initial)
        return min(backoff, cap)

    def _notify(self, state: RetryCallState, what: str) -> None:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable | AuthFailure):
            reason = error.reason if isinstance(error, _Retryable) else str(error)
        elif isinstance(error, httpx.TransportError) and error.request is not None:
            reason = self._transport_reason(error, error.request)
        else:
            reason = type(error).__name__
        wait = state.next_action.sleep if state.next_action else 0.0
        notice = RetryNotice(
            self.system, state.attempt_number + 1, self.retry.attempts, wait, self.scrub(_shorten(reason))
        )
        log.warning(
            "request failed; retrying",
            system=self.system,
            request=what,
            attempt=notice.attempt,
            attempts=notice.attempts,
            wait=round(wait, 1),
            reason=notice.reason,
        )
        if self.on_retry is not None:
            self.on_retry(notice)


def _shorten(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"
