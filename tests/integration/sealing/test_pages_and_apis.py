"""Every page and API, every role, by session and by token: no invitee named before opening."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.sealing.conftest import World
from tests.integration.sealing.leaks import (
    find_leaks,
    get_urls,
    markers_of,
    summarise,
    walk,
    walk_leaks,
)

pytestmark = pytest.mark.integration


def _allowed(world: World, expert_id: int) -> Callable[[str, str], set[int]]:
    tokens = world.link_tokens()

    def allowed(label: str, url: str) -> set[int]:
        ok: set[int] = set()
        if label.startswith("expert (invited)"):
            ok.add(expert_id)  # the expert's own record and own invitation
        if url.startswith("/i/"):
            owner = tokens.get(url[3:].split("?")[0])
            if owner is not None:
                ok |= {owner, 0}  # whoever holds the link sees that invitation
        return ok

    return allowed


def test_no_page_or_api_names_an_invitee_to_any_role_between_the_draw_and_the_opening(
    world: World,
) -> None:
    staff_clients = world.role_clients()
    before_urls = get_urls(world.app, world.path_values(), world.extra_urls())
    baseline = walk(staff_clients, before_urls)
    # The markers are found where they should be: the pool pages name every expert.
    assert any(
        find_leaks(r.body, markers_of(world.probes))
        for (label, url), r in baseline.items()
        if label.startswith("reviewer") and url.startswith(("/experts/", "/api/experts/"))
    ), "no pool page names a probe: the leak markers would never match"

    world.terminal_draw(world.request())
    world.dispatch()
    invited, outsiders = world.invitees(), world.outsiders()
    assert world.accepted() and outsiders, "the scripted answers must book seats and leave some out"
    me = world.accepted()[0]
    clients = {
        **staff_clients,
        **world.role_clients(expert=me, bystander=outsiders[0]),
    }
    urls = get_urls(world.app, world.path_values(), world.extra_urls())
    after = walk(clients, urls)
    problems = walk_leaks(after, world.markers(), baseline=baseline, allowed=_allowed(world, me.id))
    assert not problems, summarise(problems)
    # The invited expert's own pages do name them (their answer link is used up once they
    # answered): the check above could fail.
    assert any(
        me.name in r.body
        for (label, _url), r in after.items()
        if label.startswith("expert (invited)")
    )
    assert len(invited) >= 7  # five primaries, a decline and a silence: two backups called


def test_after_opening_the_session_supervisor_sees_the_members_by_name_and_the_host_its_seats(
    world: World,
) -> None:
    draw_id = world.terminal_draw(world.request())
    world.dispatch()
    accepted = world.accepted()
    world.open_draw(draw_id)
    supervisor = world.client("supervisor")
    panel = supervisor.get(f"/draws/{draw_id}/panel")
    assert panel.status_code == 200
    names = [p for p in accepted if p.name in panel.get_data(as_text=True)]
    assert len(names) >= 1, "the session supervisor sees the members by name after opening"
    host = world.client("operator", terminal=True).get(f"/draws/{draw_id}/panel")
    assert host.status_code == 200
    # Still nobody outside the session: staff of another centre see no member.
    other = world.client("staff (other centre)").get(f"/draws/{draw_id}/panel")
    assert not find_leaks(other.get_data(as_text=True), markers_of(accepted))


def test_a_postponement_before_opening_names_no_invitee_on_any_page_or_api(
    world: World,
) -> None:
    """The outcome pages and messages follow the rule: the panel's experts are told the new time
    by SMS only, and nothing else says who they are.
    """
    from datetime import timedelta

    from expertpool.core.calendar import CST

    staff_clients = world.role_clients()
    baseline = walk(staff_clients, get_urls(world.app, world.path_values(), world.extra_urls()))
    world.terminal_draw(world.request())
    world.dispatch()
    me, outsiders = world.accepted()[0], world.outsiders()
    pid = world.setup.project_id
    later = (world.evaluation + timedelta(days=1)).astimezone(CST)
    operator = world.client("operator")
    resp = world.post_form(
        operator,
        f"/projects/{pid}/postpone",
        {"evaluation_start": f"{later:%Y-%m-%dT14:00}", "reason": "招标文件澄清，开标顺延"},
        page=f"/projects/{pid}",
    )
    assert resp.status_code == 302
    world.dispatch()
    assert any("评标改期" in body for body in world.sms_bodies())
    clients = {**staff_clients, **world.role_clients(expert=me, bystander=outsiders[0])}
    after = walk(clients, get_urls(world.app, world.path_values(), world.extra_urls()))
    problems = walk_leaks(after, world.markers(), baseline=baseline, allowed=_allowed(world, me.id))
    assert not problems, summarise(problems)
