"""What the benchmarks share: scratch databases, a migrated and seeded app, made-up codes.

The benchmarks never import `tests/` (they must run without pytest); the tests have their own
fixtures for the same things.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from expertpool.app import create_app
from expertpool.core import migrate
from expertpool.core.config import Config
from expertpool.departments.catalogue import city_regions
from expertpool.departments.coverage import bundled as bundled_departments
from expertpool.departments.members import load_departments
from expertpool.projects.codes import credit_code_check_char
from expertpool.reference import catalogue as reference

PASSWORD = "password-123"
COORDINATION = "440000-coordination"
"""The province's coordinating department: it supervises every project (give it supervisors)."""


def create_scratch_postgres(base_url: str) -> str:
    """A new empty database next to `base_url` (a PostgreSQL URL); returns its URL."""
    url = make_url(base_url)
    name = f"ep_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_scratch_postgres(scratch_url: str, base_url: str) -> None:
    """Drop a database made by `create_scratch_postgres`."""
    admin = create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(f'DROP DATABASE IF EXISTS "{make_url(scratch_url).database}" WITH (FORCE)')
        )
    admin.dispose()


def bench_config(instance: Path, database_url: str, **overrides: Any) -> Config:
    """Settings for a benchmark app: no embedded notification worker, cheap password hashing."""
    values: dict[str, Any] = {
        "instance_path": str(instance),
        "database_url": database_url,
        "secret_key": "bench-secret-" + "x" * 20,
        "notify_worker_in_process": False,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
    }
    values.update(overrides)
    return Config(**values)


def build_app(config: Config) -> Flask:
    """Create, migrate and seed an app with the bundled regions and specialties."""
    app = create_app(config)
    st = app.extensions["expertpool"]
    st.keys.init()
    migrate.upgrade(st.engine, keys=st.keys)
    with app.app_context():
        session = st.sessions()
        reference.load_regions(session, reference.bundled("regions-guangdong.json"))
        reference.load_specialties(session, reference.bundled("specialties.json"))
        # Supervisors act only for projects their department supervises (#25).
        load_departments(session, bundled_departments(), city_regions(session), actor="bench")
        session.commit()
        st.sessions.remove()
    return app


def credit_code(n: int) -> str:
    """A valid made-up unified social credit code."""
    first17 = f"91440100MA5{n:06d}"
    return first17 + credit_code_check_char(first17)


def project_payload(**overrides: Any) -> dict[str, Any]:
    """A valid project as the projects service expects it."""
    data: dict[str, Any] = {
        "code": "GZ-2026-001",
        "name": "道路改造工程",
        "kind": "works",
        "budget": "8500000.00",
        "tenderer_code": credit_code(1),
        "tenderer_name": "某区建设局",
        "agency_code": credit_code(2),
        "agency_name": "某招标代理有限公司",
        "tenderer_representatives": 0,
        "evaluation_start": "2026-06-05T09:00",
        "duration_minutes": 240,
    }
    data.update(overrides)
    return data
