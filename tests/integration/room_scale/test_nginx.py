"""The deployment recipe end to end: nginx (deploy/nginx-site.conf) in front of two gunicorn gevent
processes with PostgreSQL and Redis; websockets upgrade through it and survive a backend's death."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from string import Template

import pytest
import requests
from flask import Flask

from tests.conftest import service_missing
from tests.integration.room.conftest import Committee
from tests.integration.room_scale.client import FailoverMember
from tests.integration.room_scale.cluster import Cluster, free_port, stop_quietly
from tests.integration.room_scale.conftest import cookie_of

pytestmark = [
    pytest.mark.integration,
    pytest.mark.needs_postgres,
    pytest.mark.needs_redis,
    pytest.mark.slow,
    pytest.mark.timeout(120),
]
SITE = Path(__file__).resolve().parents[3] / "deploy" / "nginx-site.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

MAIN = """\
${EP_USER}
worker_processes 1;
daemon off;
pid ${EP_DIR}/nginx.pid;
error_log ${EP_DIR}/error.log warn;
events { worker_connections 512; }
http {
    access_log ${EP_DIR}/access.log;
    client_body_temp_path ${EP_DIR}/body;
    proxy_temp_path ${EP_DIR}/proxy;
    fastcgi_temp_path ${EP_DIR}/fastcgi;
    uwsgi_temp_path ${EP_DIR}/uwsgi;
    scgi_temp_path ${EP_DIR}/scgi;
    # For the test only: which process answered.
    add_header X-Upstream $upstream_addr always;
    include ${EP_DIR}/site.conf;
}
"""


def render_site(ports: list[int], listen_port: int) -> str:
    """The recipe's site for loopback backends (what docs/deploy.md fills in by hand)."""
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in ports)
    return Template(SITE.read_text(encoding="utf-8")).safe_substitute(
        EP_SERVERS=servers,
        EP_LISTEN=f"    listen 127.0.0.1:{listen_port};",
        EP_SERVER_NAME="localhost",
    )


