"""Fixtures of the rule-table tests: the projects feature's API clients and clock."""

from tests.integration.projects.conftest import api, clock, terminal  # noqa: F401
