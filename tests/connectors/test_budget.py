"""The request budget: requests spread to per-second and per-minute limits on a controlled clock,
pauses a source asked for, one budget per system shared by its polls, and the budget in use by HttpApi."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import respx
from pydantic import ValidationError

from orderbridge.connectors.base import PollStopped
from orderbridge.connectors.budget import BUDGETS, BudgetSettings, RequestBudget
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.rest.settings import RestSettings


class FakeTime:
    """A clock that moves only when something waits on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(round(seconds, 6))
        self.now += seconds
        return False


def budget(fake: FakeTime, **limits: Any) -> RequestBudget:
    return RequestBudget(BudgetSettings.model_validate(limits), clock=fake.clock)


def test_per_second_limit_spreads_requests() -> None:
    """With 2 requests a second, the first two go at once and the third waits until a second has passed
    since the first."""
    fake = FakeTime()
    limit = budget(fake, per_second=2)
    for _ in range(3):
        assert limit.acquire(fake.wait)
    assert fake.waits == [1.0]


def test_per_minute_limit_holds_across_many_seconds() -> None:
    """YonSuite's 60 calls a minute: the 61st request waits for the first one's minute to pass, even
    though the per-second pace was slow."""
    fake = FakeTime()
    limit = budget(fake, per_minute=60)
    for _ in range(60):
        assert limit.acquire(fake.wait)
        fake.now += 0.5
    assert fake.waits == []
    assert limit.acquire(fake.wait)
    assert fake.waits == [30.0]  # first at t=0, 60 sent by t=30: the next at t=60


def test_both_limits_apply_together() -> None:
    """Shopify standard (2/s) under a minute cap of 5: the second-by-second pace, then the minute cap."""
    fake = FakeTime()
    limit = budget(fake, per_second=2, per_minute=5)
    for _ in range(6):
        limit.acquire(fake.wait)
    assert fake.waits == [1.0, 1.0, 58.0]


def test_a_fractional_rate_means_one_request_per_interval() -> None:
    """`per_second: 0.5` is one request every two seconds."""
    fake = FakeTime()
    limit = budget(fake, per_second=0.5)
    for _ in range(3):
        limit.acquire(fake.wait)
    assert fake.waits == [2.0, 2.0]


def test_a_pause_holds_every_request_until_it_ends() -> None:
    """After a source asked to wait 10 s, the next request of the system waits those 10 s."""
    fake = FakeTime()
    limit = budget(fake, per_second=100)
    limit.pause(10)
    limit.acquire(fake.wait)
    assert fake.waits == [10.0]


def test_an_interrupted_wait_gives_up() -> None:
    """A stop during the wait returns False and counts no request."""
    fake = FakeTime()
    limit = budget(fake, per_second=1)
    limit.acquire(fake.wait)
    assert limit.acquire(lambda seconds: True) is False
    assert limit.delay() == pytest.approx(1.0)


def test_a_budget_needs_a_limit() -> None:
    """An empty `budget:` block is a config mistake, said as such."""
    with pytest.raises(ValidationError, match="per_second"):
        BudgetSettings.model_validate({})


def test_polls_of_one_system_share_its_budget_and_a_changed_setting_replaces_it() -> None:
    """Each poll builds a new connector; the budget is the system's, kept across them."""
    first = BUDGETS.of("budget-test", BudgetSettings(per_second=3))
    assert BUDGETS.of("budget-test", BudgetSettings(per_second=3)) is first
    assert BUDGETS.of("budget-test", BudgetSettings(per_second=4)) is not first
    assert BUDGETS.of("other-system", BudgetSettings(per_second=3)) is not first


def test_http_api_keeps_the_budget_and_a_stop_during_its_wait_ends_the_call() -> None:
    """HttpApi waits for the budget before each request (through its sleep), and a stop while waiting
    for the budget ends the call with PollStopped, sending nothing."""
    block = {
        "type": "rest",
        "base_url": "https://api.example.com",
        "list": {"path": "/orders"},
        "budget": {"per_second": 1},
    }
    made = HttpApi.from_settings("budgeted", RestSettings.model_validate(block))
    assert made.budget is not None
    fake = FakeTime()
    made.budget.clock = fake.clock
    made.sleep = fake.wait
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://api.example.com/orders").respond(json=[])
        made.fetch("GET", "/orders")
        made.fetch("GET", "/orders")
        assert fake.waits == [1.0]
        stop = threading.Event()
        made.sleep = lambda seconds: stop.set()
        with pytest.raises(PollStopped, match="request budget"):
            made.fetch("GET", "/orders", stop=stop)
    assert route.call_count == 2
