"""One frozen settings object, built once from the environment."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


_PLAIN_NAMES = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "secret_key": "SECRET_KEY",
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_from_number": "TWILIO_FROM_NUMBER",
    "twilio_api_base_url": "TWILIO_API_BASE_URL",
}


def _env_name(field_name: str) -> str:
    return _PLAIN_NAMES.get(field_name, "EXPERTPOOL_" + field_name.upper())


def _default_instance_path() -> str:
    return str(Path.cwd() / "instance")


@dataclass(frozen=True)
class Config:
    """Every setting of the application with its default.

    Only `Config.from_env()` reads the environment; tests build `Config(...)` directly.
    """

    # Core
    instance_path: str = field(default_factory=_default_instance_path)
    database_url: str = ""  # empty: SQLite file in the instance folder
    redis_url: str = ""  # empty: no Redis (in-process message queue and rate-limit storage)
    secret_key: str = ""  # empty: generated once and kept in the instance folder
    key_dir: str = ""  # empty: <instance>/keys
    testing: bool = False
    default_locale: str = "zh"
    public_base_url: str = "http://127.0.0.1:5000"
    session_cookie_secure: bool = False
    proxy_fix_hops: int = (
        0  # trusted reverse proxies in front (X-Forwarded-For/-Proto/-Host); 0: none
    )
    login_rate_limit: str = "5 per minute"  # one username from one address, every attempt
    login_account_limit: str = "10 per 15 minutes"  # failures for one username, any address
    login_address_limit: str = "30 per 10 minutes"  # failures from one address, any username
    # Argon2 hashes computed at once (each takes a core for ~50 ms and 64 MiB): a login burst
    # waits its turn instead of starving every other request; 0 means no bound.
    argon2_parallel: int = 1
    # Server-side login sessions (expertpool.accounts.logins): ended after this long without a
    # request, and this long after the login whatever happens.
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    api_token_ttl_hours: int = 12
    audit_checkpoint_file: str = ""  # empty: <instance>/audit-checkpoints.jsonl
    # One person holds the system, security and audit administrators' powers (三员合一): only for
    # an embedded demo or a trial; every page then says so.
    single_admin: bool = False

    # Experts and the pool (docs/domain.md)
    min_years_experience: int = 8
    max_specialties: int = 3
    age_cap: int = 70
    evidence_max_bytes: int = 10 * 1024 * 1024
    evidence_dir: str = ""  # empty: <instance>/evidence
    # Bid documents (expertpool/bids): the largest PDF and the most pages one upload may have.
    bid_max_bytes: int = 40 * 1024 * 1024
    bid_max_pages: int = 2000
    conflict_lookback_years: int = 3
    pool_rules_file: str = ""  # empty: the bundled expertpool/experts/data/pool-rules-v1.json
    credit_rules_file: str = ""  # empty: the bundled expertpool/record/data/credit-rules-v1.json
    # The entry rule set of expertpool/experts/data/entry-rules-v1.json: review chain, batches,
    # publicity ("single": one review step, no batches, no publicity).
    entry_rules: str = "guangdong"
    maintenance_in_process: bool = True  # the daily upkeep as a thread of the web process
    maintenance_check_seconds: int = 300  # how often that thread looks whether today's run is due

    # Expert accounts: one-time SMS codes that set a password (activation, forgotten password)
    account_code_ttl_minutes: int = 10
    account_code_max_attempts: int = 5
    account_codes_per_hour: int = 3  # per account; more requests are answered alike, unsent
    account_code_rate_limit: str = "5 per 10 minutes"  # per address: codes asked for, codes tried

    # Draws
    frequency_window_days: int = 90
    frequency_cap: int = 0  # 0: no cap by default; a request may set its own
    draw_lead_working_days: int = 2
    committee_min_members: int = 5
    committee_large_min_members: int = 7
    committee_large_budget_cny: int = 10_000_000
    remote_hide_secondary_venue: bool = True
    # Worker processes (per web process) that compute a draw's eligibility, digests and ranking
    # beside the web process; 0: in the web process (always so when testing).
    draw_worker_processes: int = 1

    # Notifications
    notifier: str = "console"  # console | twilio | aliyun
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_api_base_url: str = ""  # empty: Twilio's own; tests point it at a loopback fake
    twilio_timeout_seconds: int = 10
    call_retries: int = 3
    call_retry_minutes: int = 10
    response_deadline_minutes: int = 60
    notify_max_attempts: int = 6
    notify_lease_seconds: int = 120  # a claim older than this is from a dead worker
    notify_worker_in_process: bool = True
    centre_contact_phone: str = "020-00000000"
    # Alibaba Cloud SMS (dysmsapi) and voice (dyvmsapi), EXPERTPOOL_NOTIFIER=aliyun
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: str = ""
    aliyun_sms_endpoint: str = ""  # empty: dysmsapi.aliyuncs.com; tests: the loopback fake
    aliyun_voice_endpoint: str = ""  # empty: dyvmsapi.aliyuncs.com; tests: the loopback fake
    aliyun_sign_name: str = ""  # the registered SMS signature (签名), e.g. 广东省评标专家库
    aliyun_called_show_number: str = ""  # the registered caller number of voice calls
    # Registered template codes, one per message kind: "invitation=SMS_1,confirmation=SMS_2,..."
    aliyun_sms_templates: str = ""
    # Voice templates (TTS codes): "invitation=TTS_1,accepted=TTS_2,declined=TTS_3"
    aliyun_voice_templates: str = ""
    # Whether the invitation template has a link variable (links only where the template allows)
    aliyun_sms_link_allowed: bool = False
    # Pushed replies and call reports: the secret path segment and the allowed source networks
    aliyun_push_secret: str = ""
    aliyun_push_sources: str = ""  # comma-separated CIDRs, e.g. "106.11.0.0/16,127.0.0.1/32"
    # The demo: run the chosen provider (twilio or aliyun) against its loopback fake, in-process
    notifier_fake: bool = False
    # Outbound events: allow http:// subscriber URLs (tests and the demo only; https otherwise)
    events_allow_http: bool = False

    # Evaluation room
    deviation_percent: int = 30
    drop_extremes: bool = False
    checkin_code_ttl_minutes: int = 10
    socketio_async_mode: str = "threading"
    socketio_channel: str = (
        "expertpool"  # Redis pub/sub channel shared by the processes of one site
    )

    def __post_init__(self) -> None:
        if self.database_url:
            try:
                make_url(self.database_url)
            except ArgumentError as exc:
                raise ConfigError(f"DATABASE_URL is malformed: {exc}") from None
            scheme = self.database_url.split(":", 1)[0]
            if scheme not in ("sqlite", "postgresql+psycopg", "postgresql+psycopg2"):
                raise ConfigError(
                    f"DATABASE_URL scheme {scheme!r} is not supported "
                    "(use sqlite:/// or postgresql+psycopg://)"
                )
        if self.notifier not in ("console", "twilio", "aliyun"):
            raise ConfigError(
                f"EXPERTPOOL_NOTIFIER must be console, twilio or aliyun, not {self.notifier!r}"
            )
        if (
            self.notifier == "aliyun"
            and not self.notifier_fake
            and not (
                self.aliyun_access_key_id
                and self.aliyun_access_key_secret
                and self.aliyun_sign_name
                and self.aliyun_sms_templates
                and self.aliyun_voice_templates
            )
        ):
            raise ConfigError(
                "EXPERTPOOL_NOTIFIER=aliyun needs EXPERTPOOL_ALIYUN_ACCESS_KEY_ID, "
                "EXPERTPOOL_ALIYUN_ACCESS_KEY_SECRET, EXPERTPOOL_ALIYUN_SIGN_NAME, "
                "EXPERTPOOL_ALIYUN_SMS_TEMPLATES and EXPERTPOOL_ALIYUN_VOICE_TEMPLATES"
            )
        if (
            self.notifier == "twilio"
            and not self.notifier_fake
            and not (self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)
        ):
            raise ConfigError(
                "EXPERTPOOL_NOTIFIER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN "
                "and TWILIO_FROM_NUMBER"
            )
        if self.proxy_fix_hops < 0:
            raise ConfigError("EXPERTPOOL_PROXY_FIX_HOPS must be 0 or more")
        if self.socketio_async_mode not in ("threading", "gevent"):
            raise ConfigError("EXPERTPOOL_SOCKETIO_ASYNC_MODE must be threading or gevent")

    # Derived paths -----------------------------------------------------------
    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the instance folder."""
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str(Path(self.instance_path) / "expertpool.sqlite")

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is SQLite."""
        return self.effective_database_url.startswith("sqlite")

    @property
    def keys_path(self) -> Path:
        """Folder holding key files (outside the database)."""
        return Path(self.key_dir or Path(self.instance_path) / "keys")

    @property
    def evidence_path(self) -> Path:
        """Folder holding evidence files (outside the database)."""
        return Path(self.evidence_dir or Path(self.instance_path) / "evidence")

    @property
    def checkpoint_path(self) -> Path:
        """File receiving signed audit checkpoints."""
        return Path(
            self.audit_checkpoint_file or Path(self.instance_path) / "audit-checkpoints.jsonl"
        )

    def replace(self, **changes: Any) -> Config:
        """Return a copy with some settings changed."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        """Build the settings from environment variables (see the README for the list)."""
        env = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = _env_name(f.name)
            if name not in env:
                continue
            raw = env[name]
            default = f.default if f.default is not dataclasses.MISSING else ""
            try:
                if isinstance(default, bool):
                    if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                        raise ValueError(raw)
                    values[f.name] = raw.lower() in ("1", "true", "yes", "on")
                elif isinstance(default, int):
                    values[f.name] = int(raw)
                else:
                    values[f.name] = raw
            except ValueError:
                raise ConfigError(
                    f"{name} must be a {type(default).__name__}, not {raw!r}"
                ) from None
        return cls(**values)

    @classmethod
    def setting_names(cls) -> list[str]:
        """The environment variable of every setting, for the README check."""
        return [_env_name(f.name) for f in dataclasses.fields(cls)]
