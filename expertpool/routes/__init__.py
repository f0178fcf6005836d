"""Blueprint registration."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from expertpool.routes import admin, api, auth, main, reference, rooms


def register_blueprints(app: Flask, csrf: CSRFProtect) -> None:
    """Register every blueprint; the JSON API takes bearer tokens and is exempt from CSRF."""
    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(reference.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(rooms.bp)
    csrf.exempt(api.bp)
