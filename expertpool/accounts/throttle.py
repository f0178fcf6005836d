"""Login throttling: per address and username, per account from any address, per address across
usernames; only failed attempts count toward the last two.

The limits (settings, see docs/security.md):

- `login_rate_limit` (5 a minute) for one username from one address, every attempt counted;
- `login_account_limit` (10 failures in 15 minutes) for one username from anywhere, so that
  guessing one account's password from many addresses is slow too;
- `login_address_limit` (30 failures in 10 minutes) for one address whatever the username, so
  that one address cannot try thirty usernames unhindered.

A venue behind one address where nine people log in within a minute is never refused: their
successes count toward none of the shared limits, and even two typing mistakes each (18
failures) stay under the address's 30.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, request

from expertpool.core.state import config, limiter

F = TypeVar("F", bound=Callable[..., Any])


def normalised(username: Any) -> str:
    """The username as the login reads it (so padding or case cannot dodge a limit)."""
    return str(username or "").strip().lower()[:64]


def throttled(
    username_of: Callable[[], str], scope: str = "login", failed: int = 401
) -> Callable[[F], F]:
    """The three login limits on a view, reading the attempted username with `username_of`;
    answers with the status `failed` count as failures (a refused password: 401 at the login,
    403 for a supervisor at a terminal; 422 is a malformed request and does not count)."""

    def _failed(response: Response) -> bool:
        return response.status_code == failed

    def wrap(view: F) -> F:
        limited: Any = limiter.limit(
            lambda: config().login_address_limit,
            key_func=lambda: f"{scope}-addr|{request.remote_addr}",
            methods=["POST"],
            deduct_when=_failed,
        )(view)
        limited = limiter.limit(
            lambda: config().login_account_limit,
            key_func=lambda: f"{scope}-acct|{normalised(username_of())}",
            methods=["POST"],
            deduct_when=_failed,
        )(limited)
        limited = limiter.limit(
            lambda: config().login_rate_limit,
            key_func=lambda: f"{scope}|{request.remote_addr}|{normalised(username_of())}",
            methods=["POST"],
        )(limited)
        return cast(F, limited)

    return wrap


def form_username() -> str:
    """The username of a login form."""
    return str(request.form.get("username") or "")


def json_username() -> str:
    """The username of a JSON login body."""
    raw = request.get_json(silent=True)
    return str(raw.get("username", "")) if isinstance(raw, dict) else ""
