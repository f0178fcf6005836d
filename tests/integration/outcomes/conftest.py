"""Fixtures of the outcome tests: the draw tests' ready project, terminal and people, and the
projects API clients.
"""

from tests.integration.draws.conftest import setup  # noqa: F401
from tests.integration.projects.conftest import api, clock, ready_project  # noqa: F401
