"""Every registered route × every role against the reviewed expectation table below."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.conftest import login_client

pytestmark = pytest.mark.integration

ANON = "anonymous"
E, RV, CS, SV, AD = "expert", "reviewer", "centre_staff", "supervisor", "admin"
SA, AA, OC = "security_admin", "audit_admin", "org_contact"
EVERYONE = {ANON, E, RV, CS, SV, AD, SA, AA, OC}
LOGGED_IN = {E, RV, CS, SV, AD, SA, AA, OC}


def _is_static(endpoint: str) -> bool:
    """The app's and the blueprints' static files (public, no view of ours)."""
    return endpoint == "static" or endpoint.endswith(".static")


# endpoint -> the roles that may reach it. Reviewed by hand: adding a route means adding it here.
EXPECTED: dict[str, set[str]] = {
    "auth.login": EVERYONE,
    "auth.logout": EVERYONE,
    "auth.set_language": EVERYONE,
    "auth.change_password": LOGGED_IN,
    "auth.login_sessions": LOGGED_IN,
    "activation.start": EVERYONE,
    "activation.finish": EVERYONE,
    "main.index": EVERYONE,
    "main.healthz": EVERYONE,
    "main.dashboard": LOGGED_IN,
    "reference.specialties": LOGGED_IN,
    "reference.centres": {CS, SV, AD},
    "reference.centre": {CS, SV, AD},
    "admin.users": {AD},
    "admin.user_new": {AD},
    "admin.user_edit": {AD},
    "admin.audit": {AA},
    "admin.audit_export": {AA},
    "admin.role_grants": {SA},
    "admin.key_status": {SA},
    "departments.index": {AD, RV, SV, SA},
    "departments.manage": {AD},
    "organisations.my_projects": {OC},
    "organisations.my_project": {OC},
    "organisations.register": {AD},
    "organisations.manage": {AD},
    "recommendations.mine": {OC},
    "recommendations.consent": EVERYONE,
    "publicity.listing": EVERYONE,
    "publicity.object_to": EVERYONE,
    "api.create_token": EVERYONE,
    "api.revoke_token": LOGGED_IN,
    "api.me": LOGGED_IN,
    "reference_api.specialties": LOGGED_IN,
    "reference_api.specialty": LOGGED_IN,
    "experts.register": EVERYONE,
    "experts.mine": {E},
    "experts.my_leave": {E},
    "experts.my_relatives": {E},
    "training.mine": {E},
    "training.courses": {RV, AD},
    "experts.evidence": LOGGED_IN,
    "experts.review_queue": {RV},
    "experts.search": {RV, CS, SV, AD},
    "experts.record": {RV, CS, SV, AD},
    "experts.version": {E, RV, CS, SV, AD},
    "experts_api.me": {E},
    "experts_api.save": {E},
    "experts_api.submit": {E},
    "experts_api.upload": {E},
    "experts_api.leave": {E},
    "experts_api.propose": {E},
    "experts_api.search": {RV, CS, SV, AD},
    "experts_api.queue": {RV},
    "experts_api.record": {RV, CS, SV, AD},
    "experts_api.version": {RV, CS, SV, AD},
    "experts_api.decide": {RV},
    "experts_api.reveal": {RV},
    "experts_api.decide_change": {RV},
    "experts_api.set_status": {SV},
    "projects.project_list": {CS, SV, AD},
    "projects.project_new": {CS},
    "projects.project_detail": {CS, SV, AD},
    "projects.project_edit": {CS},
    "projects.lot_add": {CS},
    "projects.lot_remove": {CS},
    "projects.bidder_add": {CS},
    "projects.person_add": {CS},
    "projects.bidder_remove": {CS},
    "projects.project_ready": {CS},
    "projects.project_award": {CS},
    "projects.special_approve": {SV},
    "outcomes.project_end": {CS},
    "outcomes.project_postpone": {CS},
    "outcomes_api.project_end": {CS},
    "outcomes_api.project_postpone": {CS},
    "events.subscriptions": {CS, AD},
    "events.deliveries": {CS, AD},
    "events.remove": {CS, AD},
    "events_api.subscription_create": {CS},
    "events_api.subscription_list": {CS},
    "events_api.subscription_delete": {CS},
    "events_api.subscription_deliveries": {CS},
    "statistics.index": {CS, SV, AD},
    "statistics.export": {CS, SV, AD},
    "statistics.shortages": {SV, AD},
    "statistics.signals": {SV},
    "statistics.complaint_list": {SV},
    "statistics.complaint_detail": {SV},
    "statistics_api.figure_list": {CS, SV, AD},
    "statistics_api.figure": {CS, SV, AD},
    "statistics_api.shortages": {SV, AD},
    "statistics_api.signals": {SV},
    "statistics_api.signals_of_kind": {SV},
    "statistics.supervised_sessions": {SV},
    "statistics.complaint_attach": {SV},
    "statistics.complaint_attachment": {SV},
    "statistics.follow_session": {SV},
    "rules.rule_table": LOGGED_IN,
    "rules.change": {AD},
    "fees.published": EVERYONE,
    "fees.change": {AD},
    "fees.statement_list": {CS, SV, OC},
    "fees.make_due": {CS},
    "fees.statement": {CS, SV, OC},
    "fees.adjust": {CS},
    "fees.reverse": {CS},
    "fees.mark_paid": {CS},
    "fees.decide": {SV},
    "fees.batch_list": {CS},
    "fees.batch": {CS},
    "fees.export": {CS},
    "fees.mine": {E},
    "fees.mine_year": {E},
    "record.rules_page": EVERYONE,
    "record.session_list": {CS, SV, OC},
    "record.session_page": {CS, SV, OC},
    "record.rate": {CS, SV, OC},
    "record.waive": {SV},
    "record.post": {SV},
    "record.mine": {E},
    "record.object_to": {E},
    "record.my_archive": {E},
    "record.reviews": {RV, SV},
    "record.decide_objection": {RV},
    "record.decide_sanction": {RV},
    "record.evidence": {RV, SV},
    "record.archive_page": {E, RV, SV},
    "record.archive_pdf": {E, RV, SV},
    "record.propose_sanction": {RV, SV},
    "record.complaint_upheld": {SV},
    "draws.draw_request_new": {CS},
    "draws.draw_request_detail": {CS, SV, AD},
    "projects.terminal_enrol": {CS},
    "terminals.terminal_list": {AD},
    "terminals.terminal_disable": {AD},
    "terminals.venue_list": {AD},
    "terminals.venue_availability": {CS},
    "draws.draw_keys": EVERYONE,
    "draws.report_signing_pem": EVERYONE,
    "projects_api.project_list": {CS, SV, AD},
    "projects_api.project_create": {CS},
    "projects_api.project_get": {CS, SV, AD},
    "projects_api.project_update": {CS},
    "projects_api.lot_add": {CS},
    "projects_api.lot_remove": {CS},
    "projects_api.bidder_add": {CS},
    "projects_api.bidder_remove": {CS},
    "projects_api.project_ready": {CS},
    "projects_api.project_award": {CS},
    "draws_api.draw_request_create": {CS},
    "draws_api.draw_request_get": {CS, SV, AD},
    "projects_api.terminal_list": {AD},
    "projects_api.terminal_register": {AD},
    "projects_api.terminal_disable": {AD},
    "projects_api.venue_list": {CS, SV, AD},
    "projects_api.venue_create": {AD},
    "draws_api.draw_keys": EVERYONE,
    # The API's description is public (it holds no data).
    "apidocs.openapi": EVERYONE,
    "apidocs.docs": EVERYONE,
    "draws.draw_list": {CS, SV, AD},
    "draws.preview": {CS, SV, AD},
    "draws.prepare": {CS},
    "draws.draw_page": {CS, SV, AD},
    # Per draw, and then only the owning centre's staff and the witnessing supervisor (404 for
    # the others of these roles: tests/integration/draws/test_progress_scope.py).
    "draws.invitation_progress": {CS, SV},
    "draws.witness_operator": {CS},
    "draws.witness_supervisor": {CS},
    "draws.run": {CS},
    "draws.abandon": {CS},
    "draws.open_session": {CS},
    "draws.panel": {CS, SV},
    "draws.transcript": {SV, AD},
    "projects.appointments": {CS, SV},
    "projects.appointment_decide": {SV},
    # Provider callbacks are @public but answer 403 to any request without a valid Twilio
    # signature, so here (unsigned) every role is refused.
    "webhooks.voice": set(),
    "webhooks.gather": set(),
    "webhooks.call_status": set(),
    "webhooks.sms_inbound": set(),
    "webhooks.sms_status": set(),
    # Alibaba Cloud's pushes come to a secret path from an allowed network; anything else is 403.
    "aliyun_push.aliyun_push": set(),
    "invitation_link.answer": EVERYONE,
    "outbox.index": {AD},
    # The console notifier's simulation (the test app's notifier); with a real provider these
    # answer 404 to everyone (tests/integration/notifications/test_sealed_outbox.py).
    "outbox.simulation": {AD},
    "outbox.simulate": {AD},
    "draws.contact_record_page": {SV},
    "draws_api.contact_record_api": {SV},
    "rooms.index": LOGGED_IN,
    "rooms.open_lot": {CS},
    "rooms.method": {CS},
    "rooms.bidders": {CS},
    "rooms.templates": {CS},
    "rooms.template": {CS},
    "rooms_api.draw_panel": {CS, SV, AD, E},
    "rooms_api.room": {CS, SV, AD, E},
    "rooms.room": LOGGED_IN,
    "rooms.report": LOGGED_IN,
    "rooms.report_pdf": LOGGED_IN,
    "reports.signed_pdf": LOGGED_IN,
    # Bid documents: the owning centre's staff upload, project readers list; only the room's
    # participants read them (members after check-in, while the session is open:
    # tests/integration/bids/test_bid_documents.py).
    "bids.project_documents": {CS, SV, AD},
    "bids.document_upload": {CS},
    "bids.document_remove": {CS},
    "bids.room_documents": LOGGED_IN,
    "bids.room_document": LOGGED_IN,
    "bids_api.document_list": {CS, SV, AD},
    "bids_api.document_upload": {CS},
    "reports_api.signed_report": {CS, SV, AD, E, OC},
}

# Values for URL parameters, chosen so that an allowed request reaches the view.
PARAMS: dict[str, Any] = {"code": "440100", "user_id": 1, "message_id": 1, "token": "x"}


def _url(rule: Any) -> str:
    values = {
        arg: PARAMS.get(arg, 1 if "int" in str(rule._converters.get(arg, "")).lower() else "x")
        for arg in rule.arguments
    }
    from flask import url_for

    return url_for(rule.endpoint, **values)


def test_every_route_is_in_the_expectation_table(app: Flask) -> None:
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if not _is_static(r.endpoint)}
    assert endpoints - set(EXPECTED) == set(), "routes missing from EXPECTED"
    assert set(EXPECTED) - endpoints == set(), "EXPECTED names routes that do not exist"


def test_every_route_allows_exactly_the_expected_roles(app: Flask, make_user: Any) -> None:
    from expertpool.accounts import users

    app.config["WTF_CSRF_ENABLED"] = False
    app.config["EXPERTPOOL_SWALLOW_500"] = True
    try:
        # The system administrator is made first (user 1): `admin.user_edit` edits user 1, and
        # other administrators' accounts are not the system administrator's to edit.
        people = {
            role: make_user(role=role, centre="440100" if role == CS else None)
            for role in sorted(LOGGED_IN)
        }
        session = app.extensions["expertpool"].sessions()
        failures = []
        rules = [r for r in app.url_map.iter_rules() if not _is_static(r.endpoint)]
        for rule in rules:
            allowed = EXPECTED[rule.endpoint]
            method = (
                "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
            )
            with app.test_request_context():
                url = _url(rule)
            for role in [ANON, *sorted(LOGGED_IN)]:
                client = app.test_client()
                headers = {}
                if role != ANON:
                    if url.startswith("/api/"):
                        # A fresh token each time: one of the routes revokes the token it is called
                        # with.
                        headers["Authorization"] = (
                            f"Bearer {users.issue_token(session, people[role], 1)[0]}"
                        )
                    else:
                        login_client(client, people[role])
                resp = client.open(url, method=method, headers=headers)
                # A refusal by scope (a reviewer outside the record's department) means the role
                # reached the view: scopes are tested per feature (test_review_scope.py, ...).
                scoped = b'data-error-code="outside_department"' in resp.data
                denied = (resp.status_code in (401, 403) and not scoped) or (
                    # The guard sends anonymous visitors to the login page with the page they
                    # wanted.
                    resp.status_code == 302 and "/login?next=" in resp.headers.get("Location", "")
                )
                if (role in allowed) == denied:
                    failures.append(f"{rule.endpoint} {method} {url} as {role}: {resp.status_code}")
        assert not failures, "\n".join(failures)
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
        app.config.pop("EXPERTPOOL_SWALLOW_500", None)
