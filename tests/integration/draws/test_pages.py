"""The draw pages at a terminal, the CLI, and the promise that nobody sees names before opening."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

import draw
from expertpool.cli import cli
from expertpool.draws import panels, sealing
from expertpool.draws import protocol as draws
from expertpool.draws.models import DrawInvitee, DrawRequestRecord
from expertpool.projects import terminals
from tests.conftest import PASSWORD, csrf_token, login_client
from tests.integration.draws.conftest import (
    EVALUATION,
    Setup,
    add_experts,
    expert_name,
    expert_phone,
)

pytestmark = pytest.mark.integration


class RecordingClient:
    """A test client that keeps every response body it receives."""

    def __init__(self, client: FlaskClient, seen: list[str]) -> None:
        self.client = client
        self.seen = seen

    def get(self, url: str) -> Any:
        """GET and record."""
        resp = self.client.get(url)
        self.seen.append(resp.get_data(as_text=True))
        return resp

    def post(self, url: str, data: dict[str, str]) -> Any:
        """POST a form with the CSRF token of `url`'s page and record."""
        page = self.client.get(
            url
            if not url.endswith(
                ("/run", "/abandon", "/open", "/operator", "/supervisor", "/prepare")
            )
            else "/draws"
        )
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
        assert token
        resp = self.client.post(url, data={"csrf_token": token.group(1), **data})
        self.seen.append(resp.get_data(as_text=True))
        return resp


def _clients(setup: Setup, seen: list[str]) -> tuple[RecordingClient, RecordingClient]:
    staff = setup.app.test_client()
    login_client(staff, setup.operator)
    staff.set_cookie(terminals.COOKIE, setup.terminal_token)
    supervisor = setup.app.test_client()
    login_client(supervisor, setup.supervisor)
    return RecordingClient(staff, seen), RecordingClient(supervisor, seen)


def _draw_pages(client: RecordingClient, d: Any) -> None:
    for url in (
        "/draws",
        f"/draws/{d.draw_id}",
        f"/draw-requests/{d.request_id}",
        f"/draw-requests/{d.request_id}/preview",
        f"/projects/{d.project_id}",
        "/projects",
        f"/api/draw-requests/{d.request_id}",
        f"/api/projects/{d.project_id}",
    ):
        client.get(url)


def test_staff_and_supervisors_see_no_drawn_name_phone_or_id_before_opening(setup: Setup) -> None:
    ids = add_experts(setup.app, 12)
    seen: list[str] = []
    staff, supervisor = _clients(setup, seen)
    rid = setup.request()
    assert staff.post(f"/draw-requests/{rid}/prepare", {}).status_code == 302
    d = draws.draw_for_request(setup.session, rid)
    assert d is not None
    staff.post(f"/draws/{d.draw_id}/witness/operator", {"digits": "123456"})
    staff.post(
        f"/draws/{d.draw_id}/witness/supervisor",
        {"username": setup.supervisor.username, "password": PASSWORD, "digits": "987654"},
    )
    assert staff.post(f"/draws/{d.draw_id}/run", {}).status_code == 302
    setup.session.expire_all()
    assert draws.get_draw(setup.session, d.draw_id).status.value == "sealed"
    # Answers and replacements happen meanwhile.
    result = sealing.open_result(draws.get_draw(setup.session, d.draw_id), setup.keys)
    panels.record_answer(
        setup.session,
        draw_id=d.draw_id,
        expert_id=int(result.groups[0].primaries[0]),
        answer="accepted",
        ctx=setup.notify_ctx,
        now=setup.clock.now,
    )
    panels.record_answer(
        setup.session,
        draw_id=d.draw_id,
        expert_id=int(result.groups[0].primaries[1]),
        answer="declined",
        ctx=setup.notify_ctx,
        now=setup.clock.now,
    )
    for client in (staff, supervisor):
        _draw_pages(client, d)
        assert client.get(f"/draws/{d.draw_id}/panel").status_code == 403
        assert client.get(f"/draws/{d.draw_id}/transcript.json").status_code == 403
    page = staff.get(f"/draws/{d.draw_id}").get_data(as_text=True)
    assert "1/5" in page and draws.commit_digest(d) in page
    drawn = {int(e) for g in result.groups for e in (*g.primaries, *g.backups)}
    everything = "\n".join(seen)
    for n, expert_id in enumerate(ids, start=1):
        assert expert_name(n) not in everything and expert_phone(n) not in everything
        if expert_id in drawn:
            assert (
                f'"expert_id": {expert_id}' not in everything
                and f"/experts/{expert_id}" not in everything
            )
    # After opening the supervisor does see the names: the check above could fail.
    setup.clock.now = EVALUATION
    assert (
        staff.post(
            f"/draws/{d.draw_id}/open",
            {"username": setup.supervisor.username, "password": PASSWORD},
        ).status_code
        == 302
    )
    panel, _, check = (
        supervisor.get(f"/draws/{d.draw_id}/panel")
        .get_data(as_text=True)
        .partition('data-testid="opened-check"')
    )
    assert sum(expert_name(n) in panel for n in range(1, 13)) == 6  # the invitees
    assert sum(expert_name(n) in check for n in range(1, 13)) == 8  # the result: 5 drawn, 3 backups
    host = staff.get(f"/draws/{d.draw_id}/panel").get_data(as_text=True)
    assert (
        sum(expert_name(n) in host for n in range(1, 13)) == 1
    )  # only the one seated at the venue
    body = supervisor.get(f"/draws/{d.draw_id}/transcript.json")
    assert body.status_code == 200 and draw.verify_transcript(json.loads(body.data)) == []


