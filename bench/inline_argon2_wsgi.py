"""The production WSGI app with Argon2 run on the event loop, as before issue #27: the "before"
figures of `bench/login_burst.py --inline`."""

from __future__ import annotations

from typing import Any

from expertpool.accounts import users


def _inline(work: Any, *args: Any) -> Any:
    return work(*args)


users._off_the_loop = _inline  # type: ignore[assignment]

from expertpool.wsgi import app  # noqa: E402  (after the change above, before the app starts)

__all__ = ["app"]
