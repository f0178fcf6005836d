"""Blueprint registration."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from expertpool.routes import (
    admin,
    api,
    auth,
    draws,
    experts,
    experts_api,
    main,
    outbox,
    projects,
    projects_api,
    reference,
    rooms,
    terminals,
    webhooks,
)


def register_blueprints(app: Flask, csrf: CSRFProtect) -> None:
    """Register every blueprint; the JSON API takes bearer tokens and is exempt from CSRF."""
    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(reference.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(projects.bp)
    app.register_blueprint(terminals.bp)
    app.register_blueprint(draws.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(experts.bp)
    app.register_blueprint(experts_api.bp)
    app.register_blueprint(rooms.bp)
    csrf.exempt(api.bp)
    csrf.exempt(experts_api.bp)
    app.register_blueprint(projects_api.bp)
    csrf.exempt(projects_api.bp)
    app.register_blueprint(webhooks.bp)
    csrf.exempt(webhooks.bp)  # provider callbacks: authenticated by their signature instead
    app.register_blueprint(webhooks.links)
    app.register_blueprint(outbox.bp)
