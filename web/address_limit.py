"""A rate limit per client address: a token bucket for each, refilled continuously."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRACKED_ADDRESSES = 10_000
"""Past this many addresses, those whose bucket is full again are forgotten."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class AddressRateLimit:
    """Allows each address ``per_minute`` actions a minute, in bursts of up to as many.

    Args:
        per_minute: The average rate and the burst; 0 allows everything.
        clock: Seconds from a monotonic clock (tests may pass their own).
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.per_s = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, address: str) -> float:
        """Spend one action of ``address``: 0.0 if allowed, else the seconds to wait."""
        if not self.capacity:
            return 0.0
        now = self._clock()
        bucket = self._buckets.get(address)
        if bucket is None:
            self._forget_full(now)
            bucket = self._buckets[address] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.per_s)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.per_s

    def _forget_full(self, now: float) -> None:
        if len(self._buckets) < MAX_TRACKED_ADDRESSES:
            return
        full_after_s = self.capacity / self.per_s
        for address, bucket in list(self._buckets.items()):
            if now - bucket.at >= full_after_s:
                del self._buckets[address]


def retry_after(wait_s: float) -> str:
    """A ``Retry-After`` value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait_s)))
