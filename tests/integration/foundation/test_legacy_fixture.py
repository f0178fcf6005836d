"""What older code hashed and signed still verifies with today's code (fixtures/legacy_2026_12).

The fixture database, its keys and its audit checkpoints were made by the code at commit
0b0131f (before the reorganisation into feature packages) with
``tools/build_legacy_fixture.py``; see the fixture's README. Every check here recomputes
hashes or digests with today's canonical JSON (:mod:`draw.cjson`), so a change to its bytes
(separators, key order, escaping) fails them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import draw
from draw import cjson
from evaluation_room import report as report_mod
from expertpool.app import create_app
from expertpool.core import audit, migrate
from expertpool.core.models import AuditEntry
from expertpool.draws import protocol, sealing
from expertpool.draws.ledger import verify_ledger
from expertpool.draws.models import Draw, DrawLedgerEntry, DrawStatus
from expertpool.rooms.models import EvaluationSession
from expertpool.rooms.sessions import room_of
from tests.conftest import make_test_config

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "legacy_2026_12"
MANIFEST: dict[str, Any] = json.loads((FIXTURE / "manifest.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """Today's app on a copy of the fixture (database, keys, checkpoints), migrated to head."""
    work = tmp_path_factory.mktemp("legacy")
    shutil.copy2(FIXTURE / "legacy.sqlite", work / "legacy.sqlite")
    shutil.copy2(FIXTURE / "audit-checkpoints.jsonl", work / "audit-checkpoints.jsonl")
    shutil.copytree(FIXTURE / "keys", work / "keys")
    config = make_test_config(
        work / "instance",
        f"sqlite:///{work / 'legacy.sqlite'}",
        key_dir=str(work / "keys"),
        audit_checkpoint_file=str(work / "audit-checkpoints.jsonl"),
    )
    app = create_app(config)
    migrate.upgrade(app.extensions["expertpool"].engine, keys=app.extensions["expertpool"].keys)
    with app.app_context():
        yield app
        app.extensions["expertpool"].sessions.remove()
    app.extensions["expertpool"].engine.dispose()


def _session(app: Flask) -> Session:
    session: Session = app.extensions["expertpool"].sessions()
    return session


def _verify_audit(app: Flask) -> list[audit.Problem]:
    """What `expertpool audit verify` checks: the chain and its signed checkpoints."""
    st = app.extensions["expertpool"]
    return audit.verify(_session(app), st.config.checkpoint_path, st.keys.audit_key())


def test_the_fixture_is_at_the_head_revision(legacy: Flask) -> None:
    engine = legacy.extensions["expertpool"].engine
    script = ScriptDirectory.from_config(migrate.alembic_config(str(engine.url)))
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == script.get_current_head()


def test_the_legacy_audit_chain_verifies_against_its_signed_checkpoints(legacy: Flask) -> None:
    session = _session(legacy)
    entries = list(session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())
    assert len(entries) >= MANIFEST["audit_entries"] > 0
    assert _verify_audit(legacy) == []


def test_every_stored_audit_payload_is_today_s_canonical_json_of_itself(legacy: Flask) -> None:
    """Old `before`/`after` texts are byte for byte what today's cjson makes of their data."""
    session = _session(legacy)
    for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        for text in (e.before, e.after):
            assert cjson.dumps(json.loads(text)).decode("utf-8") == text, e.seq
    assert any(not e.after.isascii() for e in session.execute(select(AuditEntry)).scalars())


def test_the_legacy_draw_ledger_verifies(legacy: Flask) -> None:
    session = _session(legacy)
    assert verify_ledger(session) == []
    entries = list(session.execute(select(DrawLedgerEntry)).scalars())
    assert len(entries) == MANIFEST["ledger_entries"]
    assert sorted({e.kind.value for e in entries}) == MANIFEST["ledger_kinds"]
    for e in entries:
        # Documents the old app serialised itself (abandoned, opened) and draw/'s own records.
        assert cjson.dumps(json.loads(e.payload)).decode("utf-8") == e.payload, e.seq


