"""No secret of the HTTP layer reaches any output. A real local source echoes whole requests (URL,
headers, body) back in its error answers; each auth style is provoked into failing with distinctive
secrets, and the `sync` command's output, its log file, the daemon's poll error and `/readyz` are
searched for every secret, also base64- and percent-encoded."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from orderbridge.config.loader import load_config
from orderbridge.scheduler.daemon import Daemon

SECRETS = {
    "APP_SECRET": "appsec-Zq81x",
    "CLIENT_SECRET": "clisec-Wm42y",
    "APP_KEY": "appkey-Pn73v",
    "SIGNATURE": "sigval-Kt55u",
    "URL_PASSWORD": "urlpw-Hs29r",
    "LOGIN_PASSWORD": "loginpw-Jd64e",
    "HMAC_SECRET": "hmacsec-Rb18c",
}
RUNTIME_TOKEN = "runtime-token-Xc90p"  # handed out by the token endpoint: a secret too


PLAIN_HEADERS = {
    "host",
    "accept-encoding",
    "connection",
    "user-agent",
    "accept",
    "content-length",
    "content-type",
}


class Echo:
    """Every answer quotes the request back, credentials first (query, non-standard headers, body);
    the first API request is a 503 (so the retry warning is searched too), later ones a 403. The token
    endpoint succeeds only for the good client."""

    def __init__(self) -> None:
        self.api_requests = 0

    def __call__(self, seen: Any) -> tuple[Any, ...]:
        headers = {k: v for k, v in seen.headers.items() if k not in PLAIN_HEADERS}
        quoted = f"you sent {seen.query} {headers} {seen.body.decode()}"
        if seen.path == "/oauth/token" and "good-client" in seen.body.decode():
            return 200, {"access_token": RUNTIME_TOKEN, "token_type": "Bearer", "expires_in": 3600}
        if seen.path in ("/oauth/token", "/login"):
            return 401, {"echo": quoted, "error": "refused"}
        self.api_requests += 1
        if self.api_requests == 1:
            return 503, {"echo": quoted, "error": "busy"}
        return 403, {"echo": quoted, "error": "refused"}


AUTH_BLOCKS = {
    "query-credentials": """
    auth:
      type: static
      params: {app_secret: "${APP_SECRET}", client_secret: "${CLIENT_SECRET}", app_key: "${APP_KEY}",
               signature: "${SIGNATURE}"}""",
    "userinfo": "",  # the password is in base_url
    "oauth2-refused": """
    auth: {type: oauth2, token_url: /oauth/token, client_id: bad-client,
           client_secret: "${CLIENT_SECRET}"}""",
    "oauth2-token-echoed": """
    auth: {type: oauth2, token_url: /oauth/token, client_id: good-client,
           client_secret: "${CLIENT_SECRET}"}""",
    "login": """
    auth:
      type: login
      path: /login
      body: {user: ops}
      secret_body: {password: "${LOGIN_PASSWORD}"}
      token: {body: token}""",
    "hmac": """
    auth:
      type: hmac
      key_id: app-1
      secret: "${HMAC_SECRET}"
      message: "{method}{path}{timestamp}"
      headers: {X-Sign: "{signature}", X-Ts: "{timestamp}"}""",
}


def config(tmp_path: Path, url: str, style: str) -> Path:
    base_url = url.replace("http://", "http://svc:${URL_PASSWORD}@") if style == "userinfo" else url
    text = f"""
store: {{url: "sqlite:///{tmp_path / "ob.db"}"}}
log: {{file: ob.log, level: debug}}
systems:
  src:
    type: rest
    base_url: "{base_url}"
    {AUTH_BLOCKS[style].strip()}
    list: {{path: /orders}}
    order_id: {{field: ref}}
    retry: {{attempts: 2, initial_wait: 0s, max_wait: 1s}}
"""
    path = tmp_path / "orderbridge.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(secret.encode()).decode()}


def leaks(text: str) -> list[str]:
    """Every secret (in any of its encoded forms) found in `text`."""
    basic = base64.b64encode(f"svc:{SECRETS['URL_PASSWORD']}".encode()).decode()
    wanted = {form for secret in [*SECRETS.values(), RUNTIME_TOKEN] for form in forms(secret)} | {basic}
    return sorted(form for form in wanted if form in text)


@pytest.mark.parametrize("style", sorted(AUTH_BLOCKS))
def test_no_output_of_a_failing_sync_shows_a_secret(
    style: str, tmp_path: Path, live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sync` fails against a source that echoes every request: its output, its log file, the daemon's
    poll error and /readyz hold no secret, while the failure itself is still explained."""
    server = live_server(Echo())
    path = config(tmp_path, server.url, style)
    env = {**os.environ, **SECRETS, "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "orderbridge", "sync", "src", "-c", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    log = (tmp_path / "ob.log").read_text(encoding="utf-8")
    assert "127.0.0.1" in result.stderr  # the error names the host ...
    assert "***" in result.stderr  # ... and quotes the source, its echo of the credentials masked
    assert leaks(result.stdout + result.stderr) == []
    assert leaks(log) == [], log

    daemon = Daemon(load_config(path, environ=env))
    try:
        daemon.poll("src")
        ready = json.dumps(daemon.ready(), ensure_ascii=False)
    finally:
        daemon.store.close()
    assert daemon.health["src"].last_error and "refused" in daemon.health["src"].last_error
    assert leaks(ready) == [] and leaks(daemon.health["src"].last_error) == []
    captured = capsys.readouterr()
    assert leaks(captured.out + captured.err) == []
    assert server.seen, "the source was never asked"