def test_a_wrong_supervisor_password_at_the_terminal_is_shown_and_recorded(setup: Setup) -> None:
    from sqlalchemy import select

    from expertpool.core.models import AuditEntry

    add_experts(setup.app, 9)
    seen: list[str] = []
    staff, _ = _clients(setup, seen)
    rid = setup.request()
    staff.post(f"/draw-requests/{rid}/prepare", {})
    d = draws.draw_for_request(setup.session, rid)
    resp = staff.post(
        f"/draws/{d.draw_id}/witness/supervisor",
        {"username": setup.supervisor.username, "password": "nope", "digits": "987654"},
    )
    assert resp.status_code == 403 and "监督人员用户名或密码错误" in resp.get_data(as_text=True)
    actions = setup.session.execute(select(AuditEntry.action)).scalars().all()
    assert "draw.supervisor_refused" in actions


def test_preparing_without_a_terminal_is_refused(setup: Setup) -> None:
    add_experts(setup.app, 9)
    client = setup.app.test_client()
    login_client(client, setup.operator)
    rid = setup.request()
    token = csrf_token(client, "/draws")
    resp = client.post(f"/draw-requests/{rid}/prepare", data={"csrf_token": token})
    assert resp.status_code == 403
    assert setup.session.get(DrawRequestRecord, rid).status.value == "validated"


def test_the_preview_page_explains_an_infeasible_request_with_numbers(setup: Setup) -> None:
    add_experts(setup.app, 6)
    seen: list[str] = []
    staff, _ = _clients(setup, seen)
    rid = setup.request(groups=[{"specialties": ["A01"], "count": 7, "backups": 0}])
    page = staff.get(f"/draw-requests/{rid}/preview").get_data(as_text=True)
    assert "group g1 needs 7 experts but only 6 are eligible" in page
    assert 'data-testid="prepare"' not in page


def test_the_cli_lists_exports_a_verifiable_transcript_and_checks_the_ledger(
    setup: Setup, tmp_path: Any
) -> None:
    add_experts(setup.app, 9)
    d = setup.full_draw()
    runner = setup.app.test_cli_runner()
    listed = runner.invoke(cli, ["draws", "list"])
    assert listed.exit_code == 0 and listed.output.split()[0] == d.draw_id
    refused = runner.invoke(cli, ["draws", "export", d.draw_id])
    assert refused.exit_code == 1
    setup.clock.now = EVALUATION - timedelta(minutes=5)
    draws.open_draw(
        setup.session,
        draw_id=d.draw_id,
        actor=setup.operator,
        supervisor_username=setup.supervisor.username,
        supervisor_password=PASSWORD,
        keys=setup.keys,
        now=setup.clock.now,
    )
    out = runner.invoke(cli, ["draws", "export", d.draw_id])
    assert out.exit_code == 0
    doc = json.loads(out.output)
    assert draw.verify_transcript(doc, setup.keys.draw_public_keys()[d.key_id]) == []
    ledger = runner.invoke(cli, ["draws", "verify-ledger"])
    assert ledger.exit_code == 0 and "intact" in ledger.output
    invitees = setup.session.query(DrawInvitee).count()
    assert invitees == 5
