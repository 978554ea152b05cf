"""Fixtures of the notification tests: a real SMTP server (aiosmtpd) with STARTTLS or implicit TLS
and AUTH, on a throwaway certificate made for the test, and a store holding real discrepancies made
by the reconcile pass."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from orderbridge.mapping.model import Amounts, CanonicalStatus, Dimension, Observation, Quantities
from orderbridge.reconciler.engine import Observer, Reconciler
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.storage import observations
from orderbridge.storage.db import Store

SMTP_USER, SMTP_PASSWORD = "bot", "s3cret-smtp-pw"
INJECTION = '=HYPERLINK("http://x","y")'
H = timedelta(hours=1)


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    attempts: list[bytes] = field(default_factory=list)  # every DATA seen, accepted or not
    hold: threading.Event | None = None  # while set, DATA waits for `release` ...
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.attempts.append(raw)
        if self.hold is not None and self.hold.is_set():
            self.holding.set()
            import asyncio

            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 try again later"  # ... then refuses: the client is gone anyway
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), raw))
        return "250 OK"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == SMTP_USER.encode()
        and data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok)


@dataclass
class SmtpServer:
    port: int
    ca_file: Path
    mode: str
    handler: Handler
    _contexts: tuple[ssl.SSLContext, ...]
    controller: Controller | None = None

    def start(self) -> None:
        server_ctx = self._contexts[0]
        if self.mode == "tls":
            self.controller = Controller(
                self.handler,
                hostname="127.0.0.1",
                port=self.port,
                ssl_context=server_ctx,
                authenticator=_authenticate,
                auth_require_tls=False,
                server_hostname="localhost",
            )
        else:
            self.controller = Controller(
                self.handler,
                hostname="127.0.0.1",
                port=self.port,
                tls_context=server_ctx,
                require_starttls=True,
                authenticator=_authenticate,
                auth_require_tls=True,
                server_hostname="localhost",
            )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def smtp_yaml(self, **extra: str) -> str:
        settings = {
            "host": "127.0.0.1",
            "port": str(self.port),
            "security": "tls" if self.mode == "tls" else "starttls",
            "username": SMTP_USER,
            "password": "${TEST_SMTP_PASSWORD}",
            "from": '"orderbridge <bot@example.com>"',
            "ca_file": str(self.ca_file),
            "verify": "false" if self.mode == "tls" else "true",
            **extra,
        }
        return "smtp:\n" + "".join(f"  {k}: {v}\n" for k, v in settings.items())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SmtpServer]]:
    """Makes SMTP servers (not started): `mode` starttls (require STARTTLS, then AUTH) or tls."""
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    made: list[SmtpServer] = []
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    def make(mode: str = "starttls") -> SmtpServer:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        server = SmtpServer(free_port(), ca_file, mode, Handler(), (context,))
        made.append(server)
        return server

    yield make
    for server in made:
        server.handler.release.set()
        server.stop()


@pytest.fixture
def smtp_server(smtp_factory: Callable[..., SmtpServer]) -> SmtpServer:
    server = smtp_factory("starttls")
    server.start()
    return server


def observe(
    store: Store,
    system: str,
    key: str,
    at: datetime,
    *,
    fulfillment: tuple[str, str] | None = None,
    billing: tuple[str, str] | None = None,
    quantities: Quantities | None = None,
    amounts: Amounts | None = None,
) -> None:
    statuses = {}
    native = {}
    if fulfillment is not None:
        statuses[Dimension.fulfillment] = CanonicalStatus(status=fulfillment[0], native=fulfillment[1])
        native["status"] = fulfillment[1]
    if billing is not None:
        statuses[Dimension.billing] = CanonicalStatus(status=billing[0], native=billing[1])
        native["billing"] = billing[1]
    obs = Observation(
        system=system,
        record_id=f"{system}-{key}",
        order_key=key,
        status_at=at,
        observed_at=at,
        statuses=statuses,
        native_status=native,
        quantities=quantities or Quantities(),
        amounts=amounts or Amounts(),
    )
    with store.begin() as conn:
        observations.ingest(conn, [(obs, {"record": key})], at, link_by=[])


RECONCILE = {
    "authority": {"fulfillment": "wms", "billing": "finance"},
    "grace": {"default": "30m"},
    "escalation": ["1d", "3d"],
    "sla": {"preparing": ["1d", "3d"]},
}


def make_reconciler(store: Store, observer: Observer | None = None) -> Reconciler:
    return Reconciler(
        store, ReconcileSettings.model_validate(RECONCILE), ("erp", "wms", "finance"), observer=observer
    )


def populate(store: Store, now: datetime) -> None:
    """Orders whose systems disagree: a cancelled order shipped (critical), an invoice 180 CNY over
    the order, a short shipment, and an order whose key is a spreadsheet formula."""
    observe(store, "erp", "SO-000044", now - 20 * H, fulfillment=("cancelled", "已作废"))
    observe(store, "wms", "SO-000044", now - 10 * H, fulfillment=("shipped", "SHIPPED"))
    observe(
        store,
        "erp",
        "SO-000047",
        now - 30 * H,
        fulfillment=("delivered", "已签收"),
        amounts=Amounts(order=Decimal("1200.00"), currency="CNY"),
    )
    observe(
        store,
        "finance",
        "SO-000047",
        now - 28 * H,
        billing=("invoiced", "invoiced"),
        amounts=Amounts(invoiced=Decimal("1380.00"), currency="CNY"),
    )
    observe(
        store,
        "wms",
        "SO-000045",
        now - 26 * H,
        fulfillment=("shipped", "SHIPPED"),
        quantities=Quantities(ordered=Decimal(10), shipped=Decimal(8)),
    )
    observe(store, "erp", INJECTION, now - 5 * H, fulfillment=("cancelled", INJECTION))
    observe(store, "wms", INJECTION, now - 4 * H, fulfillment=("shipped", "SHIPPED"))


@dataclass
class World:
    """Building blocks of a store with discrepancies, for tests (fixtures are how tests get them)."""

    injection: str = INJECTION
    reconcile: dict[str, Any] = field(default_factory=lambda: dict(RECONCILE))

    observe = staticmethod(observe)
    populate = staticmethod(populate)
    reconciler = staticmethod(make_reconciler)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """Commands run in-process (CliRunner) point logging at a stream that closes with the run; put
    logging back afterwards so later tests do not write to a closed stream."""
    import logging

    import structlog

    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_orderbridge", False)]:
        root.removeHandler(handler)
