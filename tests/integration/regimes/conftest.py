"""Fixtures of the rule-table tests: the projects feature's API clients and clock."""

from tests.integration.draws.conftest import setup  # noqa: F401
from tests.integration.projects.conftest import api, clock, terminal  # noqa: F401
