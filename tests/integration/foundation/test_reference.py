"""Loading the specialty table (defects, newer editions) and browsing and searching it in pages and
the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from expertpool.accounts import users
from expertpool.core.models import AuditEntry
from expertpool.reference import catalogue as reference
from expertpool.reference.models import Specialty
from tests.integration.test_cli import _run

pytestmark = pytest.mark.integration


@pytest.fixture()
def restore_specialties(app: Flask) -> Iterator[None]:
    """Put the bundled specialty table back after a test that loads another one."""
    yield
    session = app.extensions["expertpool"].sessions()
    session.rollback()
    session.execute(delete(Specialty))
    session.commit()
    reference.load_specialties(session, reference.bundled("specialties.json"))


def _row(code: str, name: str, parent: str | None, level: int) -> dict[str, Any]:
    return {"code": code, "name": name, "parent": parent, "level": level}


def _count(session: Any, *where: Any) -> int:
    return int(
        session.execute(select(func.count()).select_from(Specialty).where(*where)).scalar_one()
    )


def test_the_bundled_table_loads_all_but_the_two_refused_rows(db_session: Any) -> None:
    assert _count(db_session) == 1743 - 2
    assert db_session.get(Specialty, "A040405").parent_code == "A0404"
    assert db_session.get(Specialty, "B011305").parent_code == "B0113"


@pytest.mark.usefixtures("restore_specialties")
def test_reloading_the_bundled_table_reports_the_defects_and_changes_nothing(
    db_session: Any,
) -> None:
    report = reference.load_specialties(
        db_session, reference.bundled("specialties.json"), actor="test"
    )
    assert (report.loaded, report.added, report.updated, report.retired) == (1741, 0, 0, 0)
    assert sorted(str(d) for d in report.defects) == [
        "code_not_extending_parent: A040405 (rows 169): A040405 (机车车辆) is filed under A0405",
        "code_not_extending_parent: B011305 (rows 1117): B011305 (灯光、音响、舞台设备) is filed "
        "under B0114",
        "duplicate_code: A040405 (rows 155, 169): row 155: 给水排水 under A0404; row 169: "
        "机车车辆 under A0405",
        "duplicate_code: B011305 (rows 1106, 1117): row 1106: 卫星通信设备 under B0113; "
        "row 1117: 灯光、音响、舞台设备 under B0114",
    ]
    entry = db_session.execute(
        select(AuditEntry).where(AuditEntry.action == "reference.load")
    ).scalar_one()
    assert "A040405" in entry.after and '"loaded":1741' in entry.after


@pytest.mark.usefixtures("restore_specialties")
def test_a_hand_made_table_with_an_orphan_and_a_malformed_row_loads_the_rest(
    db_session: Any,
) -> None:
    rows = [
        _row("A", "工程类", None, 1),
        _row("A01", "规划", "A", 2),
        _row("Q0101", "孤儿", "Q01", 3),
        {"code": "A02", "name": "缺少级别", "parent": "A"},
        _row("A03", "勘察", "A", 2),
    ]
    report = reference.load_specialties(db_session, rows, actor="test")
    assert {(d.kind, d.code, d.rows) for d in report.defects} == {
        ("orphan_parent", "Q0101", (3,)),
        ("malformed_row", "A02", (4,)),
    }
    assert report.loaded == 3
    assert db_session.get(Specialty, "Q0101") is None
    assert db_session.get(Specialty, "A03").name == "勘察"
    assert not db_session.get(Specialty, "A01").is_retired


@pytest.mark.usefixtures("restore_specialties")
def test_a_newer_edition_renames_retires_and_adds_without_deleting(
    db_session: Any, make_user: Any, client: FlaskClient, login: Any
) -> None:
    rows = [r for r in reference.bundled("specialties.json") if r["code"] != "A010103"]
    for r in rows:
        if r["code"] == "A010102":
            r["name"] = "公路（含城市道路）"
    rows.append(_row("A010148", "低空经济", "A0101", 4))
    report = reference.load_specialties(db_session, rows, actor="test")
    assert (report.added, report.updated, report.retired) == (1, 1, 1)
    db_session.expire_all()
    assert db_session.get(Specialty, "A010102").name == "公路（含城市道路）"
    dropped = db_session.get(Specialty, "A010103")
    assert dropped is not None and dropped.is_retired
    assert db_session.get(Specialty, "A010148").name == "低空经济"
    assert _count(db_session) == 1741 + 1
    login(client, make_user(role="expert"))
    html = client.get("/specialties?parent=A0101").get_data(as_text=True)
    assert '<tr class="retired">' in html and "低空经济" in html
    # The code comes back when an even newer edition restores it.
    again = reference.load_specialties(
        db_session, reference.bundled("specialties.json"), actor="test"
    )
    assert (
        again.updated == 2 and again.retired == 1
    )  # A010102 renamed back, A010103 revived; A010148 retired


@pytest.mark.usefixtures("restore_specialties")
def test_the_command_loads_a_newer_table_from_a_file(app: Flask, tmp_path: Path) -> None:
    rows = [r for r in reference.bundled("specialties.json") if r["code"] != "A010103"]
    rows.append(_row("A010148", "低空经济", "A0101", 4))
    path = tmp_path / "specialties-2027.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    cfg = app.extensions["expertpool"].config
    app.extensions["expertpool"].sessions.remove()
    out = _run(
        ["reference", "load", "--specialties", str(path)],
        tmp_path,
        DATABASE_URL=cfg.database_url,
        EXPERTPOOL_INSTANCE_PATH=cfg.instance_path,
    )
    assert out.returncode == 0, out.stderr
    assert "specialties: 1741 loaded (1 added, 0 updated, 1 retired), 4 defects" in out.stdout
    assert (
        "defect duplicate_code: B011305 (rows 1105, 1116)" in out.stdout
    )  # one row earlier: A010103 is gone


def test_an_unreadable_table_is_refused_before_anything_is_loaded(tmp_path: Path) -> None:
    from expertpool.core.errors import ValidationFailed

    path = tmp_path / "broken.json"
    path.write_text('{"not": "a list"}', encoding="utf-8")
    with pytest.raises(ValidationFailed):
        reference.read_table(path)
    path.write_text("[{", encoding="utf-8")
    with pytest.raises(ValidationFailed):
        reference.read_table(path)


# Browsing and searching ---------------------------------------------------------------------------


@pytest.fixture()
def expert_client(client: FlaskClient, make_user: Any, login: Any) -> FlaskClient:
    """A logged-in expert's client."""
    return login(client, make_user(role="expert"))


