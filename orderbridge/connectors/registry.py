"""The one explicit registry of connector types: `type:` in a system block picks the entry.

Settings models are imported eagerly (config validation needs them); connector classes lazily, so
checking a config does not import every client library."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orderbridge.connectors.aftership.settings import AfterShipSettings
from orderbridge.connectors.base import Connector, ConnectorContext, SystemSettings
from orderbridge.connectors.cainiao.settings import CainiaoSettings
from orderbridge.connectors.easypost.settings import EasyPostSettings
from orderbridge.connectors.karrio.settings import KarrioSettings
from orderbridge.connectors.kuaidi100.settings import Kuaidi100Settings
from orderbridge.connectors.presets.chanjet.settings import ChanjetSettings
from orderbridge.connectors.presets.erpnext.settings import ErpNextSettings
from orderbridge.connectors.presets.fxiaoke.settings import FxiaokeSettings
from orderbridge.connectors.presets.jiandaoyun.settings import JiandaoyunSettings
from orderbridge.connectors.presets.kingdee.settings import KingdeeSettings
from orderbridge.connectors.presets.medusa.settings import MedusaSettings
from orderbridge.connectors.presets.netsuite.settings import NetSuiteSettings
from orderbridge.connectors.presets.odoo.settings import OdooSettings
from orderbridge.connectors.presets.salesforce.settings import SalesforceSettings
from orderbridge.connectors.presets.sap_b1.settings import SapB1Settings
from orderbridge.connectors.presets.yonsuite.settings import YonSuiteSettings
from orderbridge.connectors.presets.yonyou_u8.settings import YonyouU8Settings
from orderbridge.connectors.presets.zoho.settings import ZohoSettings
from orderbridge.connectors.rest.settings import RestSettings
from orderbridge.connectors.sfexpress.settings import SfExpressSettings
from orderbridge.connectors.shippo.settings import ShippoSettings
from orderbridge.connectors.shopify.settings import ShopifySettings
from orderbridge.connectors.spreadsheet.settings import SpreadsheetSettings
from orderbridge.connectors.track17.settings import Track17Settings
from orderbridge.connectors.webhook.settings import WebhookPushSettings

if TYPE_CHECKING:
    from orderbridge.connectors.push.base import Receiver


@dataclass(frozen=True)
class ConnectorType:
    name: str
    settings: type[SystemSettings]
    implementation: str | None  # "module:Class" that polls; None: the type only receives pushes
    summary: str
    receiver: str | None = None  # "module:Class" that receives pushes (POST /webhooks/<system>)

    def connector_class(self) -> type[Connector]:
        if self.implementation is None:
            raise UnknownConnectorType(f"{self.name} systems receive pushes; they are not polled")
        cls: type[Connector] = _load(self.implementation)
        return cls

    def receiver_class(self) -> type[Receiver]:
        if self.receiver is None:
            raise UnknownConnectorType(f"{self.name} systems do not receive pushes")
        cls: type[Receiver] = _load(self.receiver)
        return cls


def _load(implementation: str) -> Any:
    module_name, _, class_name = implementation.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


REST = "orderbridge.connectors.rest.connector:RestConnector"  # also reads every declarative preset

REGISTRY: dict[str, ConnectorType] = {
    entry.name: entry
    for entry in (
        ConnectorType(
            "rest",
            RestSettings,
            REST,
            "Declarative HTTP/JSON API described in YAML",
        ),
        ConnectorType(
            "spreadsheet",
            SpreadsheetSettings,
            "orderbridge.connectors.spreadsheet.connector:SpreadsheetConnector",
            "CSV and XLSX files, one file or a glob",
        ),
        ConnectorType(
            "zoho",
            ZohoSettings,
            REST,
            "Zoho CRM sales orders (OAuth refresh token, If-Modified-Since)",
        ),
        ConnectorType(
            "odoo",
            OdooSettings,
            REST,
            "Odoo sale orders, deliveries and invoices (JSON-2, or JSON-RPC execute_kw)",
        ),
        ConnectorType(
            "erpnext",
            ErpNextSettings,
            REST,
            "ERPNext sales orders, delivery notes and sales invoices (/api/resource, API key pair)",
        ),
        ConnectorType(
            "medusa",
            MedusaSettings,
            REST,
            "Medusa v2 orders (admin API, secret key or admin login)",
        ),
        ConnectorType(
            "netsuite",
            NetSuiteSettings,
            REST,
            "Oracle NetSuite sales orders, item fulfilments and invoices (token-based auth, SuiteQL)",
        ),
        ConnectorType(
            "sap_b1",
            SapB1Settings,
            REST,
            "SAP Business One sales orders, deliveries and invoices (Service Layer session, OData)",
        ),
        ConnectorType(
            "yonsuite",
            YonSuiteSettings,
            REST,
            "Yonyou YonSuite / YonBIP sales orders (signed access token, pubts)",
        ),
        ConnectorType(
            "yonyou_u8",
            YonyouU8Settings,
            REST,
            "Yonyou U8 / U8+ sales orders through the OpenAPI platform (token, page by page)",
        ),
        ConnectorType(
            "salesforce",
            SalesforceSettings,
            REST,
            "Salesforce orders by SOQL on SystemModstamp (OAuth refresh token, nextRecordsUrl)",
        ),
        ConnectorType(
            "kingdee",
            KingdeeSettings,
            REST,
            "Kingdee K3 Cloud 金蝶云星空 sales orders, outbound documents and receivables (WebAPI)",
        ),
        ConnectorType(
            "chanjet",
            ChanjetSettings,
            REST,
            "Chanjet 畅捷通 T+ sales order vouchers (statuses and change filter configured per tenant)",
        ),
        ConnectorType(
            "fxiaoke",
            FxiaokeSettings,
            REST,
            "Fxiaoke 纷享销客 CRM SalesOrderObj (corpAccessToken, last_modified_time, offset pages)",
        ),
        ConnectorType(
            "aftership",
            AfterShipSettings,
            "orderbridge.connectors.aftership.poller:AfterShipPoller",
            "AfterShip Tracking webhooks; its tracking API polls silent shipments",
            receiver="orderbridge.connectors.aftership.receiver:AfterShipReceiver",
        ),
        ConnectorType(
            "easypost",
            EasyPostSettings,
            "orderbridge.connectors.easypost.poller:EasyPostPoller",
            "EasyPost tracker Event webhooks; GET /trackers polls silent shipments",
            receiver="orderbridge.connectors.easypost.receiver:EasyPostReceiver",
        ),
        ConnectorType(
            "17track",
            Track17Settings,
            "orderbridge.connectors.track17.poller:Track17Poller",
            "17TRACK pushes; gettrackinfo polls silent shipments",
            receiver="orderbridge.connectors.track17.receiver:Track17Receiver",
        ),
        ConnectorType(
            "kuaidi100",
            Kuaidi100Settings,
            "orderbridge.connectors.kuaidi100.poller:Kuaidi100Poller",
            "Kuaidi100 快递100 subscription pushes; the real-time query polls silent shipments",
            receiver="orderbridge.connectors.kuaidi100.receiver:Kuaidi100Receiver",
        ),
        ConnectorType(
            "sf_express",
            SfExpressSettings,
            None,
            "SF Express 顺丰 route pushes (unsigned: path token / IP allowlist)",
            receiver="orderbridge.connectors.sfexpress.receiver:SfExpressReceiver",
        ),
        ConnectorType(
            "cainiao",
            CainiaoSettings,
            None,
            "Cainiao 菜鸟 logistics messages (data_digest)",
            receiver="orderbridge.connectors.cainiao.receiver:CainiaoReceiver",
        ),
        ConnectorType(
            "shippo",
            ShippoSettings,
            None,
            "Shippo track_updated webhooks",
            receiver="orderbridge.connectors.shippo.receiver:ShippoReceiver",
        ),
        ConnectorType(
            "karrio",
            KarrioSettings,
            None,
            "Karrio tracker webhooks",
            receiver="orderbridge.connectors.karrio.receiver:KarrioReceiver",
        ),
        ConnectorType(
            "shopify",
            ShopifySettings,
            "orderbridge.connectors.shopify.poller:ShopifyPoller",
            "Shopify orders and fulfilments: webhooks, and polling of the Admin REST API (Link header)",
            receiver="orderbridge.connectors.shopify.receiver:ShopifyReceiver",
        ),
        ConnectorType(
            "jiandaoyun",
            JiandaoyunSettings,
            REST,
            "Jiandaoyun 简道云 form rows: data/list polled by data_id in updateTime windows, data pushes",
            receiver="orderbridge.connectors.presets.jiandaoyun.receiver:JiandaoyunReceiver",
        ),
        ConnectorType(
            "webhook",
            WebhookPushSettings,
            None,
            "Any signed JSON push, described in YAML",
            receiver="orderbridge.connectors.webhook.receiver:WebhookPushReceiver",
        ),
    )
}


class UnknownConnectorType(KeyError):
    pass


def lookup(type_name: str) -> ConnectorType:
    try:
        return REGISTRY[type_name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise UnknownConnectorType(f"unknown connector type {type_name!r}; known types: {known}") from None


def create(name: str, settings: SystemSettings, context: ConnectorContext | None = None) -> Connector:
    return lookup(settings.type).connector_class()(name, settings, context)


def polls(settings: SystemSettings) -> bool:
    """Whether the daemon polls a system: its type has a poller and its settings turn it on."""
    return lookup(settings.type).implementation is not None and settings.polling


def receiver(name: str, settings: SystemSettings) -> Receiver | None:
    """The receiving side of a system that accepts pushes; None for one that does not."""
    entry = lookup(settings.type)
    if entry.receiver is None or not settings.pushing:
        return None
    from orderbridge.connectors.push.settings import PushSettings

    assert isinstance(settings, PushSettings)
    return entry.receiver_class()(name, settings)
