"""No output shows a secret: every error path is provoked with distinctive secrets — in headers, query
parameters with names no list knows, a base URL's userinfo (basic auth), a store password holding
`@`, `/` and `#` — against a real local server that echoes every request back in its error answers,
and every output (standard output and error, the log file, /readyz, /metrics) is searched for them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
MARK = "S3CRET"  # in every secret below, and in nothing else
SECRETS = {
    "T_BEARER": f"bearer-{MARK}-aa11",
    "T_HEADER": f"header-{MARK}-bb22",
    "T_PARAM": f"param-{MARK}-cc33",
    "T_PARAM2": f"param2-{MARK}-dd44",
    "T_USERPASS": f"erp:pw-{MARK}-ee55",
    "T_PGPASSWORD": f"p@ss/w#rd-{MARK}-ff66",
}


class Echo(BaseHTTPRequestHandler):
    """Answers 500 quoting the whole request back, as many APIs' error pages do."""

    def do_GET(self) -> None:
        body = f"cannot serve {self.requestline}\n{self.headers}".encode()
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(directory: Path, source: str, store: str, port: int = 0) -> Path:
    path = directory / "orderbridge.yaml"
    path.write_text(
        f"""
store: {{url: "{store}"}}
server: {{listen: "127.0.0.1:{port}"}}
log: {{file: orderbridge.log, level: debug}}
systems:
  erp:
    type: rest
    base_url: "http://${{T_USERPASS}}@{source}/api"
    headers: {{X-Partner: "${{T_HEADER}}", X-Session: "Bearer ${{T_BEARER}}"}}
    poll: {{every: 1h}}
    list:
      path: /orders
      params: {{app_secret: "${{T_PARAM}}", sig: "x${{T_PARAM2}}"}}
    retry: {{attempts: 1}}
    order_id: {{field: ref}}
    status: {{dimension: fulfillment, map: {{NEW: placed}}}}
""",
        encoding="utf-8",
    )
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **SECRETS, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "orderbridge", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def assert_no_secret(*outputs: str) -> None:
    for output in outputs:
        assert MARK not in output, output
        assert "ss%2Fw%23rd" not in output and "w#rd" not in output, output


def closed_pg() -> str:
    return f"postgresql+psycopg://bot:${{T_PGPASSWORD}}@127.0.0.1:{free_port()}/orderbridge"


def test_check_config_shows_no_secret(tmp_path: Path, echo: str) -> None:
    """check-config of a valid file names the store without its password (even one holding @, / and
    #); of a file with problems, quotes none of the secret values."""
    valid = cli("check-config", "-c", str(config(tmp_path, echo, closed_pg())))
    broken_dir = tmp_path / "broken"
    broken_dir.mkdir()
    broken = config(broken_dir, "[bad", closed_pg().replace("127.0.0.1:", "127.0.0.1:9"))
    refused = cli("check-config", "-c", str(broken))
    assert valid.returncode == 0 and "127.0.0.1" in valid.stdout, valid.stderr
    assert "bot:***@127.0.0.1" in valid.stdout
    assert refused.returncode == 2 and "systems.erp" in refused.stderr
    assert_no_secret(valid.stdout, valid.stderr, refused.stdout, refused.stderr)


def test_sync_errors_show_no_secret(tmp_path: Path, echo: str) -> None:
    """`sync` against a source that echoes the request (credentials in a header, in parameters whose
    names mean nothing to a list, in the URL) prints the failure without any of them, on the terminal
    and in the log file; a store that cannot be reached is named without its password."""
    failed = cli("sync", "erp", "-c", str(config(tmp_path, echo, "sqlite:///ob.db")))
    other = tmp_path / "pg"
    other.mkdir()
    no_store = cli("sync", "erp", "-c", str(config(other, echo, closed_pg())))
    assert failed.returncode == 1 and "HTTP 500" in failed.stderr, failed.stderr
    assert "cannot serve" in failed.stderr  # the echo is shown, with the secrets masked
    assert no_store.returncode == 3 and "cannot open the store" in no_store.stderr, no_store.stderr
    logged = [p.read_text(encoding="utf-8") for p in tmp_path.rglob("orderbridge.log")]
    assert_no_secret(failed.stdout, failed.stderr, no_store.stdout, no_store.stderr, *logged)


def test_the_daemon_shows_no_secret(tmp_path: Path, echo: str) -> None:
    """`run` with a failing source: its log file, /readyz (with the failure), /metrics and what it
    prints show no secret; `run` with a store it cannot reach says so without the password."""
    port = free_port()
    path = config(tmp_path, echo, "sqlite:///ob.db", port)
    env = {**os.environ, **SECRETS}
    with (tmp_path / "daemon.out").open("wb") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "orderbridge", "run", "-c", str(path)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline, ready = time.monotonic() + 60, {}
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
                if ready["systems"]["erp"]["last_error"]:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    assert "HTTP 500" in ready["systems"]["erp"]["last_error"], ready
    other = tmp_path / "pg"
    other.mkdir()
    no_store = cli("run", "-c", str(config(other, echo, closed_pg(), free_port())))
    assert no_store.returncode == 3 and "cannot open the store" in no_store.stderr
    log = (tmp_path / "orderbridge.log").read_text(encoding="utf-8")
    assert "poll failed" in log
    assert_no_secret(
        str(ready), metrics, log, (tmp_path / "daemon.out").read_text(), no_store.stdout, no_store.stderr
    )
