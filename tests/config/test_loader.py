"""Loading orderbridge.yaml: typed settings out, every problem with its line, secrets never echoed."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from orderbridge.config.errors import ConfigError, Problem
from orderbridge.config.loader import LoadedConfig, load_config
from orderbridge.config.models import config_json_schema
from orderbridge.connectors.auth_settings import BearerSettings
from orderbridge.connectors.registry import REGISTRY
from orderbridge.connectors.rest.settings import RestSettings
from orderbridge.connectors.spreadsheet.settings import SpreadsheetSettings
from orderbridge.mapping.model import Dimension
from orderbridge.notify.channels.registry import CHANNEL_TYPES


def write(tmp_path: Path, text: str, name: str = "orderbridge.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    return caught.value


def find(error: ConfigError, key_path: str) -> list[Problem]:
    return [p for p in error.problems if p.key_path == key_path]


FULL = """
store: {url: "sqlite:///data/orderbridge.db"}
server: {listen: "0.0.0.0:8080"}
log: {level: debug, format: console}
systems:
  wms:
    type: rest
    base_url: https://wms.example.com/api
    auth: {bearer: "${WMS_TOKEN}"}
    list:
      path: /orders
      params: {updated_since: "{cursor}"}
      records: data
      paging: {style: cursor, param: cursor, next: next_cursor}
    cursor: {field: updated_at, overlap: 5m}
    order_id: {field: order_ref, pattern: 'SO-(\\d+)', format: 'SO-{0:0>6}'}
    status:
      field: status
      dimension: fulfillment
      map: {NEW: placed, PICKING: preparing, PACKED: ready_to_ship, SHIPPED: shipped}
  purchasing:
    type: spreadsheet
    path: purchasing/*.xlsx
    columns: {order: 订单号, status: 状态, updated: 更新时间}
    status: {field: status, dimension: fulfillment, map: {已下单: placed, 备货中: preparing, 已发货: shipped}}
reconcile:
  every: 5m
  authority: {fulfillment: wms}
  grace: {default: 30m, purchasing: 4h, status_lag: 1h}
  sla: {preparing: [1d, 3d], shipment.in_transit: [5d]}
  expect:
    - {system: wms, after: approved, within: 2h}
"""


def test_full_config_loads_with_typed_values(tmp_path: Path) -> None:
    """A valid file comes back as typed settings: connector models per `type`, secrets as SecretStr,
    durations as timedelta, Chinese column names and status words intact."""
    path = write(tmp_path, FULL)

    loaded = load_config(path, {"WMS_TOKEN": "tok-123"})

    assert isinstance(loaded, LoadedConfig)
    assert loaded.path == path.resolve()
    assert loaded.base_dir == tmp_path.resolve()
    config = loaded.config
    wms = config.systems["wms"]
    assert isinstance(wms, RestSettings)
    assert isinstance(wms.auth, BearerSettings) and isinstance(wms.auth.token, SecretStr)
    assert wms.auth.token.get_secret_value() == "tok-123"
    assert "tok-123" not in repr(loaded)
    assert wms.cursor is not None and wms.cursor.overlap == timedelta(minutes=5)
    assert wms.order_id.pattern == r"SO-(\d+)"
    purchasing = config.systems["purchasing"]
    assert isinstance(purchasing, SpreadsheetSettings)
    assert purchasing.columns == {"order": "订单号", "status": "状态", "updated": "更新时间"}
    assert purchasing.status[0].map["已发货"] == "shipped"
    assert loaded.resolve(purchasing.path) == tmp_path.resolve() / "purchasing/*.xlsx"
    assert config.server.host == "0.0.0.0" and config.server.port == 8080
    assert config.log.level == "debug" and config.log.format == "console"
    reconcile = config.reconcile
    assert reconcile.every == timedelta(minutes=5)
    assert reconcile.authority == {Dimension.fulfillment: "wms"}
    assert reconcile.grace["purchasing"] == timedelta(hours=4)
    assert reconcile.sla["preparing"] == [timedelta(days=1), timedelta(days=3)]
    assert reconcile.expect[0].system == "wms" and reconcile.expect[0].within == timedelta(hours=2)


def test_defaults_when_sections_are_left_out_or_blank(tmp_path: Path) -> None:
    """A section left out, or written with nothing under it, takes its defaults."""
    path = write(tmp_path, "log:\nsystems:\n")

    config = load_config(path, {}).config

    assert config.store.url == "sqlite:///orderbridge.db"
    assert config.server.listen == "127.0.0.1:8080"
    assert config.log.level == "info"
    assert config.systems == {}


def test_every_problem_in_the_file_is_reported_with_its_line(tmp_path: Path) -> None:
    """One bad system does not hide another's problems, nor the top level's, nor the cross-checks:
    the operator fixes the file in one go."""
    path = write(
        tmp_path,
        """
        server: {listen: "0.0.0.0:8080"}
        sytems: {}
        systems:
          wms:
            type: rest
            base_url: htp:/x
            list: {path: /orders}
          erp:
            type: odo
            base_url: https://erp.example.com
          purchasing:
            type: spreadsheet
            path: a.csv
            header_row: 0
        reconcile:
          every: 5 minutes
          authority: {fulfillment: wms2}
          rules: [status_lag, stuk]
        """,
    )

    error = problems_of(path)

    found = {(p.line, p.key_path) for p in error.problems}
    assert found == {
        (2, "sytems"),
        (6, "systems.wms.base_url"),
        (9, "systems.erp.type"),
        (14, "systems.purchasing.header_row"),
        (16, "reconcile.every"),
        (17, "reconcile.authority.fulfillment"),
        (18, "reconcile.rules[1]"),
    }
    assert "unknown key 'sytems'; expected one of store, server, log, systems, reconcile" in str(error)
    assert "(found 'htp:/x')" in find(error, "systems.wms.base_url")[0].message
    assert (
        "known types: 17track, aftership, cainiao, chanjet, easypost"
        in find(error, "systems.erp.type")[0].message
    )
    assert "not a duration" in find(error, "reconcile.every")[0].message
    assert "not a configured system" in find(error, "reconcile.authority.fulfillment")[0].message
    assert "(found 'wms2')" in find(error, "reconcile.authority.fulfillment")[0].message
    assert "did you mean 'stuck'?" in find(error, "reconcile.rules[1]")[0].message


def test_error_text_lists_every_problem_one_per_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """str(ConfigError) is what the operator reads: a count, then `file:line: key.path: message`."""
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        """
        systems:
          wms:
            type: rest
            base_url: htp:/x
            list: {path: /orders}
        reconcile:
          grace: {defualt: 30m}
          sla: {packing: [1d]}
        """,
    )

    error = problems_of(Path("orderbridge.yaml"))

    lines = str(error).splitlines()
    assert lines[0] == "orderbridge.yaml: 3 problems"
    assert lines[1] == (
        "orderbridge.yaml:4: systems.wms.base_url: URL scheme should be 'http' or 'https' (found 'htp:/x')"
    )
    assert lines[2].startswith("orderbridge.yaml:7: reconcile.grace.defualt: unknown grace key 'defualt'")
    assert "did you mean 'default'?" in lines[2]
    assert lines[3].startswith(
        "orderbridge.yaml:8: reconcile.sla.packing: 'packing' is not a canonical status"
    )


def test_system_type_missing_or_unknown(tmp_path: Path) -> None:
    """A system without `type`, or with one no connector has, is named with the known types."""
    path = write(
        tmp_path,
        """
        systems:
          erp:
            base_url: https://erp.example.com
          wms:
            type: acme_erp
          Bad_Name:
            type: spreadsheet
            path: x.csv
        """,
    )

    error = problems_of(path)

    assert find(error, "systems.erp")[0] == Problem(
        "systems.erp", 2, f"missing `type`; known types: {', '.join(sorted(REGISTRY))}"
    )
    assert find(error, "systems.wms.type")[0].line == 5
    assert (
        "system name 'Bad_Name' must start with a lowercase letter"
        in find(error, "systems.Bad_Name")[0].message
    )


def test_missing_environment_variable_is_reported(tmp_path: Path) -> None:
    """A ${VAR} that is not set is named at its key, once, without follow-on errors for the blank."""
    path = write(
        tmp_path,
        """
        systems:
          wms:
            type: rest
            base_url: ${WMS_URL}
            auth: {bearer: "${WMS_TOKEN}"}
            list: {path: /orders}
        """,
    )

    error = problems_of(path, {"WMS_URL": "https://wms.example.com"})

    assert error.problems == [
        Problem("systems.wms.auth.bearer", 5, "environment variable WMS_TOKEN is not set")
    ]


def test_environment_defaults_and_escapes(tmp_path: Path) -> None:
    """${VAR:-default} falls back when VAR is unset or empty; $${ is a literal ${."""
    path = write(
        tmp_path,
        """
        server: {listen: "${HOST:-127.0.0.1}:${PORT:-9000}"}
        systems:
          sheet:
            type: spreadsheet
            path: "${DATA_DIR:-data}/orders-$${YEAR}.csv"
        """,
    )

    config = load_config(path, {"DATA_DIR": "", "PORT": "9100"}).config

    assert config.server.listen == "127.0.0.1:9100"
    sheet = config.systems["sheet"]
    assert isinstance(sheet, SpreadsheetSettings)
    assert sheet.path == "data/orders-${YEAR}.csv"


def test_values_from_the_environment_are_never_echoed(tmp_path: Path) -> None:
    """A secret injected through ${VAR} stays out of the error text, even in a field that refuses it
    and whose validator quotes its input."""
    token = "s3cr3t-Tok3n-value"
    path = write(
        tmp_path,
        """
        systems:
          wms:
            type: rest
            base_url: ${WMS_TOKEN}
            timeout: ${WMS_TOKEN}
            headers: ${WMS_TOKEN}
            auth: {api_key: {value: "${WMS_TOKEN}"}}
            list: {path: /orders}
        """,
    )

    error = problems_of(path, {"WMS_TOKEN": token})

    text = str(error)
    assert token not in text
    assert token not in repr(error.problems)
    assert error.__cause__ is None and error.__context__ is None  # no chained pydantic error quoting it
    assert "(found a value from ${WMS_TOKEN})" in find(error, "systems.wms.base_url")[0].message
    assert {p.key_path for p in error.problems} == {
        "systems.wms.base_url",
        "systems.wms.timeout",
        "systems.wms.headers",
        "systems.wms.auth.api_key",
    }


def test_secrets_written_in_the_file_are_never_echoed(tmp_path: Path) -> None:
    """A secret field holding a wrong kind of value is reported without quoting the value."""
    path = write(
        tmp_path,
        """
        systems:
          wms:
            type: rest
            base_url: https://wms.example.com
            auth: {bearer: 98765432123}
            list: {path: /orders}
        """,
    )

    error = problems_of(path)

    assert "98765432123" not in str(error)
    assert find(error, "systems.wms.auth.bearer")[0].message.endswith("(found a secret)")


def test_store_url_password_is_never_echoed(tmp_path: Path) -> None:
    """The database URL may carry a password: no problem about it quotes it, however it is wrong."""
    for store in (
        'store: {url: "mysql://bob:hunter2@db.example.com/orders"}',
        'store: {url: "postgresql+psycopg://bob:hunter2@db.example.com:54x/orders"}',
        'store: "postgresql://bob:hunter2@db.example.com/orders"',
        'store: {url: "bob:hunter2@db.example.com"}',
    ):
        error = problems_of(write(tmp_path, store))

        assert "hunter2" not in str(error), store
        assert [p.key_path for p in error.problems] in (["store"], ["store.url"])


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    """Broken YAML gives one problem with the parser's line and column, and never the line's text
    (it may hold a secret)."""
    path = write(
        tmp_path,
        """
        systems:
          wms:
            type: rest
            auth: {bearer: "s3cr3t-token"
            base_url: https://wms.example.com
        """,
    )

    error = problems_of(path)

    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.line in (4, 5)
    assert problem.message.startswith("YAML syntax error at column")
    assert "s3cr3t" not in str(error)


def test_unquoted_references_inside_flow_mappings(tmp_path: Path) -> None:
    """`{bearer: ${TOKEN}}` as written in the design's sketch works unquoted, defaults may hold
    spaces, colons and commas, and the lines of later problems do not move."""
    path = write(
        tmp_path,
        """
        server: {listen: ${LISTEN:-127.0.0.1:9000}}
        systems:
          wms:
            type: rest
            base_url: ${WMS_URL:-https://wms.example.com/api}
            auth: {bearer: ${WMS_TOKEN}}
            list: {path: /orders, params: {since: "{cursor}", note: ${NOTE:-a, b: c}}}
            cursor: {field: updated_at}
            order_id: {field: ${ID_FIELD}, pad: 6}
            status: {dimension: fulfillment, map: {NEW: placed}}
            poll: {every: soon}
        """,
    )

    error = problems_of(path, {"WMS_TOKEN": "tok-123", "ID_FIELD": "order_ref"})
    assert [(p.key_path, p.line) for p in error.problems] == [("systems.wms.poll.every", 11)]

    path.write_text(path.read_text(encoding="utf-8").replace("every: soon", "every: 1m"), encoding="utf-8")
    config = load_config(path, {"WMS_TOKEN": "tok-123", "ID_FIELD": "order_ref"}).config
    wms = config.systems["wms"]
    assert isinstance(wms, RestSettings)
    assert config.server.listen == "127.0.0.1:9000"
    assert str(wms.base_url) == "https://wms.example.com/api"
    assert isinstance(wms.auth, BearerSettings)
    assert wms.auth.token.get_secret_value() == "tok-123"
    assert wms.list.params == {"since": "{cursor}", "note": "a, b: c"}
    assert wms.order_id.field == "order_ref"


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    """YAML quietly keeps the last of two equal keys; we refuse it and say where both are."""
    path = write(
        tmp_path,
        """
        systems:
          wms:
            type: rest
            base_url: https://a.example.com
            list: {path: /orders}
            base_url: https://b.example.com
        """,
    )

    error = problems_of(path)

    assert error.problems == [
        Problem("systems.wms.base_url", 6, "duplicate key 'base_url' (first at line 4); keep only one")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        (
            "- a\n- b\n",
            "expected a mapping of sections (store, server, log, systems, reconcile, smtp, reports, alerts, "
            "health, display), not a list",
        ),
        ("just text\n", "expected a mapping of sections"),
    ],
)
def test_empty_or_non_mapping_file(tmp_path: Path, text: str, expected: str) -> None:
    """A file that is not a mapping of sections is refused with a clear reason."""
    error = problems_of(write(tmp_path, text))

    assert len(error.problems) == 1
    assert expected in error.problems[0].message


def test_unreadable_file(tmp_path: Path) -> None:
    """A missing file is a ConfigError too, so the CLI reports it like any other problem."""
    error = problems_of(tmp_path / "nope.yaml")

    assert "cannot read the file" in str(error)


def test_status_codes_stay_text(tmp_path: Path) -> None:
    """Native status codes like NO, OFF or 10 are text, not YAML 1.1 booleans or numbers."""
    path = write(
        tmp_path,
        """
        systems:
          sheet:
            type: spreadsheet
            path: a.csv
            status:
              field: state
              dimension: fulfillment
              map: {NO: placed, OFF: cancelled, 10: shipped, yes: delivered}
        """,
    )

    sheet = load_config(path, {}).config.systems["sheet"]

    assert sheet.status[0].map == {"NO": "placed", "OFF": "cancelled", "10": "shipped", "yes": "delivered"}


def test_merged_defaults_are_shared_and_overridable(tmp_path: Path) -> None:
    """YAML anchors and `<<` merges let systems share settings; keys written beside `<<` win."""
    path = write(
        tmp_path,
        """
        systems:
          eu: &shop
            type: rest
            base_url: https://eu.example.com
            list: {path: /orders}
          us:
            <<: *shop
            base_url: https://us.example.com
        """,
    )

    systems = load_config(path, {}).config.systems

    us = systems["us"]
    assert isinstance(us, RestSettings)
    assert str(us.base_url) == "https://us.example.com/"
    assert us.list.path == "/orders"


def test_schema_describes_every_alert_channel_type() -> None:
    """Each channel in `alerts.channels` is one of the registered channel types' settings, picked by
    `type`, so an editor knows a DingTalk robot's `secret` as well as the shared `rate_limit`."""
    schema = config_json_schema()
    alerts = schema["$defs"]["AlertSettings"]
    channels = alerts["properties"]["channels"]["additionalProperties"]
    assert channels["discriminator"]["propertyName"] == "type"
    mapping = channels["discriminator"]["mapping"]
    assert mapping == {name: f"#/$defs/{c.settings_model.__name__}" for name, c in CHANNEL_TYPES.items()}
    for name, channel in CHANNEL_TYPES.items():
        definition = schema["$defs"][channel.settings_model.__name__]
        assert definition["properties"]["type"]["const"] == name
        assert "type" in definition["required"]
        assert set(channel.settings_model.model_fields) == set(definition["properties"])
    assert "secret" in schema["$defs"]["DingTalkSettings"]["properties"]


def test_schema_covers_every_connector_type(tmp_path: Path) -> None:
    """Editors get one schema in which each system is picked by `type` among the registered connectors."""
    schema = config_json_schema()

    systems = schema["properties"]["systems"]["additionalProperties"]
    assert systems["discriminator"]["propertyName"] == "type"
    assert systems["discriminator"]["mapping"] == {
        name: f"#/$defs/{entry.settings.__name__}" for name, entry in REGISTRY.items()
    }
    assert {ref["$ref"] for ref in systems["oneOf"]} == set(systems["discriminator"]["mapping"].values())
    for name, type_name in ((e.settings.__name__, n) for n, e in REGISTRY.items()):
        definition = schema["$defs"][name]
        assert definition["properties"]["type"]["const"] == type_name
        assert "type" in definition["required"]
    assert schema["properties"]["reconcile"]["$ref"] == "#/$defs/ReconcileSettings"
    assert schema["$defs"]["ApiKeySettings"]["properties"]["value"]["writeOnly"] is True
