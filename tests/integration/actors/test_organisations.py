"""Tenderers and agencies as organisations with contact accounts: each contact sees its own
projects only, with their status and never a member, and names the tenderer's representatives
(encrypted at rest, field errors for bad input, closed once the evaluation starts)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text

from expertpool.accounts.models import Centre
from expertpool.core.db import utcnow
from expertpool.core.errors import ValidationFailed
from expertpool.experts.identity import make_id_number
from expertpool.organisations import directory
from expertpool.organisations.models import TendererRepresentative
from expertpool.projects import projects
from expertpool.projects.models import ProjectStatus
from tests.conftest import csrf_token
from tests.integration.projects.conftest import credit_code, project_payload

pytestmark = pytest.mark.integration

ID_NUMBER = make_id_number("440103", date(1980, 1, 2), 7)


@pytest.fixture()
def world(db_session: Any, make_user: Any) -> dict[str, Any]:
    """Two projects of different tenderers, with one contact each, plus the first's agency."""
    centre = db_session.execute(select(Centre).where(Centre.region_code == "440100")).scalar_one()
    made: dict[str, Any] = {}
    for n, (tenderer, reps) in enumerate(((1, 2), (11, 0))):
        made[f"project{n}"] = projects.create_project(
            db_session,
            actor="test",
            owner_centre_id=centre.id,
            data=project_payload(
                code=f"GZ-ORG-{n}",
                tenderer_code=credit_code(tenderer),
                tenderer_representatives=reps,
                evaluation_start="2099-06-05T09:00",
            ),
            now=utcnow(),
        )
    for key, number, tenderer, agency in (
        ("tenderer", 1, True, False),
        ("agency", 2, False, True),
        ("other", 11, True, False),
    ):
        org = directory.save_organisation(
            db_session,
            actor="test",
            credit_code=credit_code(number),
            name=f"单位{number}",
            other_names=[f"单位{number}（简称）"],
            is_tenderer=tenderer,
            is_agency=agency,
        )
        contact = make_user(role="org_contact", username=f"contact-{key}")
        directory.set_contact(
            db_session, actor="test", username=contact.username, organisation_id=org.id
        )
        made[key] = contact
    return made


def _name(client: FlaskClient, project_id: int, **fields: str) -> Any:
    path = f"/org/projects/{project_id}"
    return client.post(path, data={"csrf_token": csrf_token(client, path), **fields})


def test_a_contact_sees_only_their_organisations_projects(
    world: dict[str, Any], client: FlaskClient, login: Any, app: Any
) -> None:
    p0, p1 = world["project0"], world["project1"]
    tenderer = login(client, world["tenderer"])
    listing = tenderer.get("/org/projects").get_data(as_text=True)
    assert p0.code in listing and p1.code not in listing
    assert tenderer.get(f"/org/projects/{p0.id}").status_code == 200
    assert tenderer.get(f"/org/projects/{p1.id}").status_code == 404
    agency = login(app.test_client(), world["agency"])
    assert p0.code in agency.get("/org/projects").get_data(as_text=True)
    other = login(app.test_client(), world["other"])
    assert other.get(f"/org/projects/{p0.id}").status_code == 404
    assert other.get("/projects").status_code == 403
    assert other.get(f"/projects/{p0.id}").status_code == 403


def test_the_tenderer_names_representatives_encrypted_and_within_the_number_provided(
    world: dict[str, Any], client: FlaskClient, login: Any, db_session: Any, app: Any
) -> None:
    p0 = world["project0"]
    tenderer = login(client, world["tenderer"])
    bad = _name(tenderer, p0.id, name="", organisation_name="单位1", id_number="123", phone="12345")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    for field in ("name", "id_number", "phone"):
        assert f'data-field-error="{field}"' in html
    assert db_session.execute(select(TendererRepresentative)).first() is None
    for n in range(2):
        ok = _name(
            tenderer,
            p0.id,
            name=f"代表{n}",
            organisation_name="单位1",
            id_number=make_id_number("440103", date(1980, 1, 2), n + 1),
            phone=f"1380013{n:04d}",
        )
        assert ok.status_code == 302
    full = _name(
        tenderer,
        p0.id,
        name="第三人",
        organisation_name="单位1",
        id_number=ID_NUMBER,
        phone="13800138000",
    )
    assert full.status_code == 422
    page = tenderer.get(f"/org/projects/{p0.id}").get_data(as_text=True)
    assert "代表0" in page and make_id_number("440103", date(1980, 1, 2), 1) not in page
    raw = db_session.execute(
        text("SELECT id_number_encrypted, phone_encrypted FROM tenderer_representative")
    ).all()
    assert len(raw) == 2
    for id_blob, phone_blob in raw:
        assert b"440103" not in bytes(id_blob) and b"1380013" not in bytes(phone_blob)
    # The agency acts for the tenderer too; another organisation cannot.
    other = login(app.test_client(), world["other"])
    assert _name(other, p0.id, name="x").status_code == 404


def test_representatives_are_named_only_before_the_evaluation(
    world: dict[str, Any], db_session: Any
) -> None:
    from expertpool.core.errors import Conflict
    from expertpool.core.pii import PiiCipher
    from expertpool.organisations import representatives

    p0 = world["project0"]
    p0.status = ProjectStatus.OPENED
    db_session.commit()
    with pytest.raises(Conflict):
        representatives.name_representative(
            db_session,
            actor=world["tenderer"],
            project=p0,
            name="迟到者",
            organisation_name="单位1",
            id_number=ID_NUMBER,
            phone="13800138000",
            cipher=PiiCipher.from_keys(_keys()),
            today=date(2026, 1, 1),
        )


def _keys() -> Any:
    from expertpool.core.state import state

    return state().keys


def test_an_organisation_needs_a_valid_credit_code_and_a_kind(db_session: Any) -> None:
    with pytest.raises(ValidationFailed) as info:
        directory.save_organisation(db_session, actor="t", credit_code="123", name="")
    assert {"credit_code", "name", "kinds"} <= set(info.value.fields)


def test_only_contact_accounts_act_for_an_organisation(
    world: dict[str, Any], db_session: Any, make_user: Any
) -> None:
    staff = make_user(role="centre_staff")
    org = directory.organisation_of(db_session, world["tenderer"])
    assert org is not None
    with pytest.raises(ValidationFailed):
        directory.set_contact(
            db_session, actor="t", username=staff.username, organisation_id=org.id
        )
