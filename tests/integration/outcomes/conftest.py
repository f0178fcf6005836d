"""Fixtures of the outcome tests: the draw tests' ready project, terminal and people."""

from tests.integration.draws.conftest import setup  # noqa: F401
