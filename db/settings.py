"""Configuration read from the environment (``BILLCLASS_*``)."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

SUPPORTED_URL_PREFIXES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
# What tracing needs (the optional extra billclass[otel]); OTLP adds its exporter.
TRACING_MODULES = (
    "opentelemetry.sdk.trace",
    "opentelemetry.instrumentation.asgi",
    "opentelemetry.instrumentation.sqlalchemy",
)
OTLP_MODULE = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


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

    # Admission and memory in one worker (SPEC §7; gql/admission.py, gql/documents.py).
    # Requests of one tenant running at once (0: no cap); more wait 1 s, then 429.
    tenant_concurrency: int = Field(default=8, ge=0, le=1000)
    # Share of a worker's CPU one tenant may spend parsing new (uncached) documents; 1: not
    # paced. A tenant's next new document waits t x (1 / share - 1) after a parse of t.
    parse_share: float = Field(default=0.1, gt=0, le=1)
    # Parsed and validated documents kept per worker, in (estimated) bytes; 0: none.
    document_cache_bytes: int = Field(default=32 * 1024 * 1024, ge=0, le=4 * 1024**3)
    # --- PostgreSQL roles (SPEC §7 "The database net covers writes too") ---------------
    # The table owner's URL, used only to apply migrations and to grant the role of
    # database_url what the service needs; unset: migrations run as database_url.
    migration_database_url: str | None = Field(default=None)
    # Start even when database_url's role is a superuser, BYPASSRLS or a table owner (row-
    # level security void, or a role that could switch it off): warn loudly instead.
    allow_unsafe_role: bool = Field(default=False)

    @field_validator("migration_database_url")
    @classmethod
    def _same_database(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Only the credentials may differ: migrating one database while serving another
        is a mistake better caught before either starts."""
        served = info.data.get("database_url")
        if value is None or served is None:
            return value

        def place(url: str) -> tuple[object, ...]:
            parsed = make_url(url)
            return (parsed.drivername, parsed.host, parsed.port, parsed.database)

        try:
            same = place(value) == place(served)
        except Exception:
            same = False
        if not same:
            raise ValueError(
                "must name the same database as BILLCLASS_DATABASE_URL"
                " (only the user and password may differ)"
            )
        return value

    @property
    def migration_url(self) -> str:
        """The URL migrations run with (SPEC §7)."""
        return self.migration_database_url or self.database_url

    # --- end of PostgreSQL roles ---------------------------------------------------------
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

    # --- Tracing (OpenTelemetry; README "Tracing") ---------------------------------------
    # The standard OTLP endpoint variables: set, spans are exported there (unless
    # BILLCLASS_OTEL=off). Only whether one is set matters here; the exporter reads them.
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"
        ),
    )
    # "": by the endpoint above; "console": spans printed to stdout; "otlp": exported
    # (to http://localhost:4318 without an endpoint); "off": never.
    otel: Literal["", "off", "console", "otlp"] = Field(default="", validate_default=True)

    @field_validator("otel")
    @classmethod
    def _tracing_installed(cls, value: str, info: ValidationInfo) -> str:
        """Tracing requested without the extra stops the service in one line, at start-up
        rather than at the first request."""
        mode = _tracing_mode(value, info.data.get("otlp_endpoint"))
        if mode is None:
            return value
        needed = (*TRACING_MODULES, OTLP_MODULE) if mode == "otlp" else TRACING_MODULES
        missing = [name for name in needed if not _importable(name)]
        if missing:
            why = f"BILLCLASS_OTEL={value}" if value else "OTEL_EXPORTER_OTLP_ENDPOINT is set"
            raise ValueError(
                f"tracing is requested ({why}) but OpenTelemetry is not installed"
                f" ({missing[0]} is missing): pip install 'billclass[otel]',"
                " or set BILLCLASS_OTEL=off"
            )
        return value

    @property
    def tracing(self) -> Literal["console", "otlp"] | None:
        """How spans leave the process, or None: tracing off (nothing of OpenTelemetry
        is imported)."""
        return _tracing_mode(self.otel, self.otlp_endpoint)

    # --- end of tracing ------------------------------------------------------------------


def _tracing_mode(otel: str, endpoint: str | None) -> Literal["console", "otlp"] | None:
    if otel == "console":
        return "console"
    if otel == "otlp" or (otel == "" and endpoint):
        return "otlp"
    return None


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


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
