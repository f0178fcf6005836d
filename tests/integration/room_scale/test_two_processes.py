"""Two server processes (gunicorn, gevent) sharing PostgreSQL and Redis: broadcasts cross over,
background work runs in one process only, and a client survives the loss of its process."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import text

from expertpool.core.leader import lock_key
from tests.integration.room.conftest import MEMBERS, Committee
from tests.integration.room_scale.client import FailoverMember
from tests.integration.room_scale.cluster import Cluster, stop_quietly
from tests.integration.room_scale.conftest import cookie_of

pytestmark = [
    pytest.mark.integration,
    pytest.mark.needs_postgres,
    pytest.mark.needs_redis,
    pytest.mark.slow,
    pytest.mark.timeout(120),
]


def member(committee: Committee, cluster: Cluster, name: str, first: int) -> FailoverMember:
    """``name``'s client, connected first to server ``first`` and able to fail over to the other."""
    return FailoverMember(cluster.urls, cookie_of(committee, name), committee.room_id, first=first)


def test_a_score_sent_through_one_process_reaches_clients_on_the_other(
    scoring_committee: Committee, cluster: Cluster
) -> None:
    c = scoring_committee
    e1_a, e1_b = member(c, cluster, "e1", 0), member(c, cluster, "e1", 1)
    e2_b, host_b = member(c, cluster, "e2", 1), member(c, cluster, "h_sz", 1)
    try:
        ack = e1_a.call("enter_scores", scores={"B001": {"tech": "42.5"}})
        assert ack["ok"], ack
        # e1's own sheet, saved through server 0, is pushed to e1's other device on server 1.
        snap = e1_b.wait_for(lambda s: s["seq"] >= ack["seq"])
        assert snap["my_sheet"]["scores"]["B001"]["tech"] == "42.5"
        # Others on server 1 get their own view of the change (without e1's subjective score).
        other = e2_b.wait_for(lambda s: s["seq"] >= ack["seq"])
        assert "42.5" not in str(other.get("my_sheet"))
        host_b.wait_for(lambda s: s["seq"] >= ack["seq"])
        # Chat crosses too.
        got: list[dict[str, Any]] = []
        e1_a.sio.on("chat", got.append, namespace="/room")
        assert e2_b.call("chat", text="第二台服务器的消息")["ok"]
        end = time.monotonic() + 10
        while not got and time.monotonic() < end:
            time.sleep(0.02)
        assert got and got[-1]["text"] == "第二台服务器的消息"
    finally:
        stop_quietly([e1_a, e1_b, e2_b, host_b])


_KEY = lock_key("notify-dispatcher") & 0xFFFFFFFFFFFFFFFF  # as PostgreSQL splits a bigint key
DISPATCHER_LEADERS = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted "
    f"AND l.classid = {_KEY >> 32} AND l.objid = {_KEY & 0xFFFFFFFF} AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
"""Processes holding the dispatcher's advisory lock on the test's database (the daily upkeep
holds another one).
"""


def dispatcher_leaders(committee: Committee) -> list[str]:
    """The application names (``expertpool-<i>``) of the processes holding the dispatcher's lock."""
    with committee.app.extensions["expertpool"].engine.connect() as conn:
        return sorted(conn.execute(DISPATCHER_LEADERS).scalars())


def test_only_one_process_runs_the_outbox_dispatcher_and_the_other_takes_over_when_it_dies(
    scoring_committee: Committee, cluster: Cluster
) -> None:
    leaders = dispatcher_leaders(scoring_committee)
    assert len(leaders) == 1 and leaders[0] in ("expertpool-0", "expertpool-1"), leaders
    leader = int(leaders[0].rsplit("-", 1)[1])
    cluster.kill(leader)
    # The other process was waiting; it asks again every 5 s.
    assert wait_until(
        lambda: dispatcher_leaders(scoring_committee) == [f"expertpool-{1 - leader}"], 12
    )


def wait_until(predicate: Any, seconds: float) -> bool:
    """Poll ``predicate`` until true (True) or the time is up (False)."""
    end = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


def test_clients_of_a_killed_process_fail_over_and_lose_no_acknowledged_score(
    scoring_committee: Committee, cluster: Cluster
) -> None:
    c = scoring_committee
    clients = {m: member(c, cluster, m, i % 2) for i, m in enumerate(MEMBERS)}
    values = [f"{v / 2:.1f}" for v in range(40, 100)]  # 20.0, 20.5, ... 49.5: 60 steps each
    acked: dict[str, list[str]] = {m: [] for m in MEMBERS}
    errors: list[BaseException] = []
    # Halfway, each member waits with nothing in flight; the test notes the last acknowledged
    # value, kills server 0, and lets them go on.
    paused = threading.Barrier(len(MEMBERS) + 1)
    resume = threading.Event()

    def score(m: str) -> None:
        try:
            for i, v in enumerate(values):
                # Resend until acknowledged: a refusal for a lost optimistic race is resent too.
                for _ in range(20):
                    ack = clients[m].call(
                        "enter_scores", scores={"B001": {"tech": v}, "B002": {"tech": v}}
                    )
                    if ack["ok"]:
                        acked[m].append(v)
                        break
                    assert ack["error"]["code"] == "stale_state", ack
                if i == len(values) // 3:
                    paused.wait(60)
                    assert resume.wait(60)
                time.sleep(0.01)
        except BaseException as exc:
            errors.append(exc)
            paused.abort()

    threads = [threading.Thread(target=score, args=(m,)) for m in MEMBERS]
    try:
        for t in threads:
            t.start()
        paused.wait(60)
        last_before_kill = {m: acked[m][-1] for m in MEMBERS}
        assert set(last_before_kill.values()) == {values[len(values) // 3]}
        joins_before_kill = {m: len(clients[m].joins) for m in MEMBERS}
        cluster.kill(0)
        resume.set()
        for t in threads:
            t.join(90)
        assert not errors, errors
        for i, m in enumerate(MEMBERS):
            cl = clients[m]
            if i % 2 == 0:
                # First on server 0: failed over to server 1 and joined again, and the full
                # snapshot of that first join after the kill holds exactly the last score
                # acknowledged before it (nothing was in flight: the members were paused).
                assert cl.failovers >= 1 and cl.index == 1, (m, cl.failovers, cl.index)
                assert len(cl.joins) > joins_before_kill[m]
                rejoin = cl.joins[joins_before_kill[m]]
                assert rejoin["snapshot"]["seq"] == rejoin["seq"]
                cells = rejoin["snapshot"]["my_sheet"]["scores"]
                assert cells["B001"]["tech"] == cells["B002"]["tech"] == last_before_kill[m], m
            else:
                assert cl.index == 1, (m, cl.failovers, cl.index)
        for m in MEMBERS:
            assert acked[m] == values, m  # every step acknowledged once, in order
            sheet = clients[m].call("snapshot")["snapshot"]["my_sheet"]["scores"]
            assert sheet["B001"]["tech"] == sheet["B002"]["tech"] == values[-1]
    finally:
        resume.set()
        stop_quietly(list(clients.values()))
