"""The preset mechanism: templates filled with the user's values, credentials kept secret, the company's
status words on top of the preset's table, documented gaps warned about, every preset in the schema and
shipped with the package."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest
import yaml
from pydantic import Field, SecretStr, ValidationError

import orderbridge
from orderbridge.config.loader import config_json_schema, parse_config
from orderbridge.config.secrets import secret_values
from orderbridge.connectors import registry
from orderbridge.connectors.auth_settings import ApiKeySettings, AuthSettings
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.presets.base import DeclarativePreset, PresetSettings
from orderbridge.connectors.presets.template import Gap, TemplateError, fill, placeholders
from orderbridge.connectors.presets.zoho.settings import ZohoSettings
from orderbridge.mapping.model import UNMAPPED, Dimension
from orderbridge.mapping.status import StatusTable, map_statuses

ROOT = Path(orderbridge.__file__).parent
ZOHO: dict[str, Any] = {
    "type": "zoho",
    "base_url": "https://www.zohoapis.eu",
    "accounts_url": "https://accounts.zoho.eu/oauth/v2/token",
    "client_id": "1000.QX7LKD2",
    "client_secret": "4f0c2a9e77b1d3c5",
    "refresh_token": "1000.9a8b7c6d.5e4f3a2b",
}
PRESETS = sorted(n for n, e in registry.REGISTRY.items() if issubclass(e.settings, PresetSettings))
DECLARATIVE = sorted(n for n in PRESETS if issubclass(registry.lookup(n).settings, DeclarativePreset))


def test_fill_keeps_a_whole_placeholder_typed_and_writes_a_partial_one_as_text() -> None:
    """`{{size}}` alone becomes the number, `{{objects}}` alone the list; inside a path they are text."""
    values = {"size": 200, "objects": ["Order", "OrderItem"], "version": "v8"}
    filled = fill({"path": "/crm/{{version}}/x", "size": "{{size}}", "all": "{{objects}}"}, values)
    assert filled == {"path": "/crm/v8/x", "size": 200, "all": ["Order", "OrderItem"]}
    assert fill(["q={{objects}}"], values) == ["q=Order,OrderItem"]


def test_fill_refuses_an_unknown_name_and_a_credential_inside_text() -> None:
    """A template asking for a setting that does not exist, or writing a credential into a longer text
    (where it would not be masked as a secret), is refused."""
    with pytest.raises(KeyError, match="tenant"):
        fill({"path": "/{{tenant}}/orders"}, {})
    with pytest.raises(TemplateError, match="credential"):
        fill({"header": "Token {{api_key}}"}, {"api_key": SecretStr("k-1")})
    assert isinstance(fill("{{api_key}}", {"api_key": SecretStr("k-1")}), SecretStr)


@pytest.mark.parametrize("type_name", DECLARATIVE)
def test_every_template_asks_only_for_settings_of_its_preset(type_name: str) -> None:
    """Each shipped preset.yaml names only settings its block has (a typo there would fail at start)."""
    model = registry.lookup(type_name).settings
    assert issubclass(model, DeclarativePreset)
    template = model.template()
    asked = placeholders(template.rest) | placeholders(template.status)
    assert asked and asked <= set(model.model_fields) | {"base_url", *model.derived}


@pytest.mark.parametrize("type_name", DECLARATIVE)
def test_every_template_is_shipped_as_package_data(type_name: str) -> None:
    """A preset.yaml not matched by pyproject's package-data would be missing from a clean install."""
    model = registry.lookup(type_name).settings
    package = Path(*model.__module__.split(".")[1:-1])
    path = (package / model.template_file).as_posix()
    assert (ROOT / path).is_file()
    pyproject = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["orderbridge"]
    assert any(fnmatch(path, pattern) for pattern in globs)


def test_a_preset_expands_into_the_rest_connectors_settings_with_the_users_values() -> None:
    """The Zoho block becomes the REST listing of its module at its API version and data centre, its
    credentials secret-typed in the OAuth settings."""
    settings = ZohoSettings.model_validate({**ZOHO, "api_version": "v7", "page_size": 50})
    rest = settings.rest()
    assert str(rest.base_url) == "https://www.zohoapis.eu/"
    assert rest.list.path == "/crm/v7/Sales_Orders"
    assert rest.list.paging.size == 50  # type: ignore[attr-defined]
    assert rest.auth.type == "oauth2"
    assert rest.auth.token_url == ZOHO["accounts_url"]
    assert isinstance(rest.auth.client_secret, SecretStr)
    assert rest.auth.client_secret.get_secret_value() == ZOHO["client_secret"]
    assert settings.effective() is rest


def test_credentials_are_secrets_of_the_loaded_config() -> None:
    """Every credential of a preset is among the values masked in every output."""
    loaded = parse_config(yaml.safe_dump({"systems": {"crm": ZOHO}}))
    masked = secret_values(loaded)
    assert {ZOHO["client_secret"], ZOHO["refresh_token"]} <= set(masked)


def test_field_names_override_one_by_one_and_order_id_whole() -> None:
    """A company that keeps the order amount in its own field changes that one path; the other paths of
    the preset stay. Its own order-id rule replaces the preset's."""
    settings = ZohoSettings.model_validate(
        {**ZOHO, "fields": {"order_amount": "Net_Total__c"}, "order_id": {"field": "Subject"}}
    )
    assert settings.fields.order_amount == "Net_Total__c"
    assert settings.fields.updated == "Modified_Time" and settings.fields.record_id == "id"
    assert settings.order_id.field == "Subject" == settings.rest().order_id.field
    assert ZohoSettings.model_validate(ZOHO).order_id.field == "SO_Number"


