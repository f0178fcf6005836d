"""Run Alembic from the application (the `expertpool db` commands and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine

from expertpool.core.keys import KeyStore

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> AlembicConfig:
    """An Alembic configuration pointing at our migrations and this database."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(engine: Engine, revision: str = "head", *, keys: KeyStore | None = None) -> None:
    """Migrate the database to `revision` over the application's engine.

    Some migrations rewrite stored values with the key files (`keys`, else the settings' key
    folder): the expert tokens that replace clear expert ids, for one.
    """
    cfg = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    if keys is not None:
        cfg.attributes["keys"] = keys
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Rebuilding a table that others reference (Alembic's batch mode) needs foreign keys
            # off, which SQLite accepts only outside a transaction; they are checked afterwards.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def check(engine: Engine) -> None:
    """Raise when the models and the migrations disagree."""
    cfg = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)


def current(engine: Engine) -> None:
    """Print the current revision."""
    cfg = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.current(cfg)
