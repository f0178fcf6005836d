"""/api/v1: the document, the one error shape, paging, idempotency keys, scoped client tokens and
the deprecated unversioned paths."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import OpenAPIV31SpecValidator
from sqlalchemy import func, select

from expertpool.core.db import utcnow
from tests.conftest import PASSWORD
from tests.integration.projects.conftest import credit_code

pytestmark = pytest.mark.integration


def _token(http: FlaskClient, user: Any, **extra: Any) -> dict[str, Any]:
    resp = http.post(
        "/api/v1/tokens", json={"username": user.username, "password": PASSWORD, **extra}
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()  # type: ignore[no-any-return]


def _auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def _project(code: str = "V1-001", **overrides: Any) -> dict[str, Any]:
    start = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%dT09:00")
    data = {
        "code": code,
        "name": "接口测试项目",
        "kind": "works",
        "budget": "8500000.00",
        "tenderer_code": credit_code(1),
        "tenderer_name": "某区建设局",
        "agency_code": credit_code(2),
        "agency_name": "某招标代理有限公司",
        "tenderer_representatives": 0,
        "evaluation_start": start,
        "duration_minutes": 240,
    }
    data.update(overrides)
    return data


# The document ----------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(client: FlaskClient) -> None:
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(doc).validate()


def test_every_api_route_is_described_with_errors_and_paging(
    app: Flask, client: FlaskClient
) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    undocumented = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("apidocs."):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = doc["paths"].get(path, {}).get(method.lower())
            if op is None:
                undocumented.append(f"{method} {path}")
                continue
            assert op["responses"]["422"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"
            }
            answer = next(v for k, v in op["responses"].items() if k.startswith("2"))
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            name = schema.get("$ref", "").rsplit("/", 1)[-1]
            if name and "items" in doc["components"]["schemas"][name].get("properties", {}):
                params = {p["name"] for p in op["parameters"] if p["in"] == "query"}
                assert {"page", "per_page"} <= params, f"{method} {path} lists without paging"
    assert not undocumented


def test_the_reference_page_lists_every_operation_without_outside_assets(
    client: FlaskClient,
) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    html = client.get("/api/v1/docs").get_data(as_text=True)
    for path in doc["paths"]:
        assert path in html
    assert '<script src="http' not in html and "cdn" not in html.lower()


# Errors ------------------------------------------------------------------------------------------


def test_v1_errors_have_one_shape_with_messages_per_field(client: FlaskClient) -> None:
    resp = client.post("/api/v1/tokens", json={"username": "", "extra": 1})
    assert resp.status_code == 422
    body = resp.get_json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == "validation_failed"
    assert body["message"] == "部分字段填写有误。"
    assert body["fields"]["password"] == ["必填。"]
    assert body["fields"]["extra"] == ["未知字段。"]
    assert all(isinstance(v, list) for v in body["fields"].values())
    resp = client.post("/api/v1/tokens", data="[1, 2]", content_type="application/json")
    assert resp.get_json()["fields"] == {"body": ["应为 JSON 对象。"]}
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "not_found"
    unauthenticated = client.get("/api/v1/me")
    assert unauthenticated.status_code == 401
    assert unauthenticated.get_json()["code"] == "unauthenticated"


def test_the_unversioned_paths_keep_answering_with_the_old_shape_and_a_deprecation(
    client: FlaskClient, make_user: Callable[..., Any]
) -> None:
    user = make_user(role="reviewer")
    token = _token(client, user)["token"]
    old = client.get("/api/me", headers=_auth(token))
    new = client.get("/api/v1/me", headers=_auth(token))
    assert old.status_code == new.status_code == 200
    assert old.get_json() == new.get_json()
    assert old.headers["Deprecation"].startswith("@")
    assert old.headers["Link"] == '</api/v1/me>; rel="successor-version"'
    assert "Deprecation" not in new.headers
    refused = client.post("/api/tokens", json={"username": "x"})
    assert refused.get_json()["error"]["fields"] == {"password": "必填。"}
    assert "Deprecation" in refused.headers
    # As before, the old paths ignore what they do not know; /api/v1 refuses it.
    lenient = {"username": user.username, "password": PASSWORD, "device": "old-client"}
    assert client.post("/api/tokens", json=lenient).status_code == 201
    assert client.post("/api/v1/tokens", json=lenient).status_code == 422
    assert client.get("/api/specialties?q=公路&lang=zh", headers=_auth(token)).status_code == 200
    assert client.get("/api/v1/specialties?q=公路&lang=zh", headers=_auth(token)).status_code == 422


# Paging ------------------------------------------------------------------------------------------


def test_lists_are_paged(client: FlaskClient, make_user: Callable[..., Any]) -> None:
    token = _token(client, make_user(role="admin"))["token"]
    for n in range(3):
        resp = client.post(
            "/api/v1/venues",
            json={"centre": "440100", "name": f"评标室{n}", "address": "某路", "seats": 2},
            headers=_auth(token),
        )
        assert resp.status_code == 201, resp.get_data(as_text=True)
    first = client.get("/api/v1/venues?per_page=2", headers=_auth(token)).get_json()
    assert (len(first["items"]), first["total"], first["page"], first["next_page"]) == (2, 3, 1, 2)
    second = client.get("/api/v1/venues?per_page=2&page=2", headers=_auth(token)).get_json()
    assert (len(second["items"]), second["next_page"]) == (1, None)
    assert {v["id"] for v in first["items"]}.isdisjoint(v["id"] for v in second["items"])
    too_many = client.get("/api/v1/venues?per_page=101", headers=_auth(token))
    assert too_many.status_code == 422
    assert "per_page" in too_many.get_json()["fields"]


# Idempotency -----------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_replays_the_first_answer(
    app: Flask, client: FlaskClient, make_user: Callable[..., Any]
) -> None:
    from expertpool.projects.models import Project

    token = _token(client, make_user(role="centre_staff", centre="440100"))["token"]
    headers = _auth(token, **{"Idempotency-Key": "create-1"})
    first = client.post("/api/v1/projects", json=_project(), headers=headers)
    assert first.status_code == 201, first.get_data(as_text=True)
    again = client.post("/api/v1/projects", json=_project(), headers=headers)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    session = app.extensions["expertpool"].sessions()
    assert session.execute(select(func.count()).select_from(Project)).scalar_one() == 1
    # The same key with another body is refused, and nothing is created.
    other = client.post("/api/v1/projects", json=_project("V1-002"), headers=headers)
    assert other.status_code == 422
    assert other.get_json()["code"] == "idempotency_key_reused"
    assert session.execute(select(func.count()).select_from(Project)).scalar_one() == 1


def test_a_failed_call_does_not_spend_its_key_and_keys_are_per_token(
    app: Flask, client: FlaskClient, make_user: Callable[..., Any]
) -> None:
    staff = make_user(role="centre_staff", centre="440100")
    token = _token(client, staff)["token"]
    headers = _auth(token, **{"Idempotency-Key": "k"})
    bad = client.post("/api/v1/projects", json=_project(budget="-1"), headers=headers)
    assert bad.status_code == 422
    good = client.post("/api/v1/projects", json=_project(), headers=headers)
    assert good.status_code == 201
    second_token = _token(client, staff)["token"]
    elsewhere = client.post(
        "/api/v1/projects",
        json=_project("V1-009"),
        headers=_auth(second_token, **{"Idempotency-Key": "k"}),
    )
    assert elsewhere.status_code == 201
    assert elsewhere.get_json()["id"] != good.get_json()["id"]


def test_a_stored_answer_is_encrypted(
    app: Flask, client: FlaskClient, make_user: Callable[..., Any]
) -> None:
    from expertpool.accounts.models import IdempotentCall

    token = _token(client, make_user(role="admin"))["token"]
    headers = _auth(token, **{"Idempotency-Key": "terminal-1"})
    resp = client.post(
        "/api/v1/terminals", json={"centre": "440100", "name": "终端"}, headers=headers
    )
    credential = resp.get_json()["credential"]
    replay = client.post(
        "/api/v1/terminals", json={"centre": "440100", "name": "终端"}, headers=headers
    )
    assert replay.get_json()["credential"] == credential
    session = app.extensions["expertpool"].sessions()
    row = session.execute(select(IdempotentCall)).scalar_one()
    assert row.answer_enc is not None and credential.encode() not in row.answer_enc


# Client tokens and scopes ----------------------------------------------------------------------


def test_a_scoped_client_token_reaches_only_its_scopes(
    client: FlaskClient, make_user: Callable[..., Any]
) -> None:
    staff = make_user(role="centre_staff", centre="440100")
    issued = _token(client, staff, client="gz-trading-system", scopes=["projects:read"])
    assert issued["client"] == "gz-trading-system"
    assert issued["scopes"] == ["projects:read"]
    token = issued["token"]
    me = client.get("/api/v1/me", headers=_auth(token)).get_json()
    assert (me["client"], me["scopes"]) == ("gz-trading-system", ["projects:read"])
    assert client.get("/api/v1/projects", headers=_auth(token)).status_code == 200
    refused = client.post("/api/v1/projects", json=_project(), headers=_auth(token))
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "insufficient_scope"
    # A person's own token (no scopes) may do whatever the role may.
    own = _token(client, staff)["token"]
    assert client.post("/api/v1/projects", json=_project(), headers=_auth(own)).status_code == 201
    unknown = client.post(
        "/api/v1/tokens",
        json={"username": staff.username, "password": PASSWORD, "scopes": ["everything"]},
    )
    assert unknown.status_code == 422
    assert "scopes.0" in unknown.get_json()["fields"]


def test_a_centres_trading_system_sees_its_centre_only(
    client: FlaskClient, make_user: Callable[..., Any]
) -> None:
    mine = _token(
        client,
        make_user(role="centre_staff", centre="440100"),
        client="gz-trading-system",
        scopes=["projects:read", "projects:write"],
    )["token"]
    theirs = _token(client, make_user(role="centre_staff", centre="440300"))["token"]
    own = client.post("/api/v1/projects", json=_project("GZ-1"), headers=_auth(mine)).get_json()
    other = client.post("/api/v1/projects", json=_project("SZ-1"), headers=_auth(theirs)).get_json()
    listed = client.get("/api/v1/projects", headers=_auth(mine)).get_json()
    assert [p["id"] for p in listed["items"]] == [own["id"]]
    assert listed["total"] == 1
    resp = client.get(f"/api/v1/projects/{other['id']}", headers=_auth(mine))
    assert resp.status_code == 403
    assert resp.get_json()["code"] == "outside_centre"


def test_an_evidence_upload_with_a_key_is_stored_once(
    app: Flask, client: FlaskClient, make_user: Callable[..., Any]
) -> None:
    from expertpool.experts.models import EvidenceFile
    from tests.integration.experts.conftest import PDF

    token = _token(client, make_user(role="expert"))["token"]
    headers = _auth(token, **{"Idempotency-Key": "upload-1"})
    answers = [
        client.post(
            "/api/v1/experts/me/evidence",
            headers=headers,
            data={"file": (io.BytesIO(PDF), "c.pdf")},
            content_type="multipart/form-data",
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].get_json() == answers[1].get_json()
    session = app.extensions["expertpool"].sessions()
    assert session.execute(select(func.count()).select_from(EvidenceFile)).scalar_one() == 1


def test_a_key_is_forgotten_after_a_day(
    app: Flask, client: FlaskClient, make_user: Callable[..., Any]
) -> None:
    from expertpool.accounts.idempotency import KEEP
    from expertpool.accounts.models import IdempotentCall

    token = _token(client, make_user(role="centre_staff", centre="440100"))["token"]
    headers = _auth(token, **{"Idempotency-Key": "old"})
    first = client.post("/api/v1/projects", json=_project(), headers=headers)
    assert first.status_code == 201
    session = app.extensions["expertpool"].sessions()
    row = session.execute(select(IdempotentCall)).scalar_one()
    row.created_at = utcnow() - KEEP - timedelta(minutes=1)
    session.commit()
    # Past a day the key is free again: the same key now names a new request.
    again = client.post("/api/v1/projects", json=_project("V1-OLD"), headers=headers)
    assert again.status_code == 201
    assert again.get_json()["id"] != first.get_json()["id"]


def test_a_bad_date_is_named_in_the_callers_language(
    client: FlaskClient, make_user: Callable[..., Any]
) -> None:
    token = _token(client, make_user(role="expert"))["token"]
    resp = client.post(
        "/api/v1/experts/me/leave",
        json={"start_on": "31/01/2030", "end_on": "2030-02-03"},
        headers=_auth(token),
    )
    assert resp.status_code == 422
    assert resp.get_json()["fields"] == {"start_on": ["请使用 2020-01-31 这样的日期格式。"]}


def test_a_second_application_in_the_process_gets_a_whole_document(
    tmp_path: Any, database_url: str
) -> None:
    """SpecTree lifts nested models out of its registry while generating; the second app of a
    process (a test run, a CLI beside a server) must still get every referenced schema."""
    import json
    import re

    from expertpool.core.api import document
    from tests.conftest import build_app, make_test_config

    for n in (1, 2):
        app = build_app(make_test_config(tmp_path / f"i{n}", database_url))
        with app.app_context():
            doc = document(app)
        refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(doc)))
        assert refs <= set(doc["components"]["schemas"]), n
        app.extensions["expertpool"].engine.dispose()