def test_every_commitment_and_sealed_record_keeps_its_signature_and_digest(legacy: Flask) -> None:
    session = _session(legacy)
    published = set(legacy.extensions["expertpool"].keys.draw_public_keys().values())
    draws = list(session.execute(select(Draw)).scalars())
    assert len(draws) == MANIFEST["draws"]
    committed = {
        json.loads(e.after)["commit_digest"]
        for e in session.execute(
            select(AuditEntry).where(AuditEntry.action == "draw.commit")
        ).scalars()
    }
    keys = legacy.extensions["expertpool"].keys
    for d in draws:
        assert d.public_key in published
        # Migrated into sealed storage: the same records, readable with the key files.
        commit = sealing.open_commit(d, keys)
        assert draw.verify_json(commit, d.commit_signature, d.public_key)
        assert protocol.commit_digest(d) == draw.canonical_digest(commit)
        assert protocol.commit_digest(d) in committed
        sealed = sealing.open_sealed(d, keys)
        if sealed is not None:
            assert draw.verify_json(sealed, d.sealed_signature or "", d.public_key)


def test_each_opened_draw_exports_a_transcript_the_offline_verifier_accepts(legacy: Flask) -> None:
    session = _session(legacy)
    keys = legacy.extensions["expertpool"].keys
    opened = [
        d.draw_id
        for d in session.execute(select(Draw).order_by(Draw.id)).scalars()
        if d.status is DrawStatus.OPENED
    ]
    assert opened == MANIFEST["opened_draws"]
    for draw_id in opened:
        doc = protocol.transcript(session, draw_id=draw_id, actor="test", keys=keys)
        transcript = draw.load_json(draw.canonical_json(doc))
        assert transcript["public_key"] in keys.draw_public_keys().values()
        assert draw.verify_transcript(transcript, transcript["public_key"]) == []
    # The exports appended entries with today's code: the mixed chain still verifies.
    assert _verify_audit(legacy) == []


def test_each_room_report_digest_recomputes_to_the_stored_one(legacy: Flask) -> None:
    session = _session(legacy)
    rows = list(session.execute(select(EvaluationSession)).scalars())
    archived = [r for r in rows if r.phase == "archived"]
    assert len(rows) == MANIFEST["evaluation_sessions"]
    assert len(archived) == MANIFEST["archived_sessions"] > 0
    for row in archived:
        room = room_of(row, legacy.extensions["expertpool"].keys)
        assert room.report_digest is not None and room.final_report_digest is not None
        assert report_mod.digest(room.report_body()) == room.report_digest
        final = room.final_report()
        assert final["body_digest"] == room.report_digest
        assert final["report_digest"] == room.final_report_digest
        trail = {e.action: json.loads(e.after) for e in _room_trail(session, row.room_id)}
        assert trail["room.archived"]["final_report_digest"] == room.final_report_digest
        assert trail["room.signing_started"]["report_digest"] == room.report_digest
        signed = [
            json.loads(e.after)["report_digest"]
            for e in _room_trail(session, row.room_id)
            if e.action == "room.signed"
        ]
        assert signed and set(signed) == {room.report_digest}


def _room_trail(session: Session, room_id: str) -> list[AuditEntry]:
    query = (
        select(AuditEntry)
        .where(AuditEntry.object_type == "evaluation_session", AuditEntry.object_id == room_id)
        .order_by(AuditEntry.seq)
    )
    return list(session.execute(query).scalars())


def test_legacy_draw_requests_are_sealed_and_still_reproduce_their_commitment(
    legacy: Flask,
) -> None:
    """0023: the clear column keeps no excluded experts; the sealed request is the committed one."""
    import json

    from expertpool.draws import sealing
    from expertpool.draws.models import Draw

    keys = legacy.extensions["expertpool"].keys
    draws = _session(legacy).execute(select(Draw)).scalars().all()
    assert draws
    for d in draws:
        assert "excluded_experts" not in json.loads(d.request_json)
        whole = sealing.open_request(d, keys)
        assert "excluded_experts" in whole
        commit = sealing.open_commit(d, keys)
        assert draw.canonical_digest(whole) == commit["request_digest"]
