"""E-mail out: the `smtp:` settings and delivery of a stored RFC 5322 message over STARTTLS or
implicit TLS, with authentication. Every message carries a Message-ID derived from its outbox item,
so a message sent again after a lost reply is the same message to every mail system on the way."""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from datetime import timedelta
from email.headerregistry import Address
from email.utils import getaddresses, parseaddr
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from orderbridge.config.types import Duration
from orderbridge.notify.channels.base import DeliveryError, DeliveryRetry

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class SmtpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    host: str = Field(description="The SMTP server, e.g. smtp.example.com.")
    port: int | None = Field(
        default=None, ge=1, le=65535, description="Default: 587 for starttls, 465 for tls, 25 for none."
    )
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (submission, port 587), tls (implicit TLS, port 465) or none (a local relay).",
    )
    username: str | None = Field(default=None, description="Login name for SMTP AUTH.")
    password: SecretStr | None = Field(default=None, description="Password for SMTP AUTH (use ${ENV}).")
    sender: str = Field(alias="from", description='The From address, e.g. "orderbridge <bot@example.com>".')
    timeout: Duration = Field(default=timedelta(seconds=30), description="Network timeout per attempt.")
    ca_file: str | None = Field(
        default=None, description="PEM file of the CA that signed the server's certificate (private CAs)."
    )
    verify: bool = Field(default=True, description="Verify the server's TLS certificate and host name.")
    retry: DeliveryRetry = Field(default_factory=DeliveryRetry, description="Backoff between attempts.")

    @field_validator("sender")
    @classmethod
    def _address(cls, value: str) -> str:
        _name, address = parseaddr(value)
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ValueError('expected an e-mail address, e.g. "orderbridge <bot@example.com>"')
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: give both or neither")
        if self.username is not None and self.security == "none":
            raise ValueError(
                "SMTP AUTH over an unencrypted connection would send the password in clear; "
                "use security: starttls or tls"
            )
        return self

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def domain(self) -> str:
        return self.sender_address.rpartition("@")[2] or "orderbridge.invalid"


def message_id(key: str, domain: str) -> str:
    """A Message-ID that is the same every time the same outbox item is composed."""
    return f"<orderbridge.{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def addresses(values: list[str]) -> list[str]:
    return [address for _name, address in getaddresses(values) if address]


def header_address(value: str) -> Address | str:
    name, address = parseaddr(value)
    if not address:
        return value
    user, _, domain = address.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)


class Mailer:
    """Delivers stored messages through the configured server."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, recipients: list[str], message: bytes) -> None:
        settings = self.settings
        try:
            with self._connect() as smtp:
                if settings.username is not None and settings.password is not None:
                    smtp.login(settings.username, settings.password.get_secret_value())
                refused = smtp.sendmail(settings.sender_address, recipients, message)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused: {exc.smtp_code} {_text(exc.smtp_error)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            raise DeliveryError(
                f"SMTP refused every recipient: {_refusals(exc.recipients)}",
                final=all(code >= 500 for code in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP error {exc.smtp_code}: {_text(exc.smtp_error)}", final=exc.smtp_code >= 500
            ) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            where = f"{settings.host}:{settings.effective_port}"
            raise DeliveryError(f"cannot deliver through {where}: {type(exc).__name__}: {exc}") from None
        if refused:
            # Some recipients took it: the message is sent; the others are reported, not retried
            # (retrying would send it again to those who have it).
            raise DeliveryError(f"delivered, but refused for {_refusals(refused)}", final=True)

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        timeout = settings.timeout.total_seconds()
        context = self._tls_context()
        host, port = settings.host, settings.effective_port
        if settings.security == "tls":
            return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context, local_hostname=_fqdn())
        smtp = smtplib.SMTP(host, port, timeout=timeout, local_hostname=_fqdn())
        try:
            if settings.security == "starttls":
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(f"{host}:{port} does not offer STARTTLS; set security: tls or none")
                smtp.starttls(context=context)
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.settings.ca_file)
        if not self.settings.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _fqdn() -> str:
    name = socket.getfqdn()
    return name if name.isascii() else "localhost"


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{address} ({code} {_text(text)})" for address, (code, text) in refused.items())
