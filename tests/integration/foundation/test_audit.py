"""The audit chain and its signed checkpoints catch every kind of hand edit; appends stay chained
under load.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from expertpool.core import audit
from expertpool.core.audit import _entry_hash  # the forger knows the (public) hash recipe
from expertpool.core.models import AuditEntry, AuditHead
from tests.integration.test_cli import _run

pytestmark = pytest.mark.integration

Verify = Callable[[], list[str]]


@pytest.fixture()
def chain(app: Flask) -> Any:
    """Ten committed entries, each commit checkpointed as the application does it."""
    session = app.extensions["expertpool"].sessions()
    for i in range(1, 11):
        audit.record(
            session,
            actor="tester",
            action="thing.change",
            object_type="thing",
            object_id=i,
            before={"n": i - 1},
            after={"n": i},
        )
        session.commit()
    return session


@pytest.fixture()
def verify(app: Flask) -> Verify:
    """Run `services.audit.verify` on a fresh session; the problems as text."""

    def run() -> list[str]:
        st = app.extensions["expertpool"]
        st.sessions.remove()
        return [
            str(p)
            for p in audit.verify(st.sessions(), st.config.checkpoint_path, st.keys.audit_key())
        ]

    return run


def _sql(app: Flask, statement: str, **params: Any) -> None:
    app.extensions["expertpool"].sessions.remove()
    with app.extensions["expertpool"].engine.begin() as conn:
        conn.execute(text(statement), params)


def _rechain(app: Flask, rows: list[dict[str, Any]]) -> None:
    """Rewrite the whole table as a perfect chain of `rows` (what a careful forger would do)."""
    prev = audit.GENESIS
    fixed = []
    for seq, row in enumerate(rows, 1):
        digest = _entry_hash(
            seq,
            row["at"],
            row["actor"],
            row["action"],
            row["object_type"],
            row["object_id"],
            row["before"],
            row["after"],
            prev,
        )
        fixed.append({**row, "id": seq, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    app.extensions["expertpool"].sessions.remove()
    with app.extensions["expertpool"].engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry"))
        for row in fixed:
            conn.execute(AuditEntry.__table__.insert().values(**row))
        conn.execute(
            text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
            {"s": len(fixed), "h": prev},
        )


def _load_rows(app: Flask) -> list[dict[str, Any]]:
    app.extensions["expertpool"].sessions.remove()
    session = app.extensions["expertpool"].sessions()
    rows = [
        {c.name: getattr(e, c.name) for c in AuditEntry.__table__.columns}
        for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    ]
    session.close()
    return rows


@pytest.mark.usefixtures("chain")
def test_an_untouched_chain_verifies(verify: Verify) -> None:
    assert verify() == []


@pytest.mark.usefixtures("chain")
def test_a_modified_entry_is_detected(app: Flask, verify: Verify) -> None:
    _sql(app, "UPDATE audit_entry SET after = :a WHERE seq = 4", a='{"n":400}')
    assert verify() == ["entry 4: content does not match its hash (modified)"]


@pytest.mark.usefixtures("chain")
def test_an_entry_deleted_from_the_middle_is_detected(app: Flask, verify: Verify) -> None:
    _sql(app, "DELETE FROM audit_entry WHERE seq = 5")
    problems = verify()
    assert "entry 6: sequence gap: expected 5 (entries deleted or inserted)" in problems
    assert "entry 6: does not link to the previous entry" in problems


@pytest.mark.usefixtures("chain")
def test_an_entry_inserted_in_the_middle_is_detected(app: Flask, verify: Verify) -> None:
    _sql(app, "UPDATE audit_entry SET seq = seq + 100 WHERE seq >= 5")
    _sql(app, "UPDATE audit_entry SET seq = seq - 99 WHERE seq >= 105")
    rows = _load_rows(app)
    forged = {**rows[3], "id": 1000, "seq": 5, "actor": "intruder", "prev_hash": rows[3]["hash"]}
    forged["hash"] = _entry_hash(
        5,
        forged["at"],
        "intruder",
        forged["action"],
        forged["object_type"],
        forged["object_id"],
        forged["before"],
        forged["after"],
        forged["prev_hash"],
    )
    app.extensions["expertpool"].sessions.remove()
    with app.extensions["expertpool"].engine.begin() as conn:
        conn.execute(AuditEntry.__table__.insert().values(**forged))
    problems = verify()
    assert "entry 6: does not link to the previous entry" in problems
    assert any("differs from the signed checkpoint" in p for p in problems)


@pytest.mark.usefixtures("chain")
def test_a_carefully_rechained_insertion_is_caught_by_the_signed_checkpoints(
    app: Flask, verify: Verify
) -> None:
    rows = _load_rows(app)
    rows.insert(4, {**rows[4], "actor": "intruder"})
    _rechain(app, rows)
    problems = verify()
    assert problems and all("checkpoint" in p for p in problems)  # the chain itself is flawless
    assert "entry 5: differs from the signed checkpoint" in problems


@pytest.mark.usefixtures("chain")
def test_a_rechained_deletion_is_caught_by_the_signed_checkpoints(
    app: Flask, verify: Verify
) -> None:
    rows = _load_rows(app)
    del rows[2]
    _rechain(app, rows)
    problems = verify()
    assert "entry 3: differs from the signed checkpoint" in problems
    assert (
        "entry 10: a signed checkpoint names this entry but it is missing "
        "(tail truncated or deleted)" in problems
    )


@pytest.mark.usefixtures("chain")
def test_a_truncated_tail_is_caught_by_the_signed_checkpoints(app: Flask, verify: Verify) -> None:
    rows = _load_rows(app)
    _sql(app, "DELETE FROM audit_entry WHERE seq > 7")
    _sql(app, "UPDATE audit_head SET seq = 7, hash = :h WHERE id = 1", h=rows[6]["hash"])
    problems = verify()
    assert problems == [
        f"entry {n}: a signed checkpoint names this entry but it is missing "
        "(tail truncated or deleted)"
        for n in (8, 9, 10)
    ]


@pytest.mark.usefixtures("chain")
def test_a_truncated_tail_with_the_head_left_alone_is_caught_too(
    app: Flask, verify: Verify
) -> None:
    _sql(app, "DELETE FROM audit_entry WHERE seq > 7")
    assert "chain head says 10 but the log ends at 7" in verify()


@pytest.mark.usefixtures("chain")
def test_an_entry_appended_behind_the_applications_back_is_not_covered(
    app: Flask, verify: Verify
) -> None:
    rows = _load_rows(app)
    rows.append({**rows[-1], "actor": "intruder"})
    _rechain(app, rows)
    assert verify() == [
        "entries 11 to 11 are not covered by a signed checkpoint "
        "(appended outside the application, or checkpoints removed)"
    ]


@pytest.mark.usefixtures("chain")
def test_a_removed_checkpoint_file_is_noticed(app: Flask, verify: Verify) -> None:
    app.extensions["expertpool"].config.checkpoint_path.unlink()
    assert verify() == [
        "entries 1 to 10 are not covered by a signed checkpoint "
        "(appended outside the application, or checkpoints removed)"
    ]


@pytest.mark.usefixtures("chain")
@pytest.mark.parametrize(
    "mangle", ["bad_signature", "other_key", "garbage", "seq_as_text", "moved_seq"]
)
def test_a_forged_checkpoint_line_is_detected(app: Flask, verify: Verify, mangle: str) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path: Path = app.extensions["expertpool"].config.checkpoint_path
    last = json.loads(path.read_text(encoding="ascii").splitlines()[-1])
    if mangle == "bad_signature":
        line = json.dumps({**last, "hash": "f" * 64})
    elif mangle == "other_key":
        other = path.with_name("other.jsonl")
        audit.write_checkpoint(other, Ed25519PrivateKey.generate(), 10, "e" * 64)
        line = other.read_text(encoding="ascii").strip()
    elif mangle == "garbage":
        line = "{not json"
    elif mangle == "seq_as_text":
        line = json.dumps({**last, "seq": str(last["seq"])})
    else:
        line = json.dumps({**last, "seq": last["seq"] + 5})
    with path.open("a", encoding="ascii") as fh:
        fh.write(line + "\n")
    lineno = len(path.read_text(encoding="ascii").splitlines())
    assert verify() == [f"checkpoint line {lineno} is unreadable or its signature is invalid"]


@pytest.mark.usefixtures("chain")
def test_the_verify_command_fails_with_one_line_per_problem(app: Flask, tmp_path: Path) -> None:
    _sql(app, "UPDATE audit_entry SET actor = 'someone-else' WHERE seq = 2")
    cfg = app.extensions["expertpool"].config
    out = _run(
        ["audit", "verify"],
        tmp_path,
        DATABASE_URL=cfg.database_url,
        EXPERTPOOL_INSTANCE_PATH=cfg.instance_path,
    )
    assert out.returncode == 1
    assert out.stdout.splitlines() == ["FAIL entry 2: content does not match its hash (modified)"]


def test_a_rolled_back_change_leaves_no_entry_and_no_checkpoint(app: Flask, verify: Verify) -> None:
    session = app.extensions["expertpool"].sessions()
    audit.record(session, actor="t", action="kept", object_type="x", object_id=1)
    session.commit()
    audit.record(session, actor="t", action="dropped", object_type="x", object_id=2)
    session.rollback()
    audit.record(session, actor="t", action="kept.too", object_type="x", object_id=3)
    session.commit()
    assert [
        (e.seq, e.action)
        for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    ] == [(1, "kept"), (2, "kept.too")]
    assert verify() == []


def _hammer(app: Flask, threads: int, per_thread: int) -> None:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            with app.app_context():
                sessions = app.extensions["expertpool"].sessions
                barrier.wait(10)
                try:
                    for i in range(per_thread):
                        audit.record(
                            sessions(),
                            actor=f"thread-{n}",
                            action="load.test",
                            object_type="t",
                            object_id=i,
                            after={"thread": n, "i": i},
                        )
                        sessions().commit()
                finally:
                    sessions.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not errors, errors


def _assert_one_unbroken_chain(app: Flask, expected: int, verify_problems: list[str]) -> None:
    st = app.extensions["expertpool"]
    st.sessions.remove()
    session = st.sessions()
    entries = list(session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())
    assert [e.seq for e in entries] == list(range(1, expected + 1))
    assert all(b.prev_hash == a.hash for a, b in pairwise(entries))
    assert session.get(AuditHead, 1).seq == expected
    assert verify_problems == []


@pytest.mark.needs_postgres
def test_concurrent_appends_on_postgresql_form_one_unbroken_chain(pg_app: Flask) -> None:
    from expertpool.core.state import limiter

    limiter.reset()
    _hammer(pg_app, threads=8, per_thread=6)
    st = pg_app.extensions["expertpool"]
    st.sessions.remove()
    problems = [
        str(p) for p in audit.verify(st.sessions(), st.config.checkpoint_path, st.keys.audit_key())
    ]
    # build_app's two reference loads and the department load come first.
    _assert_one_unbroken_chain(pg_app, 3 + 8 * 6, problems)


def test_concurrent_appends_on_the_configured_database_form_one_unbroken_chain(
    app: Flask, verify: Verify
) -> None:
    _hammer(app, threads=4, per_thread=5)
    _assert_one_unbroken_chain(app, 20, verify())
