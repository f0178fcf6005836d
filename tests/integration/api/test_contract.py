"""Contract tests: schemathesis drives every operation of /api/v1 against a live server with
bounded generated requests, and fails on any 5xx and on any answer that breaks its documented
schema (status, content type, body).

It runs on a scratch PostgreSQL database always, and on SQLite too when the suite runs on SQLite.
Each operation is called with a token of a role its view admits (else every case would stop at
403), and its path parameters point at real seeded objects half of the time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

from expertpool.accounts.models import UserRole
from expertpool.core.api import document
from tests.conftest import (
    LiveServer,
    build_app,
    create_scratch_postgres,
    drop_scratch_postgres,
    make_test_config,
    postgres_url,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Bounded: a few dozen cases per operation keep the whole run to a minute or two. Per operation:
# SEEDED positive cases addressing the seeded objects, RANDOM positive and RANDOM negative ones.
SEEDED = int(os.environ.get("EXPERTPOOL_CONTRACT_EXAMPLES", "12"))
RANDOM = max(1, SEEDED * 2 // 3)
# Cases per documented example body (the other parts generated): the success paths.
EXAMPLE_RUNS = 3
# A value per path parameter that routes (to find the view of an operation).
PATH_SAMPLES = {
    "project_id": "1",
    "lot_id": "1",
    "bidder_id": "1",
    "terminal_id": "1",
    "expert_id": "1",
    "number": "1",
    "change_id": "1",
    "request_id": "1",
    "code": "A01",
    "draw_id": "D-1",
    "sub_id": "1",
}
# Which role's token calls an operation: the first of these its view admits.
ROLE_ORDER = (
    UserRole.CENTRE_STAFF,
    UserRole.REVIEWER,
    UserRole.SUPERVISOR,
    UserRole.ADMIN,
    UserRole.EXPERT,
)
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.response_schema_conformance,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
]


def _seed(app: Flask) -> dict[str, Any]:
    """Users of every role with tokens, and one of each object the paths name."""
    from expertpool.accounts import users
    from expertpool.core.db import utcnow
    from expertpool.draws import requests as draw_requests
    from expertpool.draws.rules import DrawRules
    from expertpool.experts import applications
    from expertpool.projects import projects, terminals, venues
    from tests.integration.projects.conftest import credit_code
    from tests.integration.sealing.conftest import evaluation_tomorrow

    session = app.extensions["expertpool"].sessions()
    people = {
        role: users.create_user(
            session,
            actor="test",
            username=f"contract-{role.value.replace('_', '-')}",
            display_name=role.value,
            password="password-123",
            role=role.value,
            centre_code="440100" if role is UserRole.CENTRE_STAFF else None,
        )
        for role in UserRole
    }
    tokens = {role: users.issue_token(session, user, 2)[0] for role, user in people.items()}
    expert = applications.ensure_record(session, people[UserRole.EXPERT])
    start = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%dT09:00")
    project = projects.create_project(
        session,
        actor="test",
        owner_centre_id=people[UserRole.CENTRE_STAFF].centre_id or 0,
        data={
            "code": "CT-2026-001",
            "name": "合同测试项目",
            "kind": "works",
            "budget": "8500000.00",
            "tenderer_code": credit_code(1),
            "tenderer_name": "某区建设局",
            "agency_code": credit_code(2),
            "agency_name": "某招标代理有限公司",
            "tenderer_representatives": 0,
            "evaluation_start": start,
            "duration_minutes": 240,
        },
    )
    lot = projects.add_lot(session, actor="test", project_id=project.id, code="1", name="一标段")
    bidder = projects.add_bidder(
        session,
        actor="test",
        project_id=project.id,
        credit_code=credit_code(3),
        name="某建设有限公司",
        lot_code="1",
    )
    credential, terminal = terminals.register_terminal(
        session, actor="test", centre_code="440100", name="抽取终端"
    )
    # A second project, ready, with a draw request made at the terminal: the draw operations.
    ready = projects.create_project(
        session,
        actor="test",
        owner_centre_id=people[UserRole.CENTRE_STAFF].centre_id or 0,
        data={
            "code": "CT-2026-002",
            "name": "合同测试项目二",
            "kind": "works",
            "budget": "8500000.00",
            "tenderer_code": credit_code(1),
            "tenderer_name": "某区建设局",
            "agency_code": credit_code(2),
            "agency_name": "某招标代理有限公司",
            "tenderer_representatives": 0,
            # Tomorrow, as the sealing suite's draws: within the draw's lead time and calendar.
            "evaluation_start": evaluation_tomorrow().strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": 240,
        },
    )
    projects.add_lot(session, actor="test", project_id=ready.id, code="1", name="一标段")
    projects.add_bidder(
        session, actor="test", project_id=ready.id, credit_code=credit_code(3), name="某公司"
    )
    projects.mark_ready(session, actor="test", project_id=ready.id)
    draw_request = draw_requests.create_draw_request(
        session,
        actor=people[UserRole.CENTRE_STAFF],
        terminal=terminal,
        project_id=ready.id,
        data={"lot": "1", "groups": [{"specialties": ["A0101"], "count": 5, "backups": 3}]},
        rules=DrawRules.from_config(app.extensions["expertpool"].config),
    )
    venues.create_venue(
        session, actor="test", centre_code="440100", name="评标室", address="某路1号", seats=5
    )
    from expertpool.core.pii import PiiCipher
    from expertpool.events import events

    subscription, _ = events.subscribe(
        session,
        user=people[UserRole.CENTRE_STAFF],
        token_scopes=None,
        client="contract",
        scope=events.SUBSCRIBABLE_SCOPES[0],
        url="http://127.0.0.1:9/hook",
        cipher=PiiCipher.from_keys(app.extensions["expertpool"].keys),
        allow_http=True,
        now=utcnow(),
    )
    ids = {
        "project_id": project.id,
        "lot_id": lot.id,
        "bidder_id": bidder.id,
        "terminal_id": terminal.id,
        "expert_id": expert.id,
        "number": 1,
        "change_id": 1,
        "request_id": draw_request.id,
        "code": "A01",
        "draw_id": "D-none",
        "sub_id": subscription.id,
    }
    assert set(ids) == set(PATH_SAMPLES)
    app.extensions["expertpool"].sessions.remove()
    return {
        "tokens": tokens,
        "ids": ids,
        "people": people,
        "ready_project_id": ready.id,
        "terminal_credential": credential,
    }


def _serve(app: Flask) -> Iterator[dict[str, Any]]:
    app.config["EXPERTPOOL_SWALLOW_500"] = True
    with app.app_context():
        seeded = _seed(app)
        server = LiveServer(app)
        try:
            yield {"app": app, "url": server.url, **seeded}
        finally:
            server.stop()


@pytest.fixture(params=["postgresql", "suite-database"])
def contract_server(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str
) -> Iterator[dict[str, Any]]:
    """A live server over a freshly seeded app: on PostgreSQL, and on the suite's database when
    that is SQLite (on PostgreSQL the first run already covers it)."""
    if request.param == "postgresql":
        base = postgres_url()
        scratch = create_scratch_postgres(base)
        app = build_app(make_test_config(tmp_path / "pg", scratch))
        try:
            yield from _serve(app)
        finally:
            app.extensions["expertpool"].sessions.remove()
            app.extensions["expertpool"].engine.dispose()
            drop_scratch_postgres(scratch, base)
        return
    if database_url.startswith("postgresql"):
        pytest.skip("the suite runs on PostgreSQL: covered by the postgresql run")
    url = "sqlite:///" + str(tmp_path / "contract.sqlite")
    app = build_app(make_test_config(tmp_path / "sqlite", url))
    try:
        yield from _serve(app)
    finally:
        app.extensions["expertpool"].engine.dispose()


def _role_for(app: Flask, path: str, method: str) -> UserRole | None:
    """The role whose token calls this operation (None: a public operation)."""
    sample = path
    for name in PATH_SAMPLES:
        sample = sample.replace("{" + name + "}", PATH_SAMPLES[name])
    endpoint, _ = app.url_map.bind("localhost").match(sample, method=method)
    rule = app.view_functions[endpoint]._access  # type: ignore[attr-defined]
    if rule.public:
        return None
    return next(role for role in ROLE_ORDER if role in rule.roles)


def _headers(server: dict[str, Any], operation: Any) -> dict[str, str]:
    app = server["app"]
    role = _role_for(app, operation.path, operation.method.upper())
    if role is None:
        return {}
    token = server["tokens"][role]
    if operation.path.endswith("/tokens/current"):
        # Revoking would spend the shared token: each case revokes a fresh one.
        from expertpool.accounts import users

        with app.app_context():
            token = users.issue_token(
                app.extensions["expertpool"].sessions(), server["people"][role], 1
            )[0]
            app.extensions["expertpool"].sessions.remove()
    return {"Authorization": f"Bearer {token}"}


def _exercise(server: dict[str, Any], operation: Any, strategy: Any, examples: int) -> list[str]:
    """Run generated cases of one operation; the failures, described."""
    failures: list[str] = []

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=server["url"],
            headers=_headers(server, operation),
            checks=CHECKS,
            timeout=30,
        )

    try:
        run()
    except Unsatisfiable:
        # Negative generation finds nothing to break in an operation without inputs.
        pass
    except (
        Exception,
        BaseExceptionGroup,
    ) as exc:  # collected, so that one run reports every broken operation
        failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    return failures


def _examples(doc: dict[str, Any], operation: Any) -> list[Any]:
    """The documented example bodies of an operation (valid requests that reach success)."""
    op = doc["paths"][operation.path][operation.method.lower()]
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if not schema or "$ref" not in schema:
        return []
    component = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return list(component.get("examples", []))


def test_every_operation_keeps_its_contract(contract_server: dict[str, Any]) -> None:
    app = contract_server["app"]
    with app.app_context():
        doc = document(app)
    schema = schemathesis.openapi.from_dict(doc)
    schema.config.update(base_url=contract_server["url"])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(
        1 for item in doc["paths"].values() for m in item if m in ("get", "post", "put", "delete")
    )
    failures: list[str] = []
    for operation in operations:
        seeded = {
            name: contract_server["ids"][name]
            for name in PATH_SAMPLES
            if "{" + name + "}" in operation.path
        }
        fixed_headers: dict[str, str] | None = None
        if operation.path.endswith("/draw-requests"):
            # Draw requests: the ready project, made at the seeded terminal.
            seeded["project_id"] = contract_server["ready_project_id"]
            fixed_headers = {"X-Terminal-Token": contract_server["terminal_credential"]}
        runs = [
            (operation.as_strategy(GenerationMode.POSITIVE, path_parameters=seeded), SEEDED),
            *(
                (
                    operation.as_strategy(
                        GenerationMode.POSITIVE,
                        path_parameters=seeded,
                        body=example,
                        media_type="application/json",
                        headers=fixed_headers,
                    ),
                    EXAMPLE_RUNS,
                )
                for example in _examples(doc, operation)
            ),
            (operation.as_strategy(GenerationMode.POSITIVE), RANDOM),
            (operation.as_strategy(GenerationMode.NEGATIVE), RANDOM),
        ]
        for strategy, examples in runs:
            failures.extend(_exercise(contract_server, operation, strategy, examples))
    assert not failures, "\n\n".join(failures[:20])
