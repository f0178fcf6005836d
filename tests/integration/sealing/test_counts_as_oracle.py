"""Counts as an oracle: what staff see of a new request must not depend on another sealed draw.

Two projects of the same centre differ only in their evaluation window: one overlaps the sealed
draw's window (whose accepted experts hold seats), the other does not. Identical requests for both
must show identical previews to every role that may read them, whatever the request narrows to
(one city, a bidder who employs an accepted expert, more experts than the pool has, a frequency
cap). A direct appointment's approval must answer the same whether the expert holds a sealed seat.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from tests.integration.draws.conftest import BIDDERS
from tests.integration.sealing.conftest import DURATION, World, token_client
from tests.integration.sealing.leaks import normalise_page

pytestmark = pytest.mark.integration

READERS = ("operator", "staff (same centre)", "supervisor (not witness)", "admin")
REASON = "涉密项目，招标人依法直接确定具备保密资质的专家"


def _preview(client: FlaskClient, request_id: int) -> str:
    """The preview page without what names the request itself (its id, the CSRF token)."""
    resp = client.get(f"/draw-requests/{request_id}/preview")
    assert resp.status_code == 200, resp.status_code
    body = normalise_page(resp.get_data(as_text=True))
    body = re.sub(r"/draw-requests/\d+", "/draw-requests/<id>", body)
    return re.sub(r"#\d+", "#<id>", body)


def _previews(world: World, request_id: int) -> dict[str, str]:
    return {who: _preview(world.client(who, terminal=True), request_id) for who in READERS}


def _differences(a: dict[str, str], b: dict[str, str]) -> list[str]:
    out = []
    for who in a:
        if a[who] != b[who]:
            left = set(a[who].splitlines()) - set(b[who].splitlines())
            right = set(b[who].splitlines()) - set(a[who].splitlines())
            out.append(f"as {who}: {sorted(left)[:6]} vs {sorted(right)[:6]}")
    return out


@pytest.fixture()
def two_projects(world: World) -> tuple[int, int]:
    """A project whose window overlaps the sealed draw's, and one later the same day."""
    start = world.evaluation
    overlapping = world.new_project(start=start)
    later = world.new_project(start=start + DURATION + timedelta(hours=1))
    return overlapping, later


def _sealed_draw(world: World) -> None:
    world.terminal_draw(world.request())
    world.dispatch()
    assert len(world.accepted()) >= 3, "accepted experts must hold seats"


def test_previews_of_identical_requests_do_not_tell_which_window_holds_sealed_seats(
    world: World, two_projects: tuple[int, int]
) -> None:
    overlapping, later = two_projects
    plain = (world.request(overlapping), world.request(later))
    capped = world.request(later, max_recent_draws=1)
    before = {rid: _previews(world, rid) for rid in (*plain, capped)}
    assert (
        _differences(before[plain[0]], before[plain[1]]) == []
    )  # the oracle compares like with like

    _sealed_draw(world)
    problems = []
    after = {rid: _previews(world, rid) for rid in (*plain, capped)}
    problems += [
        f"overlapping vs later: {d}" for d in _differences(after[plain[0]], after[plain[1]])
    ]
    for rid in (*plain, capped):
        problems += [
            f"request {rid} before vs after the draw: {d}"
            for d in _differences(before[rid], after[rid])
        ]
    assert not problems, "\n".join(problems)


def test_a_request_narrowed_to_the_city_of_an_accepted_expert_previews_the_same_in_both_windows(
    world: World, two_projects: tuple[int, int]
) -> None:
    overlapping, later = two_projects
    _sealed_draw(world)
    city = world.accepted()[0].region
    narrowed = [world.request(pid, regions_in=[city]) for pid in (overlapping, later)]
    problems = _differences(_previews(world, narrowed[0]), _previews(world, narrowed[1]))
    assert not problems, "\n".join(problems)


