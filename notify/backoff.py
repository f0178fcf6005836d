"""Exponential backoff with jitter, honouring a provider's Retry-After.

Pure functions: the jitter is an argument (a number in [0, 1]), so tests pass fixed values and
the dispatcher passes `random_jitter()`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["backoff_delay", "backoff_schedule", "parse_retry_after", "random_jitter"]

_JITTER_RESOLUTION = 1 << 30


def random_jitter() -> float:
    """Return a uniform number in [0, 1] from the system's CSPRNG (no shared global state)."""
    return secrets.randbelow(_JITTER_RESOLUTION + 1) / _JITTER_RESOLUTION


def backoff_delay(
    attempt: int,
    *,
    jitter: float,
    base_seconds: float = 2.0,
    cap_seconds: float = 300.0,
    retry_after_seconds: float | None = None,
    max_retry_after_seconds: float = 3600.0,
) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first retry).

    "Equal jitter": half of the exponential step is fixed and half is scaled by `jitter`, so a
    retry never fires at once and concurrent workers spread out. A provider's Retry-After is a
    floor (clamped to `max_retry_after_seconds` so a bogus header cannot stall sending forever).
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    if not 0.0 <= jitter <= 1.0:
        raise ValueError("jitter must be within [0, 1]")
    # Cap the exponent before computing it so huge attempt counts cannot overflow.
    step = min(cap_seconds, base_seconds * 2.0 ** min(attempt, 60))
    delay = step / 2.0 + jitter * step / 2.0
    if retry_after_seconds is not None and retry_after_seconds > 0:
        delay = max(delay, min(retry_after_seconds, max_retry_after_seconds))
    return delay


def backoff_schedule(
    retries: int,
    *,
    rng: Callable[[], float] = random_jitter,
    base_seconds: float = 2.0,
    cap_seconds: float = 300.0,
) -> list[float]:
    """The delays before each of `retries` successive retries, drawing jitter from `rng`."""
    return [
        backoff_delay(i, jitter=rng(), base_seconds=base_seconds, cap_seconds=cap_seconds)
        for i in range(retries)
    ]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse an HTTP Retry-After header (seconds or an HTTP date) into seconds from `now`."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is not a delay
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())
