"""One error family as pages and JSON; Chinese by default with an English switch."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from expertpool.core.errors import Conflict, ValidationFailed
from tests.conftest import csrf_token

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def _raise(kind: str) -> str:
    """A view raising the error its URL names."""
    if kind == "validation":
        raise ValidationFailed(fields={"name": "Required."})
    if kind == "conflict":
        raise Conflict()
    raise RuntimeError("secret internals")


@pytest.fixture(scope="module")
def raising_app(_app: Flask) -> Iterator[Flask]:
    """A second app on the same database with test-only routes (the shared app's routes stay as
    reviewed).
    """
    from expertpool.accounts.access import public
    from expertpool.app import create_app

    extra = create_app(_app.extensions["expertpool"].config)
    view = public(_raise)
    extra.add_url_rule("/_raise/<kind>", "raise_page", view)
    extra.add_url_rule("/api/_raise/<kind>", "raise_api", view)
    yield extra
    extra.extensions["expertpool"].engine.dispose()


def test_an_app_error_becomes_a_page_with_its_code_and_fields(raising_app: Flask) -> None:
    resp = raising_app.test_client().get("/_raise/validation")
    assert resp.status_code == 422
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert 'data-error-code="validation_failed"' in html
    assert "部分字段填写有误" in html and "<b>name</b>" in html


def test_an_app_error_becomes_json_under_the_api(raising_app: Flask) -> None:
    resp = raising_app.test_client().get("/api/_raise/validation")
    assert resp.status_code == 422
    assert resp.get_json() == {
        "error": {
            "code": "validation_failed",
            "message": "部分字段填写有误。",
            "fields": {"name": "Required."},
        }
    }


def test_a_client_asking_for_json_gets_json_from_a_page(raising_app: Flask) -> None:
    resp = raising_app.test_client().get("/_raise/conflict", headers={"Accept": "application/json"})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "conflict"


def test_an_unknown_api_address_is_404_json(client: FlaskClient) -> None:
    resp = client.get("/api/unknown")
    assert resp.status_code == 404
    assert resp.get_json() == {
        "error": {"code": "not_found", "message": "该地址没有对应的页面。", "fields": {}}
    }


def test_an_unknown_page_is_a_404_page(client: FlaskClient) -> None:
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert 'data-error-code="not_found"' in resp.get_data(as_text=True)


def test_a_wrong_method_is_405_with_the_allowed_methods(client: FlaskClient) -> None:
    resp = client.put("/api/tokens", json={})
    assert resp.status_code == 405
    assert resp.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in resp.headers["Allow"]
    page = client.get("/logout")
    assert page.status_code == 405
    assert 'data-error-code="method_not_allowed"' in page.get_data(as_text=True)


def test_an_unexpected_error_is_a_generic_500_without_details(raising_app: Flask) -> None:
    raising_app.config["EXPERTPOOL_SWALLOW_500"] = True
    try:
        resp = raising_app.test_client().get("/api/_raise/boom")
    finally:
        raising_app.config.pop("EXPERTPOOL_SWALLOW_500")
    assert resp.status_code == 500
    assert resp.get_json()["error"]["code"] == "internal_error"
    assert "secret" not in resp.get_data(as_text=True)


def test_the_interface_is_chinese_by_default(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    login(client, make_user(role="admin"))
    html = client.get("/dashboard").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    for label in ("首页", "专业分类", "交易中心", "用户", "终端管理", "退出"):
        assert label in html, label


def test_the_english_switch_works_and_persists_in_the_session(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    login(client, make_user(role="admin"))
    token = csrf_token(client, "/specialties")
    resp = client.post("/lang/en", data={"csrf_token": token, "next": "/specialties?parent=A"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/specialties?parent=A"
    for path in ("/dashboard", "/admin/users", "/specialties"):
        html = client.get(path).get_data(as_text=True)
        assert '<html lang="en">' in html, path
        assert "Specialties" in html and "Log out" in html and "专业分类" not in html
    token = csrf_token(client, "/dashboard")
    client.post("/lang/zh", data={"csrf_token": token})
    assert '<html lang="zh-CN">' in client.get("/dashboard").get_data(as_text=True)


def test_the_language_switch_needs_its_csrf_token_and_ignores_unknown_languages(
    client: FlaskClient,
) -> None:
    assert client.post("/lang/en").status_code == 403
    token = csrf_token(client, "/login")
    client.post("/lang/fr", data={"csrf_token": token, "next": "https://evil.example/"})
    assert '<html lang="zh-CN">' in client.get("/login").get_data(as_text=True)


def test_the_language_switch_never_redirects_off_site(client: FlaskClient) -> None:
    token = csrf_token(client, "/login")
    resp = client.post("/lang/en", data={"csrf_token": token, "next": "//evil.example/"})
    assert resp.headers["Location"] == "/dashboard"


def test_errors_speak_the_chosen_language(client: FlaskClient) -> None:
    token = csrf_token(client, "/login")
    client.post("/lang/en", data={"csrf_token": token})
    resp = client.get("/no/such/page")
    assert "There is no page at this address." in resp.get_data(as_text=True)


def test_every_string_has_its_chinese_translation() -> None:
    out = subprocess.run(
        [sys.executable, "tools/i18n.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
