"""docs/webhooks.md stays true: every raw code of every provider's preset table is in its tables, and
every provider's YAML example is a valid system block."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orderbridge.config.loader import parse_config
from orderbridge.connectors.aftership import statuses as aftership
from orderbridge.connectors.cainiao import statuses as cainiao
from orderbridge.connectors.easypost import statuses as easypost
from orderbridge.connectors.karrio import statuses as karrio
from orderbridge.connectors.kuaidi100 import statuses as kuaidi100
from orderbridge.connectors.push.codes import CodeTable
from orderbridge.connectors.sfexpress import statuses as sfexpress
from orderbridge.connectors.shippo import statuses as shippo
from orderbridge.connectors.shopify import statuses as shopify
from orderbridge.connectors.track17 import statuses as track17

DOC = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text(encoding="utf-8")
TABLES: list[CodeTable] = [
    aftership.SUBTAG,
    aftership.TAG,
    easypost.DETAIL,
    easypost.STATUS,
    track17.SUB_STATUS,
    track17.STATUS,
    kuaidi100.STATE,
    sfexpress.OP_CODE,
    cainiao.STATUS,
    shippo.SUBSTATUS,
    shippo.STATUS,
    karrio.STATUS,
    shopify.FULFILLMENT,
    shopify.FINANCIAL,
    shopify.SHIPMENT,
]


def test_every_preset_code_is_documented() -> None:
    """A code added to a preset table without its line in the docs fails here."""
    rows = {line for line in DOC.splitlines() if line.startswith("| ")}
    missing = [
        f"{table.field}: {code} -> {status}"
        for table in TABLES
        for status, codes in table.codes.items()
        for code in codes
        if not any(line.startswith(f"| {status} |") and f"`{code}`" in line for line in rows)
    ]
    assert not missing


# Whole system blocks (a fragment indented deeper, such as one `status:` line, is not one).
EXAMPLES = [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S) if re.match(r"(systems:|  \S)", b)]


@pytest.mark.parametrize("block", EXAMPLES)
def test_every_yaml_example_is_a_valid_block(block: str) -> None:
    """Each example parses as the `systems:` entries it shows (secrets from dummy variables)."""
    text = block if block.startswith("systems:") else "systems:\n" + block
    names = set(re.findall(r"\$\{([A-Z_0-9]+)\}", text))
    parse_config(text, environ={name: "dummy-secret-value-0123456789" for name in names})
