"""Demo actors: departments with their reviewers and supervisors, organisations with contacts,
and the tenderer's representatives named on a project."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from expertpool.core.pii import PiiCipher
from expertpool.demo.accounts import DEMO_DEPARTMENTS
from expertpool.demo.context import DemoContext
from expertpool.demo.projects import demo_credit_code
from expertpool.departments import members
from expertpool.departments.catalogue import city_regions
from expertpool.departments.coverage import bundled
from expertpool.departments.models import DepartmentMember
from expertpool.experts.identity import make_id_number
from expertpool.organisations import directory, representatives
from expertpool.organisations.models import Organisation, TendererRepresentative
from expertpool.projects.models import Project

ORGANISATIONS = (
    # credit code number, name, other names, tenderer, agency, contact username
    (1, "广州市某区建设局", ("某区建设局",), True, False, "tenderer"),
    (2, "广东某招标代理有限公司", ("某招标代理公司",), False, True, "agency"),
)
REPRESENTED = "GZ-DEMO-002"


def departments_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Load the departments, place the demo reviewers and supervisors, register the demo
    tenderer and agency with their contact accounts."""
    added = members.load_departments(session, bundled(), city_regions(session), actor="demo")
    for username, code in DEMO_DEPARTMENTS.items():
        dept = members.by_code(session, code)
        members.assign(session, actor="demo", username=username, department_id=dept.id)
    for number, name, others, tenderer, agency, contact in ORGANISATIONS:
        org = directory.save_organisation(
            session,
            actor="demo",
            credit_code=demo_credit_code(number),
            name=name,
            other_names=others,
            is_tenderer=tenderer,
            is_agency=agency,
        )
        directory.set_contact(session, actor="demo", username=contact, organisation_id=org.id)
    placed = session.execute(select(func.count()).select_from(DepartmentMember)).scalar_one()
    orgs = session.execute(select(func.count()).select_from(Organisation)).scalar_one()
    return f"{added} departments added, {placed} members, {orgs} organisations"


def representatives_step(
    session: Session, ctx: DemoContext, seed: int, options: dict[str, int]
) -> str:
    """The tenderer's contact names the two representatives the remote project provides for."""
    project = session.execute(select(Project).where(Project.code == REPRESENTED)).scalar_one()
    have = session.execute(
        select(func.count())
        .select_from(TendererRepresentative)
        .where(TendererRepresentative.project_id == project.id)
    ).scalar_one()
    contact = directory.contacts(session, _org_id(session, 1))[0]
    cipher = PiiCipher.from_keys(ctx.keys)
    people = (("林建华", 11), ("陈晓敏", 12))
    for name, serial in people[have:]:
        representatives.name_representative(
            session,
            actor=contact,
            project=project,
            name=name,
            organisation_name=project.tenderer_name,
            id_number=make_id_number("440103", date(1978, 5, serial), serial),
            phone=f"+861380013{serial:04d}",
            cipher=cipher,
            today=project.evaluation_start_at.date(),
        )
    return f"{len(people)} representatives named on {REPRESENTED}"


def _org_id(session: Session, number: int) -> int:
    return session.execute(
        select(Organisation.id).where(Organisation.credit_code == demo_credit_code(number))
    ).scalar_one()
