"""Outgoing HTTP shared by connectors: a configured client, auth styles, and calls with retries,
`Retry-After`, errors hidden in 200 bodies, and failure messages that never carry a secret."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Generator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from orderbridge import __version__
from orderbridge.connectors.base import SourceError, get_path
from orderbridge.connectors.rest.settings import AuthSettings, BodyErrorSettings, RetrySettings

USER_AGENT = f"orderbridge/{__version__}"
RETRY_STATUSES = frozenset({408, 429})  # and every 5xx
# Query parameters whose values are credentials by their name alone; never shown in a message.
SECRET_PARAMS = frozenset({"key", "apikey", "api_key", "access_token", "token", "secret", "password", "sign"})
# Configured headers whose values are credentials by their name (X-Api-Key, X-App-Secret, Cookie, ...).
SECRET_HEADER = re.compile(r"auth|key|token|secret|passw|cookie|sign|session", re.IGNORECASE)
EXCERPT = 200

Sleep = Callable[[float], object]


class SecretAuth(httpx.Auth):
    """An auth style that knows its secrets, so failure messages can leave them out."""

    secret_params: frozenset[str] = frozenset()

    def secrets(self) -> tuple[str, ...]:
        return ()


class BearerAuth(SecretAuth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)


class ApiKeyAuth(SecretAuth):
    """An API key in a header (with an optional prefix such as 'token ') or in a query parameter."""

    def __init__(
        self, key: str, *, header: str | None = None, query: str | None = None, prefix: str = ""
    ) -> None:
        if (header is None) == (query is None):
            raise ValueError("an API key goes in exactly one of a header or a query parameter")
        self._key, self._header, self._query, self._prefix = key, header, query, prefix
        self.secret_params = frozenset({query.lower()}) if query else frozenset()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._header is not None:
            request.headers[self._header] = f"{self._prefix}{self._key}"
        elif self._query is not None:
            request.url = request.url.copy_merge_params({self._query: self._key})
        yield request

    def secrets(self) -> tuple[str, ...]:
        return (self._key,)


def auth_from_settings(settings: AuthSettings) -> SecretAuth | None:
    if settings.bearer is not None:
        return BearerAuth(settings.bearer.get_secret_value())
    if (key := settings.api_key) is not None:
        return ApiKeyAuth(key.value.get_secret_value(), header=key.header, query=key.query, prefix=key.prefix)
    return None


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
        follow_redirects=True,  # httpx drops Authorization when a redirect leaves the origin
    )


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asks us to wait (`Retry-After` in seconds or as an HTTP date), if it says."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class _Retryable(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response


class _Stopped(Exception):
    pass


class HttpApi:
    """One remote API as a connector sees it: its client, its retry policy and how it reports errors.

    `sleep` is how retries wait; it defaults to waiting on the poll's stop event (so shutdown aborts
    the wait) and tests replace it to record waits instead of sleeping."""

    def __init__(
        self,
        system: str,
        client: httpx.Client,
        *,
        retry: RetrySettings,
        errors: BodyErrorSettings | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.system, self.client, self.retry, self.errors, self.sleep = system, client, retry, errors, sleep

    def fetch(self, method: str, url: str, *, stop: threading.Event | None = None, **kwargs: Any) -> Any:
        """`send`, then the JSON body, checked for an error signalled inside it."""
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
        """A request retried on transport errors, 408, 429 and 5xx; raises SourceError when it fails.
        An error answer for which `accept` is true is returned as it is (a paging end, say)."""
        stop = stop or threading.Event()
        request = self.client.build_request(method, url, **kwargs)
        what = self.describe(request)
        pause = self.sleep or stop.wait

        def sleep(seconds: float) -> None:
            pause(seconds)
            if stop.is_set():
                raise _Stopped

        def attempt() -> httpx.Response:
            response = self.client.request(method, url, **kwargs)
            if response.status_code in RETRY_STATUSES or response.status_code >= 500:
                asked = retry_after(response)
                if asked is not None and asked > self.retry.max_wait.total_seconds():
                    # Retrying sooner than asked would only be refused again: give the poll up now;
                    # the daemon waits as long as asked before the next one.
                    message = (
                        f"{self.system}: {what} failed: {_status(response)}; the server asks to wait "
                        f"{asked:.0f} s (more than retry.max_wait), so the next poll waits that long"
                    )
                    raise SourceError(self._scrub(message, request), retry_after=asked)
                raise _Retryable(response)
            if response.is_error and not (accept is not None and accept(response)):
                hint = " (check the credentials)" if response.status_code in (401, 403) else ""
                message = f"{self.system}: {what} failed: {_status(response)}{hint}"
                raise SourceError(self._scrub(message, request))
            return response

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self._wait,
            retry=retry_if_exception_type((httpx.TransportError, _Retryable)),
            sleep=sleep,
            reraise=True,
        )
        tries = f" after {self.retry.attempts} attempts" if self.retry.attempts > 1 else ""
        try:
            return retrying(attempt)
        except _Retryable as exc:
            reason = _status(exc.response)
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}"
        except _Stopped:
            tries, reason = "", "stopped while waiting to retry"
        # `from None`: the chained httpx exception would carry the request, credentials included
        raise SourceError(self._scrub(f"{self.system}: {what} failed{tries}: {reason}", request)) from None

    def read_json(self, response: httpx.Response) -> Any:
        what = self.describe(response.request)
        try:
            body = response.json()
        except ValueError:
            failure = f"answered something that is not JSON: {_excerpt(response)}"
            raise SourceError(self._scrub(f"{self.system}: {what} {failure}", response.request)) from None
        if self.errors is not None:
            code = get_path(body, self.errors.field)
            if not any(_same(code, ok) for ok in self.errors.ok):
                message = get_path(body, self.errors.message) if self.errors.message else None
                detail = _shorten(str(message)) if message is not None else f"body {_excerpt(response)}"
                failure = f"reported an error: {self.errors.field}={code!r}: {detail}"
                raise SourceError(self._scrub(f"{self.system}: {what} {failure}", response.request))
        return body

    def describe(self, request: httpx.Request) -> str:
        """Method, path and query with credential parameters masked, e.g. `GET /api/orders?key=***`."""
        hidden = SECRET_PARAMS | (self._auth.secret_params if self._auth else frozenset())
        params = [f"{k}={'***' if k.lower() in hidden else v}" for k, v in request.url.params.multi_items()]
        return f"{request.method} {request.url.path}" + (f"?{'&'.join(params)}" if params else "")

    def close(self) -> None:
        self.client.close()

    @property
    def _auth(self) -> SecretAuth | None:
        auth = self.client.auth
        return auth if isinstance(auth, SecretAuth) else None

    def _scrub(self, text: str, request: httpx.Request) -> str:
        """The text with every credential the request carries replaced by ***, wherever it appears
        (servers echo keys back in error bodies)."""
        hidden = SECRET_PARAMS | (self._auth.secret_params if self._auth else frozenset())
        guessed = [v for k, v in request.url.params.multi_items() if k.lower() in hidden]
        for name, value in self.client.headers.items():
            if SECRET_HEADER.search(name):
                guessed += [value, value.rpartition(" ")[2]]  # "Bearer abc": the token alone, too
        # A value only guessed to be secret by its name is masked when long enough to be one, so a
        # header such as `X-Sign-Version: 2` does not mask every 2 in the message.
        secrets = [*(self._auth.secrets() if self._auth else ()), *(v for v in guessed if len(v) >= 6)]
        for secret in sorted(secrets, key=len, reverse=True):  # longest first: none left half-masked
            if secret:
                text = text.replace(secret, "***")
        return text

    def _wait(self, state: RetryCallState) -> float:
        cap = self.retry.max_wait.total_seconds()
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and (asked := retry_after(error.response)) is not None:
            return min(asked, cap)
        initial = self.retry.initial_wait.total_seconds()
        backoff = initial * 2.0 ** (state.attempt_number - 1) + random.uniform(0, initial)
        return min(backoff, cap)


def _same(value: Any, ok: Any) -> bool:
    # `1 == True` and `0 == False` in Python: a `success: false` must not pass as the ok value 0
    return bool(value == ok) and isinstance(value, bool) == isinstance(ok, bool)


def _status(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.reason_phrase}: {_excerpt(response)}"


def _excerpt(response: httpx.Response) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        text = repr(response.content[:EXCERPT])
    return _shorten(text) or "(empty body)"


def _shorten(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"
