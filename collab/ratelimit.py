"""Rate limits for peers."""

from __future__ import annotations

import time


class TokenBucket:
    """Allows ``rate`` events a second on average, and bursts of up to ``burst``.

    A rate of 0 means no limit.
    """

    def __init__(self, rate: float, burst: float) -> None:
        if rate < 0 or burst <= 0:
            raise RuntimeError(f"TokenBucket needs rate >= 0 and burst > 0, got {rate}, {burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last = time.monotonic()
        self._owed = 0.0  # charged but not yet taken (see charge)

    def take(self, amount: float = 1.0) -> bool:
        """Spend ``amount`` tokens; False when the bucket does not hold that many."""
        if not self.rate:
            return True
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < amount:
            return False
        self._tokens -= amount
        return True

    def charge(self, amount: float, *, settle_above: float = 0.001) -> bool:
        """:meth:`take`, settled with the bucket only once the charges add up to ``settle_above``.

        For many tiny amounts (a keystroke costs the room microseconds): each
        take reads the clock, and was a percent of the keystroke path. False
        when a settlement finds the bucket short.
        """
        self._owed += amount
        if self._owed < settle_above:
            return True
        owed, self._owed = self._owed, 0.0
        return self.take(owed)
