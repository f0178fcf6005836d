#!/usr/bin/env python3
"""An example trading-system client of the expert pool's API v1 (docs/integration.md).

It does what a city trading centre's system does, with `requests` and the standard library only:

1. exchanges the centre account's password for a token limited to the scopes it needs;
2. starts its own small receiver of events and subscribes it (scopes `sessions:read` and
   `reports:read`), keeping each subscription's signing secret;
3. creates a project with two bidders, marks it ready and records a draw request from a
   registered terminal (`X-Terminal-Token`);
4. waits for the `panel.opened` event of its project, verifying every event's signature;
5. waits for `report.signed` (the committee signed off: the phase now allows the download),
   downloads the signed report, checks its SHA-256 and saves the PDF.

Run it against a server (the receiver must be reachable by the pool; over the internet put it
behind https):

    python docs/examples/trading_client.py --base-url https://pool.example.cn \\
        --username gz-trading --password '…' --terminal-token '…' \\
        --listen 0.0.0.0:8900 --public-url https://trading.example.cn:8900/hooks \\
        --evaluation-start 2030-06-05T09:00 --out report.pdf

Everything a panel-bearing answer could leak is absent by design: events carry ids and
states only, and the report is there only after the sign-off.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

SCOPES = [
    "projects:read",
    "projects:write",
    "draws:read",
    "draws:write",
    "sessions:read",
    "reports:read",
    "events:subscribe",
]
TOLERANCE_SECONDS = 300


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """The check every receiver makes: HMAC-SHA256 over "<timestamp>." + body, recent enough."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(time.time() - ts) > TOLERANCE_SECONDS:
        return False
    expected = (
        "v1=" + hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    )
    return hmac.compare_digest(expected, signature)


class Receiver:
    """A tiny HTTP server that verifies each event and queues it (duplicates dropped by id)."""

    def __init__(self, host: str, port: int) -> None:
        self.secrets: list[str] = []
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: set[str] = set()
        self.rejected = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ts = self.headers.get("X-ExpertPool-Timestamp", "")
                sig = self.headers.get("X-ExpertPool-Signature", "")
                if not any(verify(s, ts, body, sig) for s in receiver.secrets):
                    receiver.rejected += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                event = json.loads(body)
                # Answer 2xx quickly; a retry of the same event id is acknowledged and dropped.
                self.send_response(204)
                self.end_headers()
                if event["id"] not in receiver.seen:
                    receiver.seen.add(event["id"])
                    receiver.events.put(event)

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, kind: str, project_id: int, timeout: float) -> dict[str, Any]:
        """The next event of `kind` about the project (others are printed and skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind} event within {timeout:.0f} s")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            print(f"event {event['type']} {json.dumps(event['data'], sort_keys=True)}", flush=True)
            if event["type"] == kind and event["data"].get("project_id") == project_id:
                return event


class Pool:
    """The API with a bearer token."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.http = requests.Session()

    def call(self, method: str, path: str, expect: int, **kw: Any) -> Any:
        answer = self.http.request(method, self.base + path, timeout=30, **kw)
        if answer.status_code != expect:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json() if answer.content else None

    def login(self, username: str, password: str, client: str) -> None:
        data = self.call(
            "POST",
            "/tokens",
            201,
            json={"username": username, "password": password, "client": client, "scopes": SCOPES},
        )
        self.http.headers["Authorization"] = f"Bearer {data['token']}"


def run(args: argparse.Namespace) -> int:
    pool = Pool(args.base_url)
    pool.login(args.username, args.password, args.client)
    host, _, port = args.listen.rpartition(":")
    receiver = Receiver(host or "127.0.0.1", int(port))
    url = args.public_url or f"http://127.0.0.1:{receiver.port}/hooks/expertpool"
    for scope in ("sessions:read", "reports:read"):
        sub = pool.call("POST", "/event-subscriptions", 201, json={"scope": scope, "url": url})
        receiver.secrets.append(sub["secret"])  # shown once: keep it in your secret store
        print(f"subscribed {scope}: {', '.join(sub['event_types'])}", flush=True)

    project = pool.call(
        "POST",
        "/projects",
        201,
        json={
            "code": args.project_code,
            "name": "示例道路改造工程",
            "kind": "works",
            "budget": "8500000.00",
            "tenderer_code": "91440100MA50000019",
            "tenderer_name": "某区建设局",
            "agency_code": "91440100MA5000002C",
            "agency_name": "某招标代理有限公司",
            "tenderer_representatives": 0,
            "evaluation_start": args.evaluation_start,
            "duration_minutes": 240,
        },
        headers={"Idempotency-Key": f"create-{args.project_code}"},
    )
    pid = project["id"]
    for code, name in (
        ("91440100MA50000208", "甲建设有限公司"),
        ("91440100MA5000021B", "乙建设有限公司"),
    ):
        pool.call("POST", f"/projects/{pid}/bidders", 201, json={"credit_code": code, "name": name})
    pool.call("POST", f"/projects/{pid}/ready", 200)
    request = pool.call(
        "POST",
        f"/projects/{pid}/draw-requests",
        201,
        json={"groups": [{"specialties": [args.specialty], "count": 5, "backups": 3}]},
        headers={"X-Terminal-Token": args.terminal_token, "Idempotency-Key": f"draw-{pid}"},
    )
    print(f"project {pid} ({args.project_code}) draw request {request['id']}", flush=True)

    opened = receiver.wait_for("panel.opened", pid, args.timeout)
    print(f"panel opened: draw {opened['data']['draw_id']}", flush=True)
    signed = receiver.wait_for("report.signed", pid, args.timeout)
    room_id = signed["data"]["room_id"]
    report = pool.call("GET", f"/reports/{room_id}", 200)
    pdf = base64.b64decode(report["pdf_base64"])
    digest = hashlib.sha256(pdf).hexdigest()
    if digest != report["pdf_sha256"] or digest != signed["data"]["pdf_sha256"]:
        print("the report's digest does not match", file=sys.stderr)
        return 1
    with open(args.out, "wb") as f:
        f.write(pdf)
    print(f"report {room_id} saved to {args.out} sha256 {digest}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--client", default="example-trading-system")
    parser.add_argument("--terminal-token", required=True)
    parser.add_argument("--project-code", default=f"EX-{int(time.time())}")
    parser.add_argument("--evaluation-start", required=True, help="e.g. 2030-06-05T09:00 (CST)")
    parser.add_argument("--specialty", default="A01")
    parser.add_argument("--listen", default="127.0.0.1:0", help="host:port of the receiver")
    parser.add_argument("--public-url", default="", help="the receiver's URL as the pool sees it")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--out", default="report.pdf")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
