"""Fixtures of other suites the hardening tests reuse: the room's committee, the draw setup."""

from tests.integration.draws.conftest import setup
from tests.integration.room.conftest import committee

__all__ = ["committee", "setup"]