def test_the_tree_opens_level_by_level_in_pages(expert_client: FlaskClient) -> None:
    top = expert_client.get("/specialties").get_data(as_text=True)
    assert 'data-open="A"' in top and 'data-open="B"' in top and 'data-open="C"' in top
    assert 'data-open="A01"' in expert_client.get("/specialties?parent=A").get_data(as_text=True)
    leaf_level = expert_client.get("/specialties?parent=A0101").get_data(as_text=True)
    assert "<code>A010102</code>" in leaf_level and "47 个下级" not in leaf_level
    assert "国民经济和社会发展规划" in leaf_level  # the crumbs show the path


@pytest.mark.parametrize(
    ("query", "expected"),
    [("公路", "A010102"), ("a0101", "A010147"), ("A0101", "A0101"), ("  A010102 ", "A010102")],
)
def test_the_search_finds_by_name_and_by_code_prefix_in_pages(
    expert_client: FlaskClient, query: str, expected: str
) -> None:
    html = expert_client.get("/specialties", query_string={"q": query}).get_data(as_text=True)
    assert f"<code>{expected}</code>" in html


@pytest.mark.parametrize("query", ["%", "_", "不存在的专业"])
def test_a_search_with_wildcards_or_no_match_finds_nothing(
    expert_client: FlaskClient, query: str
) -> None:
    html = expert_client.get("/specialties", query_string={"q": query}).get_data(as_text=True)
    assert "<code>" not in html
    assert "没有匹配的专业" in html


def test_an_unknown_parent_is_404_in_pages_and_api(
    expert_client: FlaskClient, app: Flask, make_user: Any, db_session: Any
) -> None:
    assert expert_client.get("/specialties?parent=ZZZ").status_code == 404
    token = users.issue_token(db_session, make_user(role="reviewer"), 1)[0]
    auth = {"Authorization": f"Bearer {token}"}
    resp = expert_client.get("/api/specialties?parent=ZZZ", headers=auth)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    assert expert_client.get("/api/specialties/ZZZ", headers=auth).status_code == 404


def test_the_api_browses_and_searches_the_tree(
    client: FlaskClient, make_user: Any, db_session: Any
) -> None:
    token = users.issue_token(db_session, make_user(role="expert"), 1)[0]
    auth = {"Authorization": f"Bearer {token}"}
    top = client.get("/api/specialties", headers=auth).get_json()["items"]
    assert [i["code"] for i in top] == ["A", "B", "C"]
    a = client.get("/api/specialties?parent=A", headers=auth).get_json()["items"]
    assert [i["code"] for i in a][:2] == ["A01", "A02"]
    found = client.get("/api/specialties", query_string={"q": "公路"}, headers=auth).get_json()[
        "items"
    ]
    assert {
        "code": "A010102",
        "name": "公路",
        "parent": "A0101",
        "level": 4,
        "retired": False,
    } in found
    by_code = client.get("/api/specialties?q=b0113", headers=auth).get_json()["items"]
    assert by_code[0]["code"] == "B0113" and all(i["code"].startswith("B0113") for i in by_code)
    one = client.get("/api/specialties/A010102", headers=auth).get_json()
    assert [p["code"] for p in one["path"]] == ["A", "A01", "A0101", "A010102"]
    assert one["children"] == []


def test_the_api_needs_a_token_for_the_tree(client: FlaskClient) -> None:
    assert client.get("/api/specialties").status_code == 401
