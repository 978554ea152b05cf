"""Odoo's JSON-RPC endpoint (`/jsonrpc`, every version up to 21) as an auth style: it logs in once
(`common.authenticate` gives the user id) and sends each JSON-2 shaped request (`POST
/json/2/<model>/<method>` with named parameters) as the `object.execute_kw` call that means the same.
A listing is thus described once, for JSON-2 and JSON-RPC alike; only the answer differs (`result`)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx

from orderbridge.connectors.auth import AuthFailure, FetchedToken, Token, _failure, _fingerprint, merge_url
from orderbridge.connectors.presets.odoo.rpc_settings import OdooRpcSettings

JSON2 = "/json/2/"
_ids = itertools.count(1)


def envelope(service: str, method: str, args: list[Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"service": service, "method": method, "args": args},
        "id": next(_ids),
    }


def rpc_error(body: Any) -> str | None:
    """The message of a JSON-RPC error answer (HTTP 200 with `error`), None when there is none."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    data = error.get("data")
    data = data if isinstance(data, dict) else {}
    name = str(data.get("name") or "")
    message = str(data.get("message") or error.get("message") or "error")
    return f"{name.rpartition('.')[2] or 'error'}: {message}" if name else message


class OdooJsonRpc(FetchedToken):
    """The cached token is the user id `authenticate` answered; a refusal (AccessDenied) logs in again."""

    def __init__(self, settings: OdooRpcSettings, base: httpx.URL, system: str = "") -> None:
        self.settings = settings
        self._url = merge_url(base, settings.path)
        self._base_path = base.path.rstrip("/")
        super().__init__(
            _fingerprint(
                "odoo_jsonrpc",
                system,
                str(self._url),
                settings.database,
                settings.username,
                settings.api_key.get_secret_value(),
            )
        )

    def configured_secrets(self) -> tuple[str, ...]:
        return (self.settings.api_key.get_secret_value(),)

    def secrets(self) -> tuple[str, ...]:
        # The user id is no credential without the key: masking it would blank out every such digit.
        return self.configured_secrets()

    def token_request(self) -> httpx.Request:
        s = self.settings
        args = [s.database, s.username, s.api_key.get_secret_value(), {}]
        return httpx.Request("POST", self._url, json=envelope("common", "authenticate", args))

    def read_token(self, response: httpx.Response) -> Token:
        hint = " (check database, username and api_key)"
        if not response.is_success:
            raise _failure("Odoo login", response, self.configured_secrets(), hint)
        try:
            body = response.json()
        except ValueError:
            raise _failure(
                "Odoo login", response, self.configured_secrets(), " (not a JSON-RPC answer)"
            ) from None
        error = rpc_error(body)
        if error is not None:
            text = error.replace(self.settings.api_key.get_secret_value(), "***")
            raise AuthFailure(f"Odoo login at {self._url.host}{self._url.path} failed: {text[:200]}{hint}")
        uid = body.get("result") if isinstance(body, dict) else None
        if isinstance(uid, bool) or not isinstance(uid, int):
            # `false`: Odoo refuses without saying which of the three is wrong
            raise AuthFailure(
                f"Odoo login at {self._url.host}{self._url.path} refused for user "
                f"{self.settings.username!r} on database {self.settings.database!r}{hint}"
            )
        return Token(str(uid), None)

    def refused(self, response: httpx.Response) -> bool:
        try:
            body = response.json()
        except ValueError:
            return False
        error = rpc_error(body)
        return error is not None and error.startswith("AccessDenied")

    def prepare(self, request: httpx.Request, token: Token) -> httpx.Request:
        """The execute_kw call a JSON-2 request stands for: `ids` become the positional argument,
        every other body field a named one."""
        model, method = self._target(request.url)
        named = json.loads(request.read() or b"{}")
        if not isinstance(named, dict):
            raise AuthFailure(
                f"an Odoo call takes named parameters (a JSON object), not {type(named).__name__}"
            )
        ids = named.pop("ids", None)
        s = self.settings
        args = [
            s.database,
            int(token.value),
            s.api_key.get_secret_value(),
            model,
            method,
            [ids] if ids is not None else [],
            named,
        ]
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "content-type")
        }
        return httpx.Request("POST", self._url, headers=headers, json=envelope("object", "execute_kw", args))

    def _target(self, url: httpx.URL) -> tuple[str, str]:
        path = url.path[len(self._base_path) :] if url.path.startswith(self._base_path) else url.path
        model, _, method = path[len(JSON2) :].partition("/") if path.startswith(JSON2) else ("", "", "")
        if not model or not method or "/" in method:
            raise AuthFailure(f"{url.path}: an Odoo call is written as /json/2/<model>/<method>")
        return model, method
