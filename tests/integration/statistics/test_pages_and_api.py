"""The statistics pages, the Excel export and the API answer each reader within scope, and a
planted expert-tenderer pair shows on the signals page."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest
from openpyxl import load_workbook

from expertpool.accounts import users
from tests.integration.statistics.test_figures import History, _at

pytestmark = pytest.mark.integration


@pytest.fixture()
def history(app: Any, make_user: Any) -> History:
    operator = make_user(role="centre_staff", centre="440100")
    h = History(app.extensions["expertpool"].sessions(), operator.id)
    rng = random.Random(26)
    pool = [f"tok{i:03d}" for i in range(30)]
    for n in range(90):
        tenderer = f"9144000000TEND{n % 6:04d}"
        chosen = rng.sample(pool, 3)
        if n % 6 == 0 and "tok000" not in chosen:  # planted: tok000 on every draw of TEND0000
            chosen[0] = "tok000"
        h.draw("440100", _at(1 + n % 11), tenderer=tenderer, tokens=tuple(chosen))
    h.session.commit()
    return h


def test_pages_and_export_for_a_supervisor(
    client: Any, login: Any, make_user: Any, history: History
) -> None:
    login(client, make_user(role="supervisor", department="440100-coordination"))
    page = client.get("/statistics/").get_data(as_text=True)
    assert 'id="figure-draws_by_month"' in page and "echarts.min.js" in page
    signals = client.get("/statistics/signals").get_data(as_text=True)
    assert "tok000" in signals and "9144000000TEND0000" in signals
    assert client.get("/statistics/shortages").status_code == 200
    resp = client.get("/statistics/draws_by_month.xlsx")
    sheet = load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[-1][-1] == 90  # the grand total


def test_api_answers_within_scope(app: Any, client: Any, make_user: Any, history: History) -> None:
    session = app.extensions["expertpool"].sessions()
    staff = make_user(role="centre_staff", centre="440300")
    token = users.issue_token(session, staff, 1)[0]
    auth = {"Authorization": f"Bearer {token}"}
    keys = client.get("/api/v1/statistics/figures", headers=auth).get_json()["items"]
    assert keys == [  # no pool for centre staff
        "draws_by_month",
        "invitation_outcomes",
        "response_times",
        "sessions_by_month",
        "session_durations",
        "session_deviations",
        "no_shows",
        "fees_by_month",
    ]
    fig = client.get("/api/v1/statistics/figures/draws_by_month", headers=auth).get_json()
    assert fig["total"] == 0 and fig["closed_only"] is True  # another centre's draws
    assert client.get("/api/v1/statistics/signals", headers=auth).status_code == 403
    admin = make_user(role="admin")
    token = users.issue_token(session, admin, 1)[0]
    auth = {"Authorization": f"Bearer {token}"}
    fig = client.get("/api/v1/statistics/figures/draws_by_month", headers=auth).get_json()
    assert fig["total"] == 90
    assert client.get("/api/v1/statistics/figures/nope", headers=auth).status_code == 404
    assert client.get("/api/v1/statistics/shortages", headers=auth).status_code == 200
    every = client.get("/api/v1/statistics/figures?per_page=100", headers=auth).get_json()["items"]
    for key in every:
        fig = client.get(f"/api/v1/statistics/figures/{key}", headers=auth).get_json()
        assert fig["key"] == key
        assert client.get(f"/statistics/{key}.xlsx").status_code in (302, 401, 403)  # no login


def test_signal_kinds_answer_supervisors_only(
    app: Any, client: Any, make_user: Any, history: History
) -> None:
    session = app.extensions["expertpool"].sessions()
    supervisor = make_user(role="supervisor", department="440100-coordination")
    auth = {"Authorization": f"Bearer {users.issue_token(session, supervisor, 1)[0]}"}
    found = client.get("/api/v1/statistics/signals/expert-tenderer", headers=auth).get_json()
    assert [(s["subject"], s["other"]) for s in found["items"]] == [
        ("tok000", "9144000000TEND0000")
    ]
    assert "4.5" in found["items"][0]["explanation"]  # the meetings expected by chance
    for kind in ("expert-agency", "expert-expert", "favour", "centre-rates", "terminals"):
        resp = client.get(f"/api/v1/statistics/signals/{kind}", headers=auth)
        assert resp.status_code == 200, kind
    assert client.get("/api/v1/statistics/signals/nope", headers=auth).status_code == 404
    admin = make_user(role="admin")
    auth = {"Authorization": f"Bearer {users.issue_token(session, admin, 1)[0]}"}
    assert client.get("/api/v1/statistics/signals/favour", headers=auth).status_code == 403
