"""A simulated company for `orderbridge demo` and the tests: an ERP and a WMS served over HTTP, a
purchasing workbook, a finance export, and a configuration file tying them together."""

from orderbridge.demo.config import DEMO_CREDENTIALS, DemoCredentials, write_demo_config
from orderbridge.demo.scenario import (
    Case,
    Scenario,
    build_scenario,
    load_erp,
    load_wms,
    write_finance_csv,
    write_purchasing_xlsx,
    write_spreadsheets,
)
from orderbridge.demo.simulators import SimulatedERP, SimulatedWMS

__all__ = [
    "DEMO_CREDENTIALS",
    "Case",
    "DemoCredentials",
    "Scenario",
    "SimulatedERP",
    "SimulatedWMS",
    "build_scenario",
    "load_erp",
    "load_wms",
    "write_demo_config",
    "write_finance_csv",
    "write_purchasing_xlsx",
    "write_spreadsheets",
]
