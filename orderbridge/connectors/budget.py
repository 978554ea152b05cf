"""A per-system request budget: at most N requests per second and/or per minute, kept on our side
before the source has to answer 429, and shared by every poll of the system in the process."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Clock = Callable[[], float]
Wait = Callable[[float], bool]  # waits up to n seconds; True when it was interrupted (stop)


class BudgetSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_second: float | None = Field(
        default=None, gt=0, le=10000, description="At most this many requests a second."
    )
    per_minute: float | None = Field(
        default=None, gt=0, le=600000, description="At most this many requests a minute."
    )

    @model_validator(mode="after")
    def _some_limit(self) -> Self:
        if self.per_second is None and self.per_minute is None:
            raise ValueError("give `per_second`, `per_minute` or both")
        return self


class RequestBudget:
    """Sliding windows of the send times: a request waits until each window has room. A source that
    asks to wait (Retry-After, a throttle) pauses every request of the system until then."""

    def __init__(self, settings: BudgetSettings, clock: Clock = time.monotonic) -> None:
        self.windows: list[tuple[float, int]] = []
        for length, rate in ((1.0, settings.per_second), (60.0, settings.per_minute)):
            if rate is not None:
                # `rate` requests per `length` seconds; below one (0.5/s) it is one per length/rate.
                self.windows.append((length, int(rate)) if rate >= 1 else (length / rate, 1))
        self.clock = clock
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Seconds until a request may go out now (0: at once)."""
        with self._lock:
            return self._delay(self.clock())

    def acquire(self, wait: Wait) -> bool:
        """Wait for room, then count one request. False when `wait` was interrupted (shutdown)."""
        while True:
            with self._lock:
                now = self.clock()
                pause = self._delay(now)
                if pause <= 0:
                    self._sent.append(now)
                    return True
            if wait(pause):
                return False

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock() + seconds)

    def _delay(self, now: float) -> float:
        longest = max(length for length, _ in self.windows)
        while self._sent and self._sent[0] <= now - longest:
            self._sent.popleft()
        pause = self._paused_until - now
        for length, count in self.windows:
            inside = [t for t in self._sent if t > now - length]
            if len(inside) >= count:
                pause = max(pause, inside[-count] + length - now)
        return pause


class Budgets:
    """One budget per system for the whole process; settings changed in the config replace it."""

    def __init__(self) -> None:
        self._budgets: dict[str, tuple[BudgetSettings, RequestBudget]] = {}
        self._lock = threading.Lock()

    def of(self, system: str, settings: BudgetSettings) -> RequestBudget:
        with self._lock:
            known = self._budgets.get(system)
            if known is None or known[0] != settings:
                known = (settings, RequestBudget(settings))
                self._budgets[system] = known
            return known[1]


BUDGETS = Budgets()
