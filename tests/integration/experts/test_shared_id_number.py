"""An ID number another record holds: the submitter is told nothing, the reviewer sees it.

Registration must not be an oracle of who is in the pool: saving a draft with an ID number that
already belongs to someone answers exactly as with a fresh number (page, API, service, database),
and only reviewers see "this ID number also belongs to record #N"; approving a second record of
a person already in the pool is refused.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from expertpool.accounts import users
from expertpool.core.errors import ValidationFailed
from expertpool.experts import applications, identity, records, review
from expertpool.experts.models import Expert, ExpertStatus
from tests.conftest import csrf_token
from tests.integration.experts.conftest import valid_input

pytestmark = pytest.mark.integration

FRESH = identity.make_id_number("440103", date(1971, 4, 2), 321)


def _bearer(db_session: Any, user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {users.issue_token(db_session, user, 1)[0]}"}


def _id_of(db_session: Any, cipher: Any, expert: Expert) -> str:
    return records.clear_pii(expert, cipher)["id_number"]


def test_saving_a_draft_with_a_taken_id_number_answers_as_with_a_fresh_one(
    db_session: Any, applicant: Any, make_user: Any, cipher: Any, cfg: Any
) -> None:
    _, first = applicant()
    review.decide(
        db_session, reviewer=make_user(role="reviewer"), expert_id=first.id, decision="approve"
    )
    taken = _id_of(db_session, cipher, first)
    outcomes = []
    for number in (taken, FRESH):
        user = make_user(role="expert")
        draft = applications.ensure_record(db_session, user)
        saved = applications.save_draft(
            db_session,
            cipher=cipher,
            config=cfg,
            actor=user,
            expert_id=draft.id,
            data=valid_input(60, id_number=number),
        )
        outcomes.append((saved.status, saved.version, _id_of(db_session, cipher, saved) == number))
    assert outcomes[0] == outcomes[1] == (ExpertStatus.DRAFT, 2, True)


def test_the_api_and_the_page_give_the_same_answer_for_a_taken_and_a_fresh_number(
    app: Any, db_session: Any, applicant: Any, make_user: Any, cipher: Any, login: Any
) -> None:
    _, first = applicant()
    taken = _id_of(db_session, cipher, first)
    api_answers = []
    for number in (taken, FRESH):
        me = _bearer(db_session, make_user(role="expert"))
        resp = app.test_client().put(
            "/api/experts/me", json=valid_input(61, id_number=number), headers=me
        )
        body = resp.get_json()
        api_answers.append((resp.status_code, sorted(body), body["status"], body["id_number"]))
    assert api_answers[0][:3] == api_answers[1][:3]
    assert api_answers[0][0] == 200 and api_answers[0][3] == taken

    page_answers = []
    for number in (taken, FRESH):
        client = login(app.test_client(), make_user(role="expert"))
        token = csrf_token(client, "/experts/me")
        resp = client.post(
            "/experts/me",
            data={"csrf_token": token, "action": "save", "name": "王五", "id_number": number},
        )
        after = client.get("/experts/me").get_data(as_text=True)
        page_answers.append(
            (resp.status_code, resp.headers.get("Location"), "flash success" in after)
        )
        assert "already" not in after and f"#{first.id}" not in after
    assert page_answers[0] == page_answers[1] == (302, "/experts/me", True)


def test_reviewers_see_that_the_id_number_also_belongs_to_another_record(
    app: Any, db_session: Any, applicant: Any, make_user: Any, cipher: Any, login: Any
) -> None:
    _, first = applicant()
    taken = _id_of(db_session, cipher, first)
    _, second = applicant(id_number=taken)
    _, unrelated = applicant()

    reviewer = login(app.test_client(), make_user(role="reviewer"))
    page = reviewer.get(f"/experts/{second.id}").get_data(as_text=True)
    assert 'data-testid="shared-id-number"' in page
    assert (
        f"#{first.id}" in page
    )  # 该身份证号同时属于记录 #N (the page speaks the visitor's language)
    assert f'data-shared-record="{first.id}"' in page
    assert 'data-testid="shared-id-number"' not in reviewer.get(
        f"/experts/{unrelated.id}"
    ).get_data(as_text=True)

    queue = reviewer.get("/experts/review").get_data(as_text=True)
    assert f'data-shared="{second.id}"' in queue and f'data-shared="{first.id}"' in queue
    api = app.test_client().get(
        "/api/experts/review-queue", headers=_bearer(db_session, make_user("reviewer"))
    )
    flags = {item["id"]: item["id_number_also_on"] for item in api.get_json()["items"]}
    assert flags[second.id] == [first.id] and flags[first.id] == [second.id]
    assert flags[unrelated.id] == []

    # Centre staff and supervisors read records too, but the match is the reviewers' business.
    for role in ("centre_staff", "supervisor"):
        other = login(app.test_client(), make_user(role=role))
        assert "shared-id-number" not in other.get(f"/experts/{second.id}").get_data(as_text=True)


def test_a_second_record_of_someone_in_the_pool_cannot_be_approved_but_can_be_rejected(
    app: Any, db_session: Any, applicant: Any, make_user: Any, cipher: Any, login: Any
) -> None:
    _, first = applicant()
    reviewer = make_user(role="reviewer")
    review.decide(db_session, reviewer=reviewer, expert_id=first.id, decision="approve")
    _, second = applicant(id_number=_id_of(db_session, cipher, first))

    with pytest.raises(ValidationFailed) as info:
        review.decide(db_session, reviewer=reviewer, expert_id=second.id, decision="approve")
    assert f"record #{first.id}" in info.value.fields["decision"]
    db_session.expire_all()
    assert db_session.get(Expert, second.id).status is ExpertStatus.SUBMITTED

    client = login(app.test_client(), reviewer)
    token = csrf_token(client, f"/experts/{second.id}")
    resp = client.post(
        f"/experts/{second.id}",
        data={"csrf_token": token, "action": "approve", "version": second.version},
    )
    assert resp.status_code == 422
    assert f"记录 #{first.id}" in resp.get_data(as_text=True)

    review.decide(
        db_session,
        reviewer=reviewer,
        expert_id=second.id,
        decision="reject",
        opinion="重复申请",
    )
    assert db_session.get(Expert, second.id).status is ExpertStatus.REJECTED


def test_two_pending_applications_of_one_number_the_first_approved_blocks_the_other(
    db_session: Any, applicant: Any, make_user: Any, cipher: Any
) -> None:
    _, first = applicant()
    _, second = applicant(id_number=_id_of(db_session, cipher, first))
    reviewer = make_user(role="reviewer")
    review.decide(db_session, reviewer=reviewer, expert_id=second.id, decision="approve")
    with pytest.raises(ValidationFailed):
        review.decide(db_session, reviewer=reviewer, expert_id=first.id, decision="approve")
    assert records.find_by_id_number(db_session, cipher, _id_of(db_session, cipher, first)) in (
        first,
        second,
    )
