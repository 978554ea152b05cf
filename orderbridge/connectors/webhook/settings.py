"""Settings of `type: webhook`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orderbridge.connectors.push.settings import PushSettings, Signing


class RecordPaths(BaseModel):
    """Where a pushed event keeps what orderbridge reads (dotted paths into the JSON body)."""

    model_config = ConfigDict(extra="forbid")

    records: str | None = Field(
        default=None, description="Path of a list of records in the body; default: the body is one record."
    )
    id: str | None = Field(
        default=None, description="The record's identity: the thing whose status changes (shipment, order)."
    )
    order: str | None = Field(default=None, description="The order number.")
    status: str | None = Field(default=None, description="The status the `status:` table maps.")
    updated: str | None = Field(default=None, description="When the status changed.")
    tracking: str | None = Field(default=None, description="A tracking number (links the record).")
    external_ref: str | None = Field(default=None, description="An external reference (customer PO, ...).")
    reason: str | None = Field(default=None, description="A reason or exception code.")
    event_id: str | None = Field(
        default=None,
        description="Path of the event's own id in the body, to drop repeats; default: the body.",
    )


class WebhookPushSettings(PushSettings):
    type: Literal["webhook"] = Field(default="webhook", description="The connector type.")
    signing: ClassVar[Signing] = "optional"
    signing_note: ClassVar[str] = " and webhook.signature (how the sender signs)"

    record: RecordPaths = Field(default_factory=RecordPaths, description="Where the event's fields are.")

    @model_validator(mode="after")
    def _paths(self) -> Self:
        webhook = self.webhook
        if webhook is not None and webhook.secret is not None and webhook.signature is None:
            raise ValueError(
                "webhook.signature is required with a secret: say where the signature is and how it is made, "
                "e.g. {header: X-Signature, algorithm: sha256, encoding: hex}"
            )
        paths = self.record
        updates = {
            name: value
            for name, value in (
                ("record_id", paths.id),
                ("updated", paths.updated),
                ("external_ref", paths.external_ref),
                ("reason", paths.reason),
            )
            if value is not None
        }
        if updates or paths.tracking:
            links = {**self.fields.links, **({"tracking_number": paths.tracking} if paths.tracking else {})}
            self.fields = self.fields.model_copy(update={**updates, "links": links})
        if paths.order is not None:
            self.order_id = self.order_id.model_copy(update={"field": paths.order})
        return self

    @model_validator(mode="before")
    @classmethod
    def _status_field(cls, data: Any) -> Any:
        """A status table without its own `field` reads `record.status`."""
        if not isinstance(data, dict):
            return data
        record, tables = data.get("record"), data.get("status")
        path = record.get("status") if isinstance(record, dict) else None
        if not isinstance(path, str) or tables is None:
            return data
        listed = tables if isinstance(tables, list) else [tables]
        filled = [{**t, "field": path} if isinstance(t, dict) and "field" not in t else t for t in listed]
        return {**data, "status": filled}
