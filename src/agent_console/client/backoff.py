"""Reconnect and resend waits: exponential backoff with full jitter.

Full jitter (a uniform wait between zero and the exponential ceiling) spreads clients out,
so a hundred consoles that lost the server at the same moment do not all come back in step.
"""

from __future__ import annotations

import random

BASE = 0.5
CAP = 30.0


def full_jitter(
    attempt: int, rng: random.Random | None = None, *, base: float = BASE, cap: float = CAP
) -> float:
    """Seconds to wait before try `attempt + 1`: uniform in [0, min(cap, base * 2^attempt)]."""
    ceiling = min(cap, base * (2 ** min(max(attempt, 0), 30)))
    return (rng or random).uniform(0.0, ceiling)
