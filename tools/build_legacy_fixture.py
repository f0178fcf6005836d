"""Build the legacy fixture: a small database, its keys and checkpoints, made by an OLD checkout.

The fixture under ``tests/fixtures/legacy_2026_12/`` proves that what older code hashed and
signed (audit chain and checkpoints, draw ledger, draw records, room report digests) still
verifies with today's code. It must therefore be made by the old code, not by this checkout::

    git worktree add /tmp/old 0b0131f
    python tools/build_legacy_fixture.py --checkout /tmp/old --python .venv/bin/python
        --out tests/fixtures/legacy_2026_12 --experts 150        # (one command line)

Everything runs in a temporary folder (nothing is written into the checkout) with the
checkout's Python (``--python``, by default ``<checkout>/.venv/bin/python``) and
``PYTHONPATH=<checkout>``:

1. ``expertpool db upgrade``, ``keys init``, ``reference load``, ``demo --experts N``: accounts,
   experts, projects, venues, terminals, one draw committed, sealed and opened, and a scheduled
   evaluation session;
2. this file again with ``--room-stage``, inside the old code: the demo session is driven through
   Socket.IO test clients (as the tests do) from opening to archiving: check-in, election,
   scoring, signing (one dissent with reasons in Chinese), so that it holds a signed report;
3. ``expertpool audit verify``, ``draws verify-ledger`` and ``draws export`` + ``python -m draw
   verify`` with the old code, then the database (vacuumed), ``keys/``, the checkpoint file
   and ``manifest.json`` (what the fixture holds) are copied to ``--out``.

The room stage imports from either layout (``expertpool.services.rooms`` before the
reorganisation into feature packages, ``expertpool.rooms.sessions`` after it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DB_NAME = "legacy.sqlite"
CHECKPOINTS = "audit-checkpoints.jsonl"
KEYS = "keys"
MANIFEST = "manifest.json"
MAIN_HOST, SECOND_HOST = "staff.gz", "staff.sz"
SCORES = {  # member -> (tech, service) for every bidder: close enough to raise no deviation flag
    "expert": ("40", "15"),
    "expert.gz2": ("41", "15.5"),
    "expert.gz3": ("40.5", "15"),
    "expert.sz1": ("39.5", "16"),
    "rep.sz": ("40", "15"),
}
ABANDONED_PROJECT = "GZ-DEMO-001"
ABANDON_REASON = "监督员发现终端时钟异常，本次承诺作废，重新申请抽取"
SECOND_VENUE = {"expert.sz1", "rep.sz"}
DISSENT = ("expert.sz1", "价格分计算口径有异议：最低价评审基准应剔除异常低价")


def _env(work: Path, checkout: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPERTPOOL_")}
    env.update(
        {
            "PYTHONPATH": str(checkout),
            "DATABASE_URL": f"sqlite:///{work / DB_NAME}",
            "EXPERTPOOL_INSTANCE_PATH": str(work / "instance"),
            "EXPERTPOOL_KEY_DIR": str(work / KEYS),
            "EXPERTPOOL_AUDIT_CHECKPOINT_FILE": str(work / CHECKPOINTS),
            "EXPERTPOOL_NOTIFIER": "console",
            "EXPERTPOOL_NOTIFY_WORKER_IN_PROCESS": "no",
        }
    )
    return env


def _run(cmd: list[str], *, env: dict[str, str], cwd: Path) -> str:
    print("+", " ".join(cmd[1:] if cmd[0].endswith("python") else cmd), flush=True)
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}")
    return done.stdout


def build(checkout: Path, out: Path, experts: int, seed: int, python: Path | None = None) -> None:
    """Make the fixture with the code of `checkout` (run by `python`) and copy it to `out`."""
    python = python or checkout / ".venv" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{python} not found: give --python or a checkout with a .venv")
    with tempfile.TemporaryDirectory(prefix="legacy-fixture-") as tmp:
        work = Path(tmp)
        env = _env(work, checkout)

        def cli(*args: str) -> str:
            code = "from expertpool.cli import main; main()"
            return _run([str(python), "-c", code, *args], env=env, cwd=work)

        for args in (
            ["db", "upgrade"],
            ["keys", "init"],
            ["reference", "load"],
            ["demo", "--experts", str(experts), "--seed", str(seed)],
        ):
            print(cli(*args), end="")
        stage = [str(python), str(Path(__file__).resolve()), "--room-stage"]
        print(_run(stage, env=env, cwd=work), end="")
        print(cli("audit", "verify"), end="")
        print(cli("draws", "verify-ledger"), end="")
        opened = [
            line.split()[0]
            for line in cli("draws", "list").splitlines()
            if line.split()[1:2] == ["opened"]
        ]
        published = {line.split()[1] for line in cli("keys", "public").splitlines()}
        for draw_id in opened:
            transcript = work / f"{draw_id}.json"
            transcript.write_text(cli("draws", "export", draw_id), "utf-8")
            public = json.loads(transcript.read_text("utf-8"))["public_key"]
            if public not in published:
                raise SystemExit(f"{draw_id} is signed by a key that is not published")
            verify = [str(python), "-m", "draw", "verify", "--public-key", public, str(transcript)]
            print(_run(verify, env=env, cwd=work), end="")
        git = ["git", "-C", str(checkout), "rev-parse", "HEAD"]
        commit = subprocess.run(git, capture_output=True, text=True, check=False).stdout.strip()
        with sqlite3.connect(work / DB_NAME) as conn:
            counts = _counts(conn)
        conn.close()
        with sqlite3.connect(work / DB_NAME) as conn:
            conn.execute("VACUUM")
        conn.close()
        out.mkdir(parents=True, exist_ok=True)
        for old in (out / KEYS, out / DB_NAME, out / CHECKPOINTS):
            if old.is_dir():
                shutil.rmtree(old)
            elif old.exists():
                old.unlink()
        shutil.copy2(work / DB_NAME, out / DB_NAME)
        shutil.copy2(work / CHECKPOINTS, out / CHECKPOINTS)
        shutil.copytree(work / KEYS, out / KEYS)
        manifest = {
            "made_by_commit": commit,
            "experts": experts,
            "seed": seed,
            "opened_draws": opened,
            **counts,
        }
        text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
        (out / MANIFEST).write_text(text, "utf-8")
    for path in sorted(out.rglob("*")):
        if path.is_file():
            print(f"{path.stat().st_size:>10}  {path}")


def _counts(conn: sqlite3.Connection) -> dict[str, Any]:
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "audit_entries": one("SELECT count(*) FROM audit_entry"),
        "ledger_entries": one("SELECT count(*) FROM draw_ledger_entry"),
        "ledger_kinds": sorted({r[0] for r in conn.execute("SELECT kind FROM draw_ledger_entry")}),
        "draws": one("SELECT count(*) FROM draw"),
        "evaluation_sessions": one("SELECT count(*) FROM evaluation_session"),
        "archived_sessions": one(
            "SELECT count(*) FROM evaluation_session WHERE phase = 'archived'"
        ),
    }


# The room stage: runs inside the old checkout's code ------------------------------------------


def _first(*names: str) -> Any:
    """The first of `module:attribute` names that imports (old layout first, then the new one)."""
    for name in names:
        module, attr = name.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"none of {names}")


def room_stage() -> None:
    """Drive the demo evaluation session from opening to archiving through Socket.IO clients."""
    from sqlalchemy import select

    from evaluation_room.handlers import NAMESPACE

    create_app = _first("expertpool.app:create_app")
    config_cls = _first("expertpool.config:Config", "expertpool.core.config:Config")
    user_cls = _first("expertpool.models:User", "expertpool.accounts.models:User")
    session_cls = _first(
        "expertpool.models:EvaluationSession", "expertpool.rooms.models:EvaluationSession"
    )
    demo_title = _first(
        "expertpool.services.rooms:DEMO_TITLE", "expertpool.rooms.sessions:DEMO_TITLE"
    )
    notifier_of_app = _first(
        "expertpool.services.rooms:notifier_of_app", "expertpool.rooms.sessions:notifier_of_app"
    )
    password = _first(
        "expertpool.services.demo:DEMO_PASSWORD", "expertpool.demo.runner:DEMO_PASSWORD"
    )

    app = create_app(config_cls.from_env())
    sio = app.extensions["socketio"]
    with app.app_context():
        db = app.extensions["expertpool"].sessions()
        by_title = select(session_cls.room_id).where(session_cls.title == demo_title)
        room_id = db.execute(by_title).scalar_one()
        people = {u.username: u for u in db.execute(select(user_cls)).scalars()}
        db.rollback()
        clients: dict[str, Any] = {}

        def ok(name: str, event: str, **payload: Any) -> dict[str, Any]:
            if name not in clients:
                flask_client = app.test_client()
                with flask_client.session_transaction() as sess:
                    sess["uid"] = people[name].id
                    sess["pw"] = people[name].password_changed_at.isoformat()
                clients[name] = sio.test_client(
                    app, namespace=NAMESPACE, flask_test_client=flask_client
                )
            payload.setdefault("room_id", room_id)
            ack: dict[str, Any] = clients[name].emit(
                event, payload, namespace=NAMESPACE, callback=True
            )
            if not ack.get("ok"):
                raise SystemExit(f"{name} {event}: {ack}")
            return ack

        def pid(name: str) -> str:
            return str(ok(name, "snapshot")["snapshot"]["viewer"]["participant_id"])

        members = list(SCORES)
        venue_host = {m: SECOND_HOST if m in SECOND_VENUE else MAIN_HOST for m in members}
        for action in ("open", "start_check_in"):
            ok(MAIN_HOST, "phase", action=action)
        for n, m in enumerate(members, 1):
            ok(m, "request_code")
            body = notifier_of_app().entries()[-1].body
            ok(m, "enter_code", code=body.split("签到码为")[1][:6])
            ok(venue_host[m], "confirm_identity", member=pid(m), seat=f"座位-{n:02d}")
        ok(MAIN_HOST, "phase", action="start_election")
        for m in members:
            ok(m, "vote", candidate="专家1")
        ok(MAIN_HOST, "phase", action="start_scoring")
        bidders = ok(MAIN_HOST, "snapshot")["snapshot"]["scoring_bidders"]
        for m, (tech, service) in SCORES.items():
            ok(m, "submit_sheet", scores={b: {"tech": tech, "service": service} for b in bidders})
        for action in ("finalise", "start_signing"):
            ok(MAIN_HOST, "phase", action=action)
        digest = ok(members[0], "report")["report_digest"]
        for m in members:
            reasons = DISSENT[1] if m == DISSENT[0] else ""
            ok(
                m,
                "sign",
                verdict="dissent" if reasons else "agree",
                reasons=reasons,
                report_digest=digest,
                password=password,
            )
        ok(MAIN_HOST, "phase", action="archive")
        for client in clients.values():
            client.disconnect(NAMESPACE)
        print(f"room {room_id}: archived, report digest {digest}")


def abandoned_draw_stage() -> None:
    """Commit a draw for a ready demo project and abandon it (ledger kinds commit, abandoned)."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    create_app = _first("expertpool.app:create_app")
    config_cls = _first("expertpool.config:Config", "expertpool.core.config:Config")
    user_cls = _first("expertpool.models:User", "expertpool.accounts.models:User")
    project_cls = _first("expertpool.models:Project", "expertpool.projects.models:Project")
    terminal_cls = _first("expertpool.models:Terminal", "expertpool.projects.models:Terminal")
    rules_cls = _first(
        "expertpool.services.draw_rules:DrawRules", "expertpool.draws.rules:DrawRules"
    )
    create_request = _first(
        "expertpool.services.draw_requests:create_draw_request",
        "expertpool.draws.requests:create_draw_request",
    )
    prepare = _first(
        "expertpool.services.draws:prepare_draw", "expertpool.draws.protocol:prepare_draw"
    )
    abandon = _first(
        "expertpool.services.draws:abandon_draw", "expertpool.draws.protocol:abandon_draw"
    )
    prefix_of = _first(
        "expertpool.services.demo_draws:_specialty_prefix",
        "expertpool.demo.draws:_specialty_prefix",
    )

    app = create_app(config_cls.from_env())
    st = app.extensions["expertpool"]
    with app.app_context():
        db = st.sessions()
        operator = db.execute(select(user_cls).where(user_cls.username == MAIN_HOST)).scalar_one()
        project = db.execute(
            select(project_cls).where(project_cls.code == ABANDONED_PROJECT)
        ).scalar_one()
        terminal = (
            db.execute(
                select(terminal_cls)
                .where(terminal_cls.centre_id == project.owner_centre_id)
                .order_by(terminal_cls.id)
            )
            .scalars()
            .first()
        )
        now = datetime.now(UTC)
        req = create_request(
            db,
            actor=operator,
            terminal=terminal,
            project_id=project.id,
            rules=rules_cls.from_config(st.config),
            now=now,
            data={"groups": [{"specialties": [prefix_of(db)], "count": 5, "backups": 2}]},
        )
        d = prepare(
            db,
            actor=operator,
            terminal=terminal,
            request_id=req.id,
            keys=st.keys,
            config=st.config,
            now=now,
        )
        abandon(db, draw_id=d.draw_id, actor=operator, reason=ABANDON_REASON, now=now)
        print(f"draw {d.draw_id}: committed and abandoned")


def main(argv: list[str] | None = None) -> None:
    """Command line: build the fixture (or, internally, run the room stage)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkout",
        type=Path,
        default=Path(__file__).resolve().parents[1],
        help="the OLD checkout whose code makes the fixture (with its .venv)",
    )
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/legacy_2026_12"))
    parser.add_argument("--experts", type=int, default=150)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument(
        "--python",
        type=Path,
        default=None,
        help="the interpreter with the checkout's dependencies "
        "(default: <checkout>/.venv/bin/python)",
    )
    parser.add_argument("--room-stage", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.room_stage:
        room_stage()
        abandoned_draw_stage()
    else:
        build(args.checkout.resolve(), args.out.resolve(), args.experts, args.seed, args.python)


if __name__ == "__main__":
    main()
