"""Secondary venues picked at random and hidden (#19): before the opening no role, the main
venue's operator included, learns which venues were picked or how many experts each remote
group could draw from, on any page, API or export, in the audit trail or the draw ledger; the
opening reveals the pick."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select

from expertpool.core.models import AuditEntry
from expertpool.draws.models import Draw, DrawLedgerEntry, LedgerKind
from expertpool.projects import venues
from expertpool.projects.models import Project
from tests.integration.sealing.conftest import World
from tests.integration.sealing.leaks import get_urls, walk

pytestmark = pytest.mark.integration

# Three candidate venues, one probe in each city; two are picked.
VENUES = {"440300": "副场探针甲厅", "440400": "副场探针乙厅", "440500": "副场探针丙厅"}
GROUPS = [
    {"specialties": ["A01"], "count": 1, "backups": 0, "remote": True},
    {"specialties": ["A01"], "count": 1, "backups": 0, "remote": True},
    {"specialties": ["A01"], "count": 3, "backups": 2},
]


def _picked(body: str) -> set[str]:
    return {name for name in VENUES.values() if name in body}


def test_no_role_learns_the_picked_secondary_venues_or_their_counts_before_the_opening(
    world: World,
) -> None:
    s = world.session
    project = s.get(Project, world.setup.project_id)
    project.is_remote = True
    s.commit()
    for code, name in VENUES.items():
        venues.create_venue(s, actor="t", centre_code=code, name=name, seats=2)
    request_id = world.request(groups=GROUPS)
    draw_id = world.terminal_draw(request_id)
    world.dispatch()
    clients = world.role_clients()
    urls = get_urls(world.app, world.path_values(), world.extra_urls())
    problems = []
    for (label, url), resp in walk(clients, urls).items():
        # A page naming every venue (a venue list) tells nothing; one naming some does.
        named = _picked(resp.body)
        if url.startswith("/admin/audit"):
            # The trail lists the venues' creation (a page break may split the three); that
            # every entry naming a venue is its creation is checked in the database below.
            named = set()
        if named and named != set(VENUES.values()):
            problems.append(f"GET {url} as {label}: {sorted(named)}")
        if url == f"/draws/{draw_id}" and label == "operator (session)":
            # The operator sees the commitment, without the remote groups' counts.
            body = html.unescape(resp.body)
            found = re.findall(r'"group": "(remote-\d)",\s*"count": (\w+)', body)
            assert found and all(count == "null" for _g, count in found), found
    assert not problems, "\n".join(problems)
    # Nor the audit trail or the ledger, in the database.
    s = world.session
    texts = [e.payload for e in s.execute(select(DrawLedgerEntry)).scalars()]
    texts += [
        f"{a.before} {a.after}"
        for a in s.execute(select(AuditEntry).where(AuditEntry.action.like("draw.%"))).scalars()
    ]
    texts += [d.request_json for d in s.execute(select(Draw)).scalars()]
    for t in texts:
        assert not _picked(t) and not any(f'"{code}"' in t for code in VENUES), t[:300]
    for entry in s.execute(select(AuditEntry)).scalars():
        if _picked(f"{entry.before} {entry.after}"):
            assert entry.action.startswith("venue."), (entry.action, entry.after)

    world.open_draw(draw_id)
    s = world.session
    s.expire_all()
    opened = s.execute(
        select(DrawLedgerEntry).where(
            DrawLedgerEntry.draw_id == draw_id, DrawLedgerEntry.kind == LedgerKind.OPENED
        )
    ).scalar_one()
    revealed = json.loads(opened.payload)["remote_pick"]
    picked = {g["centre"] for g in revealed["groups"]}
    assert len(picked) == 2 and picked <= set(VENUES)
    staff = world.client("operator")
    page = staff.get(f"/projects/{world.setup.project_id}").get_data(as_text=True)
    shown = s.get(Project, world.setup.project_id).secondary_centres
    assert {c.region_code for c in shown} == picked
    assert all(c.name in page for c in shown)
