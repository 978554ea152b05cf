"""Alerts by e-mail: a digest as one message (plain text and HTML) to the channel's recipients,
through the `smtp:` server."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from html import escape
from typing import Literal

from pydantic import Field

from orderbridge.notify.channels.base import Channel, ChannelSettings, Composed, DeliveryError, Digest
from orderbridge.notify.mail import Mailer, SmtpSettings, addresses, header_address, message_id
from orderbridge.storage.outbox import Item


class EmailSettings(ChannelSettings):
    type: Literal["email"] = Field(default="email", description="E-mail through the `smtp` server.")
    to: list[str] = Field(min_length=1, description="Recipients, e.g. [director@example.com].")


class EmailChannel(Channel):
    settings_model = EmailSettings
    settings: EmailSettings

    def __init__(self, name: str, settings: ChannelSettings, smtp: SmtpSettings | None = None) -> None:
        super().__init__(name, settings)
        self.smtp = smtp

    def compose(self, digest: Digest) -> Composed:
        smtp = self._smtp()
        title = digest.title()
        lines = digest.lines(self.settings.max_items)
        message = EmailMessage()
        message["Subject"] = title
        message["From"] = header_address(smtp.sender)
        message["To"] = ", ".join(self.settings.to)
        message["Date"] = format_datetime(digest.now)
        ident = message_id(digest.key, smtp.domain)
        message["Message-ID"] = ident
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(
            "\n".join([title, "", *(f"- {line}" for line in lines)]) + "\n", cte="quoted-printable"
        )
        items = "".join(f'<li style="margin:4px 0">{escape(line)}</li>' for line in lines)
        message.add_alternative(
            f"<html><body style=\"font-family:Arial,'Microsoft YaHei',sans-serif;font-size:14px\">"
            f'<h3 style="margin:0 0 8px">{escape(title)}</h3><ul>{items}</ul></body></html>',
            subtype="html",
            cte="quoted-printable",
        )
        return Composed(
            subject=title,
            body=message.as_string(policy=SMTP),
            recipient=", ".join(self.settings.to),
            message_id=ident,
        )

    def deliver(self, item: Item, now: datetime) -> None:
        Mailer(self._smtp()).send(addresses(self.settings.to), item.body.encode("utf-8"))

    def _smtp(self) -> SmtpSettings:
        if self.smtp is None:
            raise DeliveryError("an email channel needs the smtp: section", final=False)
        return self.smtp