def test_own_status_words_are_tried_before_the_preset_table() -> None:
    """The company's picklist value is mapped, its own reading of a stock word wins, the preset's other
    words still map, and a word neither knows is unmapped."""
    own = {
        "dimension": "fulfillment",
        "field": "Status",
        "map": {"In Picking": "preparing", "Approved": "placed"},
    }
    tables = ZohoSettings.model_validate({**ZOHO, "status": own}).status

    def status(word: str) -> str:
        return map_statuses(tables, {"Status": word})[Dimension.fulfillment].status

    assert status("In Picking") == "preparing"
    assert status("Approved") == "placed"
    assert status("Delivered") == "delivered"
    assert status("Awaiting Courier") == UNMAPPED


def test_a_preset_table_keeps_its_ignored_words_under_the_companys_table() -> None:
    """Words the preset ignores on a dimension stay ignored when the company adds its own words."""
    from orderbridge.connectors.push.codes import with_preset

    preset = StatusTable(dimension=Dimension.billing, field="state", map={"paid": "paid"}, ignore=["shipped"])
    own = StatusTable(dimension=Dimension.billing, field="state", map={"settled": "paid"})
    [merged] = with_preset([own], [preset])
    assert merged.lookup({"state": "shipped"}) is None
    assert merged.lookup({"state": "settled"}).status == "paid"  # type: ignore[union-attr]
    assert merged.lookup({"state": "paid"}).status == "paid"  # type: ignore[union-attr]


def test_credentials_go_by_their_vendor_names_not_an_auth_block() -> None:
    """An `auth:` block, or a user:password in base_url, is refused with the names the preset takes."""
    for block in (
        {**ZOHO, "auth": {"type": "bearer", "token": "x"}},
        {**ZOHO, "base_url": "https://u:pw@x.eu"},
    ):
        with pytest.raises(ValidationError) as refused:
            ZohoSettings.model_validate(block)
        assert "client_secret, refresh_token" in str(refresh := refused.value)
        assert "pw" not in str(refresh).replace("password", "")


def test_a_bad_override_is_refused_at_its_place() -> None:
    """A value out of range is a config problem at the setting, found when the file is loaded."""
    with pytest.raises(ValidationError) as refused:
        ZohoSettings.model_validate({**ZOHO, "page_size": 500})
    assert [e["loc"] for e in refused.value.errors()] == [("page_size",)]


def test_documented_gaps_are_warned_until_the_part_is_set() -> None:
    """A preset part the vendor's documentation leaves uncertain is a warning, until the company sets
    that part itself."""
    [warning] = ZohoSettings.model_validate(ZOHO).warnings()
    assert warning.startswith("status: ") and "unconfirmed" in warning
    own = {"dimension": "fulfillment", "field": "Status", "map": {"Shipped": "shipped"}}
    assert ZohoSettings.model_validate({**ZOHO, "status": own}).warnings() == []


def test_check_config_prints_the_gap_warning(tmp_path: Path) -> None:
    """`orderbridge check-config` accepts the file and prints the gap under the system's name."""
    config = tmp_path / "orderbridge.yaml"
    block = {**ZOHO, "client_secret": "${ZOHO_CLIENT_SECRET}"}
    config.write_text(yaml.safe_dump({"systems": {"crm": block}}), encoding="utf-8")
    env = {**os.environ, "COLUMNS": "200", "ZOHO_CLIENT_SECRET": ZOHO["client_secret"]}
    checked = subprocess.run(
        [sys.executable, "-m", "orderbridge", "check-config", "-c", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert checked.returncode == 0, checked.stderr
    assert "warning: systems.crm.status: Zoho's stock Sales_Orders Status values" in checked.stderr
    assert ZOHO["client_secret"] not in checked.stdout + checked.stderr


@pytest.mark.parametrize("type_name", PRESETS)
def test_schema_describes_every_preset_option(type_name: str) -> None:
    """`orderbridge schema` has each preset's options, each with a description, and no `auth` (the
    preset sets it from the credentials)."""
    model = registry.lookup(type_name).settings
    definition = config_json_schema()["$defs"][model.__name__]
    properties = definition["properties"]
    assert "auth" not in properties
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        assert name in properties, name
        assert properties[name].get("description"), f"{type_name}.{name} has no description"


class KeyedSettings(PresetSettings):
    """A code preset as a test declares one: a key under the vendor's name, a table, a gap."""

    type: Literal["keyed"] = Field(default="keyed", description="A test API.")
    app_secret: SecretStr = Field(description="The vendor's key.")
    gaps: ClassVar[tuple[Gap, ...]] = (Gap("status", "state values beyond 1 are unconfirmed"),)

    def credentials(self) -> AuthSettings:
        return ApiKeySettings(type="api_key", value=self.app_secret, header="X-App-Secret")

    def preset_status(self) -> list[StatusTable]:
        return [StatusTable(dimension=Dimension.fulfillment, field="state", map={"1": "shipped"})]


def test_a_code_preset_authenticates_through_the_http_layer_with_its_credentials(live_server: Any) -> None:
    """A code preset's credentials become its auth: the HTTP layer sends the key, masks it, and the
    preset's status table and gap apply like a declarative one's."""
    server = live_server(lambda seen: (200, {"ok": seen.headers.get("x-app-secret") == "s3cr3t-app"}))
    settings = KeyedSettings.model_validate(
        {"type": "keyed", "base_url": server.url, "app_secret": "s3cr3t-app"}
    )
    api = HttpApi.from_settings("keyed", settings)
    try:
        assert api.fetch("GET", "/ping") == {"ok": True}
    finally:
        api.close()
    assert "s3cr3t-app" in secret_values(settings)
    assert map_statuses(settings.status, {"state": "1"})[Dimension.fulfillment].status == "shipped"
    assert [w.split(":")[0] for w in settings.warnings()] == ["status"]
