"""A room's tunables: one record, which the web settings fill and document."""

from __future__ import annotations

from dataclasses import dataclass, field

from collab.yencoding import DEFAULT_LIMITS, Limits


@dataclass(frozen=True, slots=True)
class RoomConfig:
    """Tunables of a room; the web settings document each one."""

    max_send_queue_messages: int = 1000
    max_awareness_state_bytes: int = 16 * 1024
    max_messages_per_s: float = 1000.0
    message_burst: int = 5000
    max_peers: int = 256
    checkpoint_after_updates: int = 1000
    checkpoint_after_idle_s: float = 30.0
    close_timeout_s: float = 5.0
    awareness_renewal_delay_s: float = 5.0
    apply_budget_s: float = 2.0  # CPU seconds a peer's edits may cost the room at once...
    apply_budget_per_s: float = 0.2  # ...and on average: a tenth of the machine at most
    limits: Limits = field(default_factory=lambda: DEFAULT_LIMITS)
