"""Supervisors belong to a department and supervise only the projects it supervises: they witness
and open those draws, read those projects and decide those appointments; others are refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from expertpool.core.errors import Forbidden
from expertpool.draws import protocol as draws
from expertpool.projects import projects
from tests.conftest import PASSWORD
from tests.integration.draws.conftest import Setup, add_experts, project_of

pytestmark = pytest.mark.integration

# The setup's project is a Guangzhou works project; by default its supervising department is the
# city's coordinating (development and reform) bureau.
CASES = [
    ("440100-coordination", True),  # the assigned department
    ("440000-coordination", True),  # the province's coordinating department above it
    ("440300-coordination", False),  # a supervisor of another region
    ("440100-housing", False),  # another field in the same city
    ("440000-procurement", False),  # another field above
]


@pytest.mark.parametrize(("department", "allowed"), CASES)
def test_only_a_supervisor_of_the_supervising_department_witnesses(
    setup: Setup, make_user: Any, department: str, allowed: bool
) -> None:
    assert project_of(setup).department is not None
    assert project_of(setup).department.code == "440100-coordination"
    add_experts(setup.app, 12)
    d = setup.prepare(setup.request())
    draws.witness_operator(
        setup.session,
        draw_id=d.draw_id,
        actor=setup.operator,
        terminal=setup.terminal,
        digits="314159",
        now=setup.clock.now,
    )
    supervisor = make_user(role="supervisor", department=department)

    def witness() -> Any:
        return draws.witness_supervisor(
            setup.session,
            draw_id=d.draw_id,
            terminal=setup.terminal,
            username=supervisor.username,
            password=PASSWORD,
            digits="271828",
            now=setup.clock.now,
        )

    if allowed:
        assert witness().supervisor_id == supervisor.id
    else:
        with pytest.raises(Forbidden) as info:
            witness()
        assert info.value.code == "supervisor_refused"
        setup.session.rollback()
        assert setup.session.get(type(d), d.id).supervisor_digits is None


def test_a_project_assigned_to_a_sector_bureau_is_supervised_by_its_field_above_it(
    setup: Setup, make_user: Any
) -> None:
    project = project_of(setup)
    project.department = projects_department(setup, "440100-housing")
    setup.session.commit()
    above = make_user(role="supervisor", department="440000-housing")
    other_field = make_user(role="supervisor", department="440000-transport")
    other_city = make_user(role="supervisor", department="440300-housing")
    assert projects.supervises(setup.session, above, project)
    assert not projects.supervises(setup.session, other_field, project)
    assert not projects.supervises(setup.session, other_city, project)


def projects_department(setup: Setup, code: str) -> Any:
    from expertpool.departments.members import by_code

    return by_code(setup.session, code)


def test_a_supervisor_of_another_region_is_refused_the_project_pages(
    setup: Setup, make_user: Any, client: FlaskClient, login: Any
) -> None:
    project = project_of(setup)
    outsider = login(client, make_user(role="supervisor", department="440300-coordination"))
    assert outsider.get(f"/projects/{project.id}").status_code == 403
    assert project.code not in outsider.get("/projects").get_data(as_text=True)
    assert outsider.get(f"/projects/{project.id}/appointments").status_code == 403
    insider = login(
        setup.app.test_client(), make_user(role="supervisor", department="440100-coordination")
    )
    assert insider.get(f"/projects/{project.id}").status_code == 200
    assert project.code in insider.get("/projects").get_data(as_text=True)


def test_a_project_may_only_be_assigned_a_department_covering_it(setup: Setup) -> None:
    from expertpool.core.errors import ValidationFailed
    from tests.integration.projects.conftest import project_payload

    owner = project_of(setup).owner_centre_id
    for code in ("440300-housing", "440100-procurement", "nonsense"):
        with pytest.raises(ValidationFailed) as info:
            projects.create_project(
                setup.session,
                actor="test",
                owner_centre_id=owner,
                data=project_payload(code=f"GZ-D-{code}", department=code),
                now=setup.clock.now,
            )
        assert "department" in info.value.fields
        setup.session.rollback()
    made = projects.create_project(
        setup.session,
        actor="test",
        owner_centre_id=owner,
        data=project_payload(code="GZ-D-OK", department="440000-water"),
        now=setup.clock.now,
    )
    assert made.department is not None and made.department.code == "440000-water"