@pytest.fixture()
def proxied_cluster(pg_app: Flask, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Two processes that trust one proxy hop (EXPERTPOOL_PROXY_FIX_HOPS=1)."""
    c = Cluster(
        pg_app.extensions["expertpool"].config,
        redis_url,
        tmp_path,
        extra_env={"EXPERTPOOL_PROXY_FIX_HOPS": "1"},
    )
    try:
        yield c.start()
    finally:
        c.stop()


@pytest.fixture()
def nginx(proxied_cluster: Cluster, tmp_path: Path) -> Iterator[str]:
    """nginx in the foreground on a loopback port with its own pid, logs and temp paths."""
    if not os.path.exists(NGINX):
        service_missing("nginx is not installed (apt-get install nginx)")
    work = tmp_path / "nginx"
    work.mkdir()
    port = free_port()
    (work / "site.conf").write_text(render_site(proxied_cluster.ports, port), encoding="utf-8")
    user = "user root;" if os.geteuid() == 0 else ""
    (work / "nginx.conf").write_text(
        Template(MAIN).safe_substitute(EP_DIR=str(work), EP_USER=user), encoding="utf-8"
    )
    check = subprocess.run(
        [
            NGINX,
            "-t",
            "-e",
            str(work / "error.log"),
            "-p",
            str(work),
            "-c",
            str(work / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [NGINX, "-e", str(work / "error.log"), "-p", str(work), "-c", str(work / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 15
        while True:
            try:
                requests.get(url + "/login", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > end or proc.poll() is not None:
                    raise AssertionError((work / "error.log").read_text(errors="replace")) from None
                time.sleep(0.1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def test_websockets_through_nginx_reach_both_processes_and_survive_the_loss_of_one(
    scoring_committee: Committee, proxied_cluster: Cluster, nginx: str
) -> None:
    c = scoring_committee
    assert requests.get(nginx + "/login", timeout=5).status_code == 200
    upstream = upstream_of(nginx, proxied_cluster, c.room_id)
    other = 1 - upstream
    # e1 through the proxy (lands on `upstream`, the room's process); e1's second device directly on
    # the other.
    e1 = FailoverMember([nginx], cookie_of(c, "e1"), c.room_id)
    e1_direct = FailoverMember(proxied_cluster.urls, cookie_of(c, "e1"), c.room_id, first=other)
    try:
        ack = e1.call("enter_scores", scores={"B001": {"tech": "33"}})
        assert ack["ok"], ack
        assert (
            e1_direct.wait_for(lambda s: s["seq"] >= ack["seq"])["my_sheet"]["scores"]["B001"][
                "tech"
            ]
            == "33"
        )

        acked: list[str] = []
        for i, value in enumerate(f"{v}" for v in range(34, 50)):
            if i == 5:
                proxied_cluster.kill(upstream)
            ack = e1.call("enter_scores", scores={"B001": {"tech": value}})
            assert ack["ok"], ack
            acked.append(value)
        assert e1.failovers >= 1  # reconnected through the same proxy URL to the surviving process
        assert e1.joins[-1]["snapshot"]["my_sheet"]["scores"]["B001"]["tech"] >= acked[4]
        final = e1_direct.call("snapshot")["snapshot"]["my_sheet"]["scores"]["B001"]["tech"]
        assert final == acked[-1] == "49"
        assert requests.get(nginx + "/login", timeout=5).status_code == 200
    finally:
        stop_quietly([e1, e1_direct])


def upstream_of(nginx: str, cluster: Cluster, room: str) -> int:
    """The process the proxy sends a room's Socket.IO requests to (an Engine.IO handshake)."""
    reply = requests.get(
        f"{nginx}/socket.io/", params={"room": room, "EIO": "4", "transport": "polling"}, timeout=5
    )
    return cluster.ports.index(int(reply.headers["X-Upstream"].rsplit(":", 1)[1]))


def test_the_proxy_keeps_each_room_on_one_process_and_spreads_rooms_over_both(
    proxied_cluster: Cluster, nginx: str
) -> None:
    rooms = [f"r{uuid.uuid4().hex[:16]}" for _ in range(24)]
    placed = {room: upstream_of(nginx, proxied_cluster, room) for room in rooms}
    assert set(placed.values()) == {0, 1}  # 24 rooms on one process: odds 2 in 16 million
    for room in rooms[:8]:
        assert {upstream_of(nginx, proxied_cluster, room) for _ in range(3)} == {placed[room]}


def test_the_app_behind_the_proxy_sees_the_client_address_from_x_forwarded_for(
    scoring_committee: Committee, proxied_cluster: Cluster, nginx: str
) -> None:
    # Five failed logins for one name from one client address exhaust the limit; the proxy
    # appends the address it saw, and the app (one trusted hop) keys the limit on it.
    via_proxy = requests.Session()
    # A name of its own: the limit lives in the shared Redis, which other runs use too.
    form = {
        "username": f"nobody-{uuid.uuid4().hex[:8]}",
        "password": "wrong",
        "csrf_token": csrf_of(via_proxy, nginx),
    }
    statuses = [
        via_proxy.post(nginx + "/login", data=form, timeout=5).status_code for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429], statuses
    # Straight to a process (no proxy): X-Forwarded-For is trusted for one hop, so a different
    # "client" has its own budget there (hence: never expose the processes themselves).
    direct, url = requests.Session(), proxied_cluster.urls[0]
    form["csrf_token"] = csrf_of(direct, url)
    other = direct.post(
        url + "/login", data=form, headers={"X-Forwarded-For": "203.0.113.9"}, timeout=5
    )
    assert other.status_code == 401


def csrf_of(session: requests.Session, url: str) -> str:
    """Load the login page and read its CSRF token."""
    match = re.search(
        r'name="csrf_token" value="([^"]+)"', session.get(url + "/login", timeout=5).text
    )
    assert match
    return match.group(1)
