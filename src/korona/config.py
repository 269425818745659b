"""Typed settings read from KORONA_* environment variables, built once per process."""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The development secret. Refused outside development and test (see ``_refuse_default_secret``).
DEV_SECRET_KEY = "dev-only-secret-change-me"  # noqa: S105 - a documented placeholder, not a secret

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


class Environment(StrEnum):
    """Where the process runs; production refuses development defaults."""

    DEV = "dev"
    TEST = "test"
    PRODUCTION = "production"


def default_reference_dir() -> Path:
    """Return ``../shared/data`` beside the repository root (see shared/data/README.md)."""
    return REPOSITORY_ROOT.parent / "shared" / "data"


class Settings(BaseSettings):
    """All configuration of korona. Every field can be set as ``KORONA_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="KORONA_", extra="ignore")

    environment: Environment = Environment.DEV
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default SQLite in the data directory. "
        "PostgreSQL: postgresql+psycopg://user:password@host/dbname",
    )
    database_pool_size: int = Field(
        default=4,
        ge=1,
        le=200,
        description="Connections each process keeps open: also how many requests it works on "
        "at once (more only contend for the GIL; docs/benchmarks.md)",
    )
    database_max_overflow: int = Field(
        default=2,
        ge=0,
        le=200,
        description="Extra connections for the process's own background work (mail, warm-up)",
    )
    database_pool_timeout: float = Field(
        default=30, gt=0, le=600, description="Seconds to wait for a free pooled connection"
    )
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    reference_dir: Path = Field(default_factory=default_reference_dir)
    base_url: str = "http://127.0.0.1:8000"
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    cookie_secure: bool = Field(
        default=True,
        description="Mark cookies Secure; browsers still send them to http://localhost/127.0.0.1",
    )

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "korona@localhost"

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == Environment.PRODUCTION and (
            self.secret_key.get_secret_value() == DEV_SECRET_KEY
            or len(self.secret_key.get_secret_value()) < 32
        ):
            raise ValueError(
                "KORONA_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

    @property
    def base_url_is_set(self) -> bool:
        """Return whether KORONA_BASE_URL was given rather than left at its default."""
        return "base_url" in self.model_fields_set

    def base_url_notice(self) -> str | None:
        """Return what a server should say at start-up about the address in letters, if anything.

        Unset in development, links follow the address each request came to; unset in
        production, they would point at the default, which nobody else can reach.
        """
        if self.base_url_is_set:
            return None
        if self.environment == Environment.PRODUCTION:
            return (
                f"KORONA_BASE_URL is not set: links in letters and exports will point at "
                f"{self.base_url}. Set it to the address people use (https://…)."
            )
        return (
            "KORONA_BASE_URL is not set: links in letters and exports use the address each "
            "request came to (development only; set it in production)."
        )

    @cached_property
    def sqlalchemy_url(self) -> str:
        """Return the database URL, defaulting to SQLite under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'korona.sqlite3').resolve()}"

    @property
    def surveillance_dir(self) -> Path:
        """Return where the surveillance store keeps its Parquet files."""
        return self.data_dir / "surveillance"
