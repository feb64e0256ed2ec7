"""One Settings object, read from the environment, with embedded defaults for `make run`."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _secret_key(data_dir: Path, env_value: str | None) -> str:
    """Use SECRET_KEY when given; otherwise keep one generated key per data folder."""
    if env_value:
        return env_value
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; every field maps to one environment variable (see README)."""

    app_env: str = "development"
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    data_dir: Path = field(default_factory=lambda: ROOT / "var")
    outbox_dir: Path = field(default_factory=lambda: ROOT / "var" / "outbox")
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    mail_from: str = "Ketentafel <noreply@ketentafel.example>"
    session_hours: int = 10
    api_token_hours: int = 12
    max_upload_bytes: int = 5 * 1024 * 1024
    upload_rate_per_minute: int = 20
    mail_claim_lease_seconds: int = 600
    login_max_failures: int = 5
    login_max_failures_per_address: int = 30
    login_throttle_minutes: int = 15
    password_reset_minutes: int = 30
    password_reset_mails_per_hour: int = 3
    password_reset_requests_per_hour: int = 10
    run_jobs_in_process: bool = True
    log_level: str = "INFO"
    log_json: bool = False
    secure_cookies: bool = False
    trusted_proxies: tuple[str, ...] = ()

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def demo_allowed(self) -> bool:
        """Demo accounts and their well-known password never work in production."""
        return not self.is_production

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        data_dir = Path(_env("DATA_DIR", str(ROOT / "var")))
        app_env = _env("APP_ENV", "development")
        base_url = _env("BASE_URL", f"http://{_env('HOST', '127.0.0.1')}:{_env('PORT', '8000')}")
        values: dict[str, object] = {
            "app_env": app_env,
            "database_url": _env(
                "DATABASE_URL", f"sqlite+aiosqlite:///{data_dir / 'ketentafel.db'}"
            ),
            "redis_url": _env("REDIS_URL", ""),
            "host": _env("HOST", "127.0.0.1"),
            "port": int(_env("PORT", "8000")),
            "base_url": base_url.rstrip("/"),
            "data_dir": data_dir,
            "outbox_dir": Path(_env("OUTBOX_DIR", str(data_dir / "outbox"))),
            "smtp_host": _env("SMTP_HOST", ""),
            "smtp_port": int(_env("SMTP_PORT", "587")),
            "smtp_user": _env("SMTP_USER", ""),
            "smtp_password": _env("SMTP_PASSWORD", ""),
            "smtp_starttls": _env("SMTP_STARTTLS", "true").lower() == "true",
            "mail_from": _env("MAIL_FROM", "Ketentafel <noreply@ketentafel.example>"),
            "session_hours": int(_env("SESSION_HOURS", "10")),
            "api_token_hours": int(_env("API_TOKEN_HOURS", "12")),
            "max_upload_bytes": int(_env("MAX_UPLOAD_BYTES", str(5 * 1024 * 1024))),
            "upload_rate_per_minute": int(_env("UPLOAD_RATE_PER_MINUTE", "20")),
            "mail_claim_lease_seconds": int(_env("MAIL_CLAIM_LEASE_SECONDS", "600")),
            "login_max_failures": int(_env("LOGIN_MAX_FAILURES", "5")),
            "login_max_failures_per_address": int(_env("LOGIN_MAX_FAILURES_PER_ADDRESS", "30")),
            "login_throttle_minutes": int(_env("LOGIN_THROTTLE_MINUTES", "15")),
            "password_reset_minutes": int(_env("PASSWORD_RESET_MINUTES", "30")),
            "password_reset_mails_per_hour": int(_env("PASSWORD_RESET_MAILS_PER_HOUR", "3")),
            "password_reset_requests_per_hour": int(_env("PASSWORD_RESET_REQUESTS_PER_HOUR", "10")),
            "run_jobs_in_process": {"true": True, "false": False}.get(
                _env("RUN_JOBS_IN_PROCESS", "auto").lower(), not _env("REDIS_URL", "")
            ),
            "log_level": _env("LOG_LEVEL", "INFO").upper(),
            "log_json": _env("LOG_FORMAT", "console" if app_env != "production" else "json")
            == "json",
            "trusted_proxies": tuple(
                p.strip() for p in _env("TRUSTED_PROXIES", "").split(",") if p.strip()
            ),
        }
        values.update(overrides)
        # Behind TLS (the public address is https): Secure cookies and HSTS.
        values.setdefault("secure_cookies", str(values["base_url"]).startswith("https://"))
        if "secret_key" not in values:
            values["secret_key"] = _secret_key(
                Path(str(values["data_dir"])), os.environ.get("SECRET_KEY")
            )
        if (
            app_env == "production"
            and not os.environ.get("SECRET_KEY")
            and "secret_key" not in overrides
        ):
            raise RuntimeError("SECRET_KEY must be set when APP_ENV=production")
        return cls(**values)  # type: ignore[arg-type]