def test_a_bidder_employing_an_accepted_expert_previews_the_same_in_both_windows(
    world: World,
) -> None:
    _sealed_draw(world)
    employer = world.accepted()[0].employer
    start = world.evaluation
    projects = [
        world.new_project(start=start, bidders=(*BIDDERS, employer)),
        world.new_project(
            start=start + DURATION + timedelta(hours=1), bidders=(*BIDDERS, employer)
        ),
    ]
    requests = [world.request(pid) for pid in projects]
    problems = _differences(_previews(world, requests[0]), _previews(world, requests[1]))
    assert not problems, "\n".join(problems)


def test_an_insufficient_pool_is_reported_with_the_same_numbers_in_both_windows(
    world: World, two_projects: tuple[int, int]
) -> None:
    overlapping, later = two_projects
    _sealed_draw(world)
    groups = [{"specialties": ["A01"], "count": len(world.probes) + 1, "backups": 0}]
    too_many = [world.request(pid, groups=groups) for pid in (overlapping, later)]
    a, b = _previews(world, too_many[0]), _previews(world, too_many[1])
    assert "eligible" in a["operator"]  # the preview does explain the shortage
    problems = _differences(a, b)
    assert not problems, "\n".join(problems)


def _decide(world: World, appointment_id: int, project_id: int) -> tuple[Any, ...]:
    """A supervisor approves; the answer as the supervisor sees it (status, flashes, page)."""
    client = world.client("supervisor (not witness)")
    resp = world.post_form(
        client,
        f"/appointments/{appointment_id}/decide",
        {"decision": "approve", "note": "同意"},
        page=f"/projects/{project_id}/appointments",
    )
    with client.session_transaction() as sess:
        flashes = list(sess.get("_flashes", []))
    body = re.sub(r"\d+", "N", normalise_page(resp.get_data(as_text=True)))
    return resp.status_code, flashes, body


def test_approving_a_direct_appointment_answers_the_same_whether_the_expert_holds_a_sealed_seat(
    world: World,
) -> None:
    from expertpool.projects import appointments

    _sealed_draw(world)
    booked, free = world.accepted()[0], world.outsiders()[0]
    answers = []
    for probe in (booked, free):
        project_id = world.new_project(start=world.evaluation, kind="works", special=True)
        row = appointments.request_appointment(
            world.session,
            actor=world.users["staff (same centre)"],
            project_id=project_id,
            expert_id=probe.id,
            reason=REASON,
            now=world.clock.now,
            keys=world.app.extensions["expertpool"].keys,
        )
        answers.append(_decide(world, row.id, project_id))
    assert answers[0] == answers[1], (
        f"a booked expert: {answers[0][:2]}; a free one: {answers[1][:2]}"
    )


STATISTICS_READERS = (
    "operator",
    "supervisor",
    "staff (same centre)",
    "staff (other centre)",
    "supervisor (not witness)",
    "admin",
)


def _statistics(world: World) -> dict[str, str]:
    """Every statistics page, figure (JSON and Excel) and shortage list, as each reader sees it."""
    seen = {}
    for who in STATISTICS_READERS:
        client = world.client(who)
        api = token_client(world.app, world.users[who].username)
        parts = []
        keys = api.get("/api/v1/statistics/figures").get_json()["items"]
        assert keys, who
        for key in keys:
            parts.append(api.get(f"/api/v1/statistics/figures/{key}").get_data(as_text=True))
            sheet = load_workbook(io.BytesIO(client.get(f"/statistics/{key}.xlsx").data)).active
            parts.append(repr(list(sheet.iter_rows(values_only=True))))
        for url in (
            "/statistics/",
            "/statistics/shortages",
            "/statistics/signals",
            "/statistics/sessions",
            *(f"/api/v1/statistics/signals/{kind}" for kind in ("expert-tenderer", "favour")),
        ):
            resp = client.get(url)
            parts.append(f"{resp.status_code} {normalise_page(resp.get_data(as_text=True))}")
        seen[who] = "\n".join(parts)
    return seen


def test_statistics_do_not_move_with_a_sealed_draw_its_answers_or_seats(world: World) -> None:
    before = _statistics(world)
    _sealed_draw(world)
    assert _differences(before, _statistics(world)) == []
