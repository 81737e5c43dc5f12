"""Configuration read from the environment (``BILLCLASS_*``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_URL_PREFIXES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


class ConfigurationError(Exception):
    """A setting is wrong; the message is one line meant for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BILLCLASS_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./billclass.db",
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    )
    # Seconds a request may wait for a row lock, a pool slot or a new connection before
    # it is answered 503 SERVICE_UNAVAILABLE (SPEC §3: lock waits beyond 5 s).
    lock_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    # PostgreSQL statement_timeout: bounds runaway queries.
    statement_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    # At least the concurrency one worker serves (overflow connections are closed again).
    pool_size: int = Field(default=20, ge=1, le=200)
    # How long an authenticated token stays cached in a worker. Revocation takes effect on
    # every worker within this bound (SPEC §2: 5 seconds).
    token_cache_seconds: float = Field(default=5.0, ge=0, le=5)
    log_level: str = Field(default="INFO")

    # Rate limits (SPEC §7): a leaky bucket per token and one per tenant, in points of
    # query cost; restore rates in points per second. 0 turns that bucket off.
    rate_token_bucket: int = Field(default=10_000, ge=0)
    rate_token_restore: int = Field(default=1_000, ge=0)
    rate_tenant_bucket: int = Field(default=20_000, ge=0)
    rate_tenant_restore: int = Field(default=2_000, ge=0)
    # Buckets shared by every worker and instance (redis://host:port/db); unset: each
    # worker process keeps its own. Unreachable Redis: requests pass unlimited (warning).
    redis_url: str | None = Field(default=None)
    redis_key_prefix: str = Field(default="billclass:rate:", min_length=1, max_length=100)
    # Bound on one Redis round trip: a dead or slow Redis never stalls requests longer.
    redis_timeout_seconds: float = Field(default=0.1, gt=0, le=5)

    @field_validator("database_url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        if not value.startswith(SUPPORTED_URL_PREFIXES):
            raise ValueError(
                "must start with " + " or ".join(SUPPORTED_URL_PREFIXES) + f", got {value!r}"
            )
        if value.startswith("sqlite") and value.split("///", 1)[-1] in ("", ":memory:", value):
            # Every pooled connection would open its own empty database.
            raise ValueError("must name a SQLite file (in-memory databases are not supported)")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings() -> Settings:
    """Read settings, turning pydantic's report into one line per problem."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"BILLCLASS_{'_'.join(str(p) for p in err['loc']).upper()} {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
