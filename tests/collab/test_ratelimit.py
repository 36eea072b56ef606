"""Token buckets: what a peer may spend, at once and on average."""

from __future__ import annotations

from collab.ratelimit import TokenBucket

SLOW = 1e-9  # tokens a second: no refill within a test


def test_a_bucket_gives_its_burst_then_refuses() -> None:
    bucket = TokenBucket(SLOW, 3)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_a_rate_of_zero_is_no_limit() -> None:
    bucket = TokenBucket(0, 1)
    assert all(bucket.take(1000) for _ in range(100))


def test_tiny_charges_add_up_and_are_refused_once_they_pass_the_budget() -> None:
    bucket = TokenBucket(SLOW, 0.01)  # 10 ms of CPU
    results = [bucket.charge(0.0001) for _ in range(99)]  # 9.9 ms in 100 us steps
    assert all(results)
    assert not TokenBucket(SLOW, 0.01).charge(0.02), "one large charge is settled at once"
    over = [bucket.charge(0.0001) for _ in range(20)]  # 2 ms more: past the 10 ms
    assert not all(over)
    assert over.index(False) <= 11, "refused within one settlement (1 ms) of the limit"
