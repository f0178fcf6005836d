"""The conflict rules draw-v1 does not name, each matched on strong keys (ID numbers, credit
codes) and mapped onto draw-v1's inputs; the typed reasons only in the draw's sealed record.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from itertools import combinations
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.core.models import AuditEntry
from expertpool.core.pii import PiiCipher
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import protocol, sealing
from expertpool.draws.conflicts import (
    DEPARTMENT_STAFF,
    PLANNING_OR_DESIGN,
    RELATIVE_OF_PRINCIPAL,
    related_pairs,
)
from expertpool.draws.models import DrawInvitee, InviteeStatus
from expertpool.draws.snapshot import SnapshotWindow, build_candidates, expert_key
from expertpool.experts import identity
from expertpool.experts.models import Expert, ExpertEmployment, ExpertRelative, RelativeKind
from expertpool.organisations.models import Organisation, OrganisationName
from expertpool.projects import people, projects
from expertpool.projects.models import Bidder, ProjectPerson
from tests.conftest import csrf_token
from tests.integration.draws.conftest import (
    BIDDERS,
    EVALUATION,
    NOW,
    Setup,
    add_experts,
    project_of,
)
from tests.integration.projects.conftest import credit_code

pytestmark = pytest.mark.integration
DEPARTMENT_CODE = "11440100MB2C00000X"  # only its equality matters here


def _id(n: int) -> str:
    return identity.make_id_number("440103", date(1975, 1, 1) + timedelta(days=n), n)


def _cipher(s: Setup) -> PiiCipher:
    return PiiCipher.from_keys(s.keys)


def _give_ids(s: Setup, ids: list[int]) -> dict[int, str]:
    """Each expert gets an ID number (blind index only: the match needs nothing else)."""
    numbers = {}
    for expert_id in ids:
        numbers[expert_id] = _id(expert_id)
        s.session.get(Expert, expert_id).id_number_bidx = _cipher(s).blind_index(
            numbers[expert_id], "id_number"
        )
    s.session.commit()
    return numbers


def _relate(s: Setup, expert_id: int, id_number: str) -> None:
    s.session.add(
        ExpertRelative(
            expert_id=expert_id,
            kind=RelativeKind.SPOUSE,
            id_number_bidx=_cipher(s).blind_index(id_number, "id_number"),
        )
    )
    s.session.commit()


def _pool(s: Setup, **kw: Any) -> dict[str, Any]:
    window = SnapshotWindow(
        starts_at=EVALUATION,
        ends_at=EVALUATION + timedelta(hours=4),
        now_at=NOW,
        lookback_years=3,
        frequency_window_days=90,
    )
    conflicts = protocol._conflicts(s.session, project_of(s), window)
    return {
        c.id: c
        for c in build_candidates(s.session, window, sealed_facts=False, conflicts=conflicts)
    }


def _bidder(s: Setup, code: str) -> Bidder:
    return s.session.execute(
        select(Bidder).where(Bidder.project_id == s.project_id, Bidder.credit_code == code)
    ).scalar_one()


def test_a_relative_of_a_bidders_principal_avoids_that_bidder(setup: Setup) -> None:
    s = setup
    ids = add_experts(s.app, 6)
    principal = _id(900)
    _relate(s, ids[0], principal)
    _relate(s, ids[1], _id(901))  # someone else's relative: no conflict
    people.record_person(
        s.session,
        cipher=_cipher(s),
        actor="staff",
        project_id=s.project_id,
        role="legal_representative",
        id_number=principal,
        bidder_id=_bidder(s, BIDDERS[0]).id,
    )
    pool = _pool(s)
    assert BIDDERS[0] in pool[expert_key(ids[0])].avoid_orgs
    assert pool[expert_key(ids[0])].status == "active"
    assert BIDDERS[0] not in pool[expert_key(ids[1])].avoid_orgs
    request_id = s.request(groups=[{"specialties": ["A01"], "count": 5, "backups": 0}])
    preview = protocol.preview(s.session, request_id=request_id, config=s.config, now=s.clock.now)
    assert preview.excluded["avoidance_conflict"] == 1


def test_staff_of_the_supervising_department_now_or_inside_the_window_are_barred(
    setup: Setup,
) -> None:
    s = setup
    ids = add_experts(s.app, 4)
    department = project_of(s).department
    assert department is not None
    department.credit_code = DEPARTMENT_CODE
    s.session.get(Expert, ids[0]).employer_code = DEPARTMENT_CODE
    for expert_id, ended in ((ids[1], date(2025, 1, 1)), (ids[2], date(2020, 1, 1))):
        s.session.add(
            ExpertEmployment(
                expert_id=expert_id,
                org_code=DEPARTMENT_CODE,
                org_name="某局",
                start_on=date(2010, 1, 1),
                end_on=ended,
            )
        )
    s.session.commit()
    pool = _pool(s)
    statuses = [pool[expert_key(i)].status for i in ids]
    assert statuses == ["conflict", "conflict", "active", "active"]  # 2020 is outside 3 years


def test_people_who_worked_on_the_planning_or_design_are_barred_by_id_number(
    setup: Setup,
) -> None:
    s = setup
    ids = add_experts(s.app, 2)
    numbers = _give_ids(s, ids)
    people.record_person(
        s.session,
        cipher=_cipher(s),
        actor="staff",
        project_id=s.project_id,
        role="design",
        id_number=numbers[ids[1]],
    )
    pool = _pool(s)
    assert [pool[expert_key(i)].status for i in ids] == ["active", "conflict"]


def test_a_renamed_organisation_is_still_caught_by_its_credit_code(setup: Setup) -> None:
    s = setup
    renamed = credit_code(77)
    org = Organisation(credit_code=renamed, name="广州新名称有限公司", is_employer=True)
    org.names.append(OrganisationName(name="广州旧名称有限公司"))
    s.session.add(org)
    ids = add_experts(s.app, 6)
    s.session.add(
        ExpertEmployment(
            expert_id=ids[0],
            org_code=renamed,
            org_name="广州旧名称有限公司",  # the name it had when the expert worked there
            start_on=date(2015, 1, 1),
            end_on=date(2025, 6, 30),
        )
    )
    s.session.commit()
    projects.add_bidder(
        s.session,
        actor="test",
        project_id=s.project_id,
        credit_code=renamed,
        name="广州新名称有限公司",
    )
    pool = _pool(s)
    assert renamed in pool[expert_key(ids[0])].avoid_orgs
    request_id = s.request(groups=[{"specialties": ["A01"], "count": 5, "backups": 0}])
    preview = protocol.preview(s.session, request_id=request_id, config=s.config, now=s.clock.now)
    assert preview.excluded["avoidance_conflict"] == 1


def test_the_typed_reasons_are_sealed_with_the_draw_never_in_the_snapshot(setup: Setup) -> None:
    s = setup
    ids = add_experts(s.app, 8)
    numbers = _give_ids(s, ids)
    department = project_of(s).department
    assert department is not None
    department.credit_code = DEPARTMENT_CODE
    s.session.get(Expert, ids[0]).employer_code = DEPARTMENT_CODE
    _relate(s, ids[1], _id(950))
    s.session.commit()
    cipher = _cipher(s)
    people.record_person(
        s.session,
        cipher=cipher,
        actor="staff",
        project_id=s.project_id,
        role="planning",
        id_number=numbers[ids[2]],
    )
    people.record_person(
        s.session,
        cipher=cipher,
        actor="staff",
        project_id=s.project_id,
        role="director",
        id_number=_id(950),
        bidder_id=_bidder(s, BIDDERS[1]).id,
    )
    d = s.full_draw(groups=[{"specialties": ["A01"], "count": 5, "backups": 0}])
    assert d.status.value == "sealed", d.reason
    assert sealing.open_conflicts(d, s.keys) == {
        str(ids[0]): [DEPARTMENT_STAFF],
        str(ids[1]): [RELATIVE_OF_PRINCIPAL],
        str(ids[2]): [PLANNING_OR_DESIGN],
    }
    snapshot = sealing.open_snapshot(d, s.keys)
    for reason in (DEPARTMENT_STAFF, RELATIVE_OF_PRINCIPAL, PLANNING_OR_DESIGN):
        assert reason.encode() not in snapshot  # compressed JSON; its text holds only "conflict"
    drawn = set(sealing.open_result(d, s.keys).group("g1").primaries)
    assert not drawn & {expert_key(i) for i in ids[:3]}
    assert d.conflicts_enc is not None and str(ids[0]).encode() + b'"' not in d.conflicts_enc


def test_two_related_experts_never_both_serve_the_lower_ranked_is_replaced(setup: Setup) -> None:
    s = setup
    ids = add_experts(s.app, 6)
    numbers = _give_ids(s, ids)
    # three related pairs among six experts: five primaries hold at least two whole pairs, and
    # the one backup is related to a primary
    for a, b in ((0, 1), (2, 3), (4, 5)):
        _relate(s, ids[a], numbers[ids[b]])
    d = s.full_draw(groups=[{"specialties": ["A01"], "count": 5, "backups": 1}])
    assert d.status.value == "sealed", d.reason
    result = sealing.open_result(d, s.keys)
    primaries = [int(e) for e in result.group("g1").primaries]
    rows = list(s.session.execute(select(DrawInvitee).where(DrawInvitee.draw_pk == d.id)).scalars())
    by_token = ExpertTokens(s.keys).tokens(ids)
    holding = [by_token[r.expert_token] for r in rows if r.status.is_holding]
    vacated = [by_token[r.expert_token] for r in rows if r.reason == "conflict"]
    assert len(vacated) >= 2
    pairs = related_pairs(s.session, ids)
    assert not any(frozenset(p) in pairs for p in combinations(holding, 2))
    for expert in vacated:  # each vacated primary ranks below its related, kept partner
        partner = next(o for o in ids if frozenset((expert, o)) in pairs)
        assert primaries.index(partner) < primaries.index(expert)
    # the backup is related to a seat holder: skipped and logged, never invited
    backup = int(result.group("g1").backups[0])
    assert backup not in holding
    exhausted = (
        s.session.execute(
            select(AuditEntry.after).where(AuditEntry.action == "draw.backups_exhausted")
        )
        .scalars()
        .all()
    )
    assert [json.loads(a)["reasons"] for a in exhausted] == [["conflict"]] * len(exhausted)
    assert exhausted  # the related backup was the group's only one
    assert all(
        r.status is not InviteeStatus.INVITED or by_token[r.expert_token] != backup for r in rows
    )


def test_staff_record_a_principal_on_the_project_page_and_bad_input_saves_nothing(
    setup: Setup, login: Any
) -> None:
    s = setup
    client = login(s.app.test_client(), s.operator)
    path = f"/projects/{s.project_id}"
    bidder = _bidder(s, BIDDERS[0])
    bad = client.post(
        f"{path}/people",
        data={"csrf_token": csrf_token(client, path), "role": "director", "id_number": "1"},
    )
    assert bad.status_code == 422
    assert s.session.execute(select(ProjectPerson)).first() is None
    number = _id(321)
    ok = client.post(
        f"{path}/people",
        data={
            "csrf_token": csrf_token(client, path),
            "role": "director",
            "bidder": str(bidder.id),
            "id_number": number,
        },
    )
    assert ok.status_code == 302
    row = s.session.execute(select(ProjectPerson)).scalar_one()
    assert (row.bidder_id, row.role.value) == (bidder.id, "director")
    assert number.encode() not in client.get(path).data
