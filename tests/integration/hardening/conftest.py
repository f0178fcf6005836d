"""The room's committee fixture, for the room events of the hardening tests."""

from tests.integration.room.conftest import committee

__all__ = ["committee"]
