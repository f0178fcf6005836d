"""Typed errors of the draw engine: invalid_input, insufficient_pool and infeasible (draw-v1 §4,
§7).
"""

from __future__ import annotations


class DrawError(Exception):
    """Base of every error the draw engine raises on purpose; `code` is stable."""

    code = "draw_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DrawError):
    """An input breaks the form draw-v1 requires; `field` is the path of the offending value."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


class NotCanonical(InvalidInput):
    """A value canonical JSON cannot encode (draw-v1 §2), named by its path.

    Only null, booleans, integers with |n| < 2^53, strings (valid Unicode) and arrays and
    objects with string keys of these are allowed: a float, a datetime, a Decimal, an enum
    member, a tuple or any other object is refused rather than converted, so that whoever
    hashes a value decides how its types become JSON.
    """


class InsufficientPool(DrawError):
    """A group (or all groups together) needs more primaries than there are eligible experts."""

    code = "insufficient_pool"

    def __init__(self, group: str | None, needed: int, eligible: int) -> None:
        scope = f"group {group}" if group is not None else "total"
        super().__init__(
            f"{scope} needs {needed} primaries but only {eligible} experts are eligible"
        )
        self.group = group
        self.needed = needed
        self.eligible = eligible

    @property
    def scope(self) -> str:
        """The group id, or "total" when the shortage is across all groups."""
        return self.group if self.group is not None else "total"


class Infeasible(DrawError):
    """No attempt out of the allowed ones gave an acceptable panel."""

    code = "infeasible"

    def __init__(self, attempts: int, message: str = "") -> None:
        super().__init__(message or f"no acceptable panel in {attempts} attempts")
        self.attempts = attempts
