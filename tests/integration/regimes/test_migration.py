"""Migration 0014 on a database holding projects made before it: each gets a regime from its
kind (works: Tendering Law; goods and services: Government Procurement Law), open tender, and
projects past the draft are pinned to rule version 1, which the migration loads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from expertpool.app import create_app
from expertpool.core import migrate
from expertpool.core.db import UTCDateTime
from expertpool.regimes import rulebook
from tests.conftest import create_scratch_postgres, drop_scratch_postgres, make_test_config

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
PROJECTS = [  # id, kind, status
    (1, "works", "drawn"),
    (2, "goods", "ready"),
    (3, "services", "draft"),
    (4, "goods", "awarded"),
]


@pytest.fixture()
def old_app(tmp_path: Path) -> Iterator[Flask]:
    """An app whose database is at revision 0012 (before regimes)."""
    env_url = os.environ.get("DATABASE_URL", "")
    url = (
        create_scratch_postgres(env_url)
        if env_url.startswith("postgresql")
        else f"sqlite:///{tmp_path / 'old.sqlite'}"
    )
    app = create_app(make_test_config(tmp_path / "instance", url))
    st = app.extensions["expertpool"]
    st.keys.init()
    migrate.upgrade(st.engine, "0012", keys=st.keys)
    yield app
    st.engine.dispose()
    if env_url.startswith("postgresql"):
        drop_scratch_postgres(url, env_url)


def _insert_old_projects(app: Flask) -> None:
    centre = sa.table("centre", sa.column("id"), sa.column("region_code"), sa.column("name"))
    project = sa.table(
        "project",
        *(
            sa.column(c)
            for c in [
                "id",
                "code",
                "name",
                "kind",
                "budget_fen",
                "is_complex",
                "tenderer_code",
                "tenderer_name",
                "agency_code",
                "agency_name",
                "tenderer_representatives",
                "duration_minutes",
                "owner_centre_id",
                "main_centre_id",
                "is_remote",
                "status",
            ]
        ),
        sa.column("evaluation_start_at", UTCDateTime()),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    bidder = sa.table(
        "bidder",
        sa.column("id"),
        sa.column("project_id"),
        sa.column("credit_code"),
        sa.column("name"),
        sa.column("created_at", UTCDateTime()),
    )
    with app.extensions["expertpool"].engine.begin() as conn:
        conn.execute(sa.insert(centre).values(id=1, region_code="440100", name="广州"))
        for pid, kind, status in PROJECTS:
            conn.execute(
                sa.insert(project).values(
                    id=pid,
                    code=f"OLD-{pid}",
                    name="旧项目",
                    kind=kind,
                    budget_fen=50_000_000 * 100,
                    is_complex=False,
                    tenderer_code="91440101MA59XXXX0A",
                    tenderer_name="招标人",
                    agency_code="91440101MA59XXXX0B",
                    agency_name="代理",
                    tenderer_representatives=0,
                    duration_minutes=240,
                    owner_centre_id=1,
                    main_centre_id=1,
                    is_remote=False,
                    status=status,
                    evaluation_start_at=AT,
                    created_at=AT,
                    updated_at=AT,
                )
            )
            conn.execute(
                sa.insert(bidder).values(
                    id=pid,
                    project_id=pid,
                    credit_code="91440101MA59XXXX1C",
                    name="投标人",
                    created_at=AT,
                )
            )


def test_existing_projects_get_a_regime_a_method_and_their_rule_version(old_app: Flask) -> None:
    _insert_old_projects(old_app)
    st = old_app.extensions["expertpool"]
    migrate.upgrade(st.engine, keys=st.keys)
    with st.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, regime, method, rule_version, is_special, is_offsite, ready_at "
                "FROM project ORDER BY id"
            )
        ).all()
        small = conn.execute(sa.text("SELECT is_small_enterprise FROM bidder")).scalars().all()
        versions = conn.execute(sa.text("SELECT number, origin FROM rule_version")).all()
        stored = conn.execute(sa.text("SELECT COUNT(*) FROM rule_value")).scalar_one()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (1, "tendering_law", "open_tender", 1),
        (2, "government_procurement", "open_tender", 1),
        (3, "government_procurement", "open_tender", None),
        (4, "government_procurement", "open_tender", 1),
    ]
    assert all(not r[4] and not r[5] for r in rows)
    assert [r[6] is not None for r in rows] == [True, True, False, True]
    assert small == [False] * len(PROJECTS)
    assert [tuple(v) for v in versions] == [(1, "file:rules-v1.json")]
    assert stored == len(rulebook.bundled_rows())

    with old_app.app_context():
        from expertpool.projects import projects

        session = st.sessions()
        works = projects.get_project(session, 1)
        # a 50-million works tender now takes a five-expert committee (the Tendering Law's rule)
        assert (
            projects.project_rules(session, works).committee_minimum(
                budget_fen=works.budget_fen, is_complex=False
            )
            == 5
        )
        # a new version after the migration continues the numbering
        assert rulebook.version_in_force(session) == 1
        st.sessions.remove()
