"""What a reader of the database, the audit trail or the logs learns from a sealed draw: nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.integration.sealing.conftest import World
from tests.integration.sealing.leaks import (
    Key,
    assert_no_leak,
    cell_leaks,
    changed_cells,
    find_leaks,
    summarise,
)

pytestmark = pytest.mark.integration

#: The expert's own record: these rows name the expert anyway; a draw must leave them untouched.
OWN_RECORD_TABLES = (
    "expert",
    "evidence_file",
    "application_version",
    "pending_change",
    "review_decision",
)


def _is_own_record(table: str) -> bool:
    return table.startswith("expert") or table in OWN_RECORD_TABLES


def _probe_rows(rows: dict[Key, dict[str, Any]], ids: set[int]) -> dict[Key, dict[str, Any]]:
    """Rows of the expert's own tables that belong to a probe (its id, or its expert_id)."""
    out = {}
    for (table, key), row in rows.items():
        if not _is_own_record(table):
            continue
        owner = row.get("expert_id", row.get("id") if table == "expert" else None)
        if owner in ids:
            out[(table, key)] = row
    return out


def test_no_row_written_or_changed_by_a_draw_and_its_answers_holds_an_invitees_id_name_or_phone(
    world: World,
) -> None:
    before = world.scan()
    world.terminal_draw(world.request())
    world.dispatch()
    after = world.scan()
    invited = world.invitees()
    ids = {p.id for p in invited}
    assert world.accepted(), "seats must have been booked"

    # The expert's own record is left exactly as it was: nothing there links it to the draw.
    probe_ids = {p.id for p in world.probes}
    own_before, own_after = _probe_rows(before, probe_ids), _probe_rows(after, probe_ids)
    touched = sorted(
        f"{t}{list(k)}"
        for (t, k) in own_before.keys() | own_after.keys()
        if own_before.get((t, k)) != own_after.get((t, k))
    )
    assert not touched, "the draw changed the experts' own records: " + ", ".join(touched)

    cells = [c for c in changed_cells(before, after) if not _is_own_record(c.table)]
    assert cells, "the draw wrote nothing: the scan would see nothing"
    problems = cell_leaks(cells, world.markers(), ids)
    assert not problems, summarise(problems)


def test_the_audit_trail_names_no_invitee_before_opening_neither_its_page_nor_its_rows(
    world: World,
) -> None:
    before = world.scan()
    world.terminal_draw(world.request())
    world.dispatch()
    after = world.scan()
    markers = world.markers()
    ids = {p.id for p in world.invitees()}
    entries = [c for c in changed_cells(before, after) if c.table == "audit_entry"]
    assert entries, "the draw must be in the audit trail"
    problems = cell_leaks(entries, markers, ids)
    for who in ("admin", "supervisor", "supervisor (not witness)"):
        client = world.client(who)
        for page in range(1, 2 + len(entries) // 50):
            body = client.get(f"/admin/audit?page={page}").get_data(as_text=True)
            problems += [
                f"/admin/audit?page={page} as {who}: {h}" for h in find_leaks(body, markers)
            ]
    assert not problems, summarise(problems)


def test_no_log_record_of_the_draw_the_dispatch_or_the_webhooks_names_an_invitee_or_a_link(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world.terminal_draw(world.request())
    world.dispatch()
    markers = world.markers()
    assert caplog.records, "nothing was logged: the check would see nothing"
    problems = []
    for record in caplog.records:
        text = "\n".join(
            [
                str(record.msg),
                repr(record.args),
                record.getMessage() if record.args is not None else "",
                record.exc_text or "",
            ]
        )
        problems += [f"{record.name} {record.levelname}: {h}" for h in find_leaks(text, markers)]
    assert not problems, summarise(problems)
    assert_no_leak(caplog.text, markers, "the captured log")
