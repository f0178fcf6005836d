"""Transcripts, the outbox, invitation progress and the ID-number check: no side channel."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

import draw
from expertpool.cli import cli
from expertpool.experts.identity import make_id_number
from expertpool.projects import projects
from tests.conftest import PASSWORD, csrf_token
from tests.integration.draws.conftest import BIDDERS
from tests.integration.sealing.conftest import World, probe_id_number, token_client
from tests.integration.sealing.leaks import find_leaks, summarise

pytestmark = pytest.mark.integration


def _transcript(world: World, draw_id: str, who: str = "supervisor") -> tuple[int, bytes]:
    resp = world.client(who).get(f"/draws/{draw_id}/transcript.json")
    return resp.status_code, resp.data


def test_a_transcript_waits_until_every_draw_that_shaped_its_candidates_is_closed(
    world: World,
) -> None:
    # Draw A books seats; draw B, in an overlapping window, finds those experts unavailable.
    world.terminal_draw(world.request())
    world.dispatch()
    assert world.accepted()
    project_b = world.new_project(start=world.evaluation)
    b = world.terminal_draw(world.request(project_b))
    runner = world.app.test_cli_runner()

    # Before opening: refused by the page and by the command line.
    assert _transcript(world, b)[0] in (403, 404, 409)
    assert runner.invoke(cli, ["draws", "export", b]).exit_code != 0

    # B is opened while A is still sealed: B's transcript would list who A made unavailable.
    world.open_draw(b, project_b)
    for who in ("supervisor", "admin"):
        status, body = _transcript(world, b, who)
        assert status in (403, 404, 409), (
            f"{who} got B's transcript ({status}) while draw A is sealed: "
            + "; ".join(find_leaks(body.decode("utf-8", "replace"), world.markers())[:5])
        )
    assert runner.invoke(cli, ["draws", "export", b]).exit_code != 0

    # A's project is awarded: B's transcript is released and verifies.
    projects.mark_awarded(
        world.session,
        actor="test",
        project_id=world.setup.project_id,
        awarded_on=world.evaluation.date().isoformat(),
        winner_code=BIDDERS[0],
        now=world.clock.now + timedelta(hours=8),
    )
    status, body = _transcript(world, b)
    assert status == 200
    published = set(world.app.extensions["expertpool"].keys.draw_public_keys().values())
    doc = json.loads(body)
    assert doc["public_key"] in published and draw.verify_transcript(doc, doc["public_key"]) == []


def test_the_outbox_shows_no_text_recipient_or_link_with_a_real_provider(world: World) -> None:
    world.terminal_draw(world.request())
    world.dispatch()
    admin = world.client("admin")
    page = admin.get("/admin/outbox")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    problems = [f"/admin/outbox: {h}" for h in find_leaks(body, world.markers())]
    for text in world.sms_bodies():
        for line in filter(None, (s.strip() for s in text.split("。"))):
            if len(line) >= 12 and line in body:
                problems.append(f"/admin/outbox shows the text {line!r}")
    assert not problems, summarise(problems)


def test_the_console_simulation_does_not_exist_with_a_real_provider(world: World) -> None:
    world.terminal_draw(world.request())
    world.dispatch()
    admin = world.client("admin")
    message_ids = world.ids("outbox_message")
    assert message_ids
    token = csrf_token(admin, "/dashboard")
    resp = admin.post(
        f"/admin/outbox/{message_ids[0]}/simulate", data={"csrf_token": token, "action": "1"}
    )
    assert resp.status_code == 404


def test_invitation_progress_is_not_found_for_staff_of_another_centre(world: World) -> None:
    draw_id = world.terminal_draw(world.request())
    world.dispatch()
    own = world.client("operator", terminal=True).get(f"/draws/{draw_id}/progress")
    assert own.status_code == 200
    other = world.client("staff (other centre)").get(f"/draws/{draw_id}/progress")
    assert other.status_code == 404, other.status_code


def _register(world: World, username: str) -> None:
    client = world.app.test_client()
    resp = client.post(
        "/experts/register",
        data={
            "csrf_token": csrf_token(client, "/experts/register"),
            "username": username,
            "password": PASSWORD,
            "display_name": username,
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]


def test_the_id_number_check_answers_the_same_whether_or_not_the_number_is_in_the_pool(
    world: World,
) -> None:
    taken = probe_id_number(1)
    fresh = make_id_number("440106", date(1981, 2, 3), 7)
    answers = {}
    for label, number in (("in the pool", taken), ("not in the pool", fresh)):
        username = f"applicant-{label.replace(' ', '-')}"
        _register(world, username)
        api = token_client(world.app, username)
        resp = api.put("/api/experts/me", json={"id_number": number})
        error = (resp.get_json() or {}).get("error") or {}
        answers[label] = (resp.status_code, error.get("code"), error.get("fields", {}))
    assert answers["in the pool"] == answers["not in the pool"], answers
    for body in ("该身份证号已在专家库中", "already in the pool"):
        assert all(body not in str(a) for a in answers.values())
