"""A draw's invitation progress: the owning centre's staff and the witnessing supervisor only.

Counts of who accepted or declined are about a panel that is still sealed: anyone else (another
centre's staff, another supervisor, the host centre, an administrator) must learn nothing, not
even that the draw exists, so they get exactly the answer of a draw that does not exist.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from expertpool.notifications.dispatcher import progress_counts
from tests.conftest import login_client
from tests.integration.draws.conftest import Setup, add_experts, expert_name, expert_phone

pytestmark = pytest.mark.integration

MISSING = "D-does-not-exist"


def _drawn(setup: Setup) -> Any:
    add_experts(setup.app, 10)
    return setup.full_draw()


def _normalised(body: str, draw_id: str) -> str:
    """A page with its CSRF tokens and the draw id in it blanked (they differ by design)."""
    body = re.sub(r'(name="csrf_token" value=|name="csrf-token" content=)"[^"]+"', r"\1", body)
    return body.replace(draw_id, "DRAW")


def test_the_owning_centre_and_the_witnessing_supervisor_see_the_counts(
    setup: Setup, make_user: Any
) -> None:
    d = _drawn(setup)
    counts = progress_counts(setup.session, d.draw_id)
    assert sum(counts.values()) > 0
    for user in (setup.operator, make_user(role="centre_staff", centre="440100"), setup.supervisor):
        client = login_client(setup.app.test_client(), user)
        resp = client.get(f"/draws/{d.draw_id}/progress")
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200, user.role
        for state, count in counts.items():
            assert re.search(
                rf'<tr data-state="{state}"><td>[^<]*</td><td>{count}</td></tr>', page
            ), (state, count)
        for n in range(1, 11):
            assert expert_name(n) not in page and expert_phone(n)[-4:] not in page
        draw_page = client.get(f"/draws/{d.draw_id}").get_data(as_text=True)
        assert 'data-testid="progress-link"' in draw_page
        assert 'data-testid="progress"' in draw_page


@pytest.mark.parametrize("who", ["other_centre", "other_supervisor", "admin"])
def test_anyone_else_gets_the_answer_of_a_draw_that_does_not_exist(
    setup: Setup, make_user: Any, who: str
) -> None:
    d = _drawn(setup)
    user = {
        "other_centre": lambda: make_user(role="centre_staff", centre="440300"),
        "other_supervisor": lambda: make_user(role="supervisor"),
        "admin": lambda: make_user(role="admin"),
    }[who]()
    client = login_client(setup.app.test_client(), user)
    real = client.get(f"/draws/{d.draw_id}/progress")
    missing = client.get(f"/draws/{MISSING}/progress")
    # Administrators have no per-draw progress at all (403 whatever the draw); the others of the
    # allowed roles get 404 for this draw, exactly as for one that does not exist.
    expected = 403 if who == "admin" else 404
    assert real.status_code == missing.status_code == expected
    assert _normalised(real.get_data(as_text=True), d.draw_id) == _normalised(
        missing.get_data(as_text=True), MISSING
    )


def test_the_draw_page_shows_the_counts_only_to_those_who_may_read_them(
    setup: Setup, make_user: Any
) -> None:
    d = _drawn(setup)
    for user in (make_user(role="supervisor"), make_user(role="admin")):
        page = (
            login_client(setup.app.test_client(), user)
            .get(f"/draws/{d.draw_id}")
            .get_data(as_text=True)
        )
        assert d.commit_digest in page  # the page itself is still theirs to read: H(commit)
        assert 'data-testid="sealed-record"' not in page  # not the commitment's counts
        assert 'data-testid="progress"' not in page and "progress-link" not in page


def test_there_is_no_all_draws_count_page_any_more(setup: Setup, make_user: Any) -> None:
    _drawn(setup)
    for user in (setup.operator, setup.supervisor, make_user(role="admin")):
        client = login_client(setup.app.test_client(), user)
        assert client.get("/notifications/progress").status_code == 404
        assert client.get("/notifications/progress?draw=x").status_code == 404
