"""Configuration read from the environment (``BILLCLASS_*``).

Every setting is a field of ``Settings`` with a description: the CLI's help, the README's
configuration table and ``python -m db.settings`` are all generated from them. A bad
value is one line naming the variable; a password in a URL never appears in any message
(``masked``) or log line (``MaskingFormatter``).
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

ENV_PREFIX = "BILLCLASS_"
SUPPORTED_URL_PREFIXES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
# What tracing needs (the optional extra billclass[otel]); OTLP adds its exporter.
TRACING_MODULES = (
    "opentelemetry.sdk.trace",
    "opentelemetry.instrumentation.asgi",
    "opentelemetry.instrumentation.sqlalchemy",
)
OTLP_MODULE = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
# The usual spellings, mapped to the async drivers the service uses.
URL_ALIASES = {
    "postgresql://": "postgresql+asyncpg://",
    "postgres://": "postgresql+asyncpg://",
    "sqlite://": "sqlite+aiosqlite://",
}
REDIS_URL_PREFIXES = ("redis://", "rediss://", "unix://")
DocumentsMode = Literal["open", "trusted-for-resellers", "trusted"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# A URL's credentials: what precedes the password, and the password up to the last "@".
_ONE_URL_CREDENTIALS = re.compile(r"^(?P<head>(?:[A-Za-z][A-Za-z0-9+.-]*://)?[^:/@\s]*):[^\s]*@")
# In free text (a log line, an exception): every scheme://user:password@ in it.
_TEXT_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^@\s]*@")


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages (even when the URL
    does not parse)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return _ONE_URL_CREDENTIALS.sub(r"\g<head>:***@", url)


def mask_urls(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    if "://" not in text:  # what every URL the pattern matches has (most lines have none)
        return text
    return _TEXT_CREDENTIALS.sub(r"\g<head>:***@", text)


class MaskingFormatter(logging.Formatter):
    """A log formatter that never writes a URL's password (in the message, its
    arguments or a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_urls(super().format(record))


class ConfigurationError(Exception):
    """A setting is wrong; the message is one line meant for the operator."""


def _async_url(value: str) -> str:
    """``postgresql://``, ``postgres://`` and ``sqlite://`` -> the async drivers; a URL
    that is no supported database, or does not parse, is refused (masked)."""
    for alias, driver in URL_ALIASES.items():
        if value.startswith(alias):
            value = driver + value[len(alias) :]
            break
    if not value.startswith(SUPPORTED_URL_PREFIXES):
        raise ValueError(
            "must start with "
            + " or ".join(SUPPORTED_URL_PREFIXES)
            + " (or postgresql://, postgres://, sqlite:///), got "
            + repr(masked(value))
        )
    try:
        make_url(value)
    except Exception:
        raise ValueError(f"must be a valid URL, got {masked(value)!r}") from None
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./billclass.db",
        description="The database the service connects to: sqlite+aiosqlite:///path or"
        " postgresql+asyncpg://user:password@host/db (postgresql://, postgres:// and"
        " sqlite:/// are mapped to those drivers). On PostgreSQL, the service role.",
        json_schema_extra={"range": "a SQLite file or PostgreSQL URL"},
    )
    # Seconds a request may wait for a row lock, a pool slot or a new connection before
    # it is answered 503 SERVICE_UNAVAILABLE (SPEC §3: lock waits beyond 5 s).
    lock_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Seconds a request waits for a row lock (SQLite: the busy file) before"
        " 503 SERVICE_UNAVAILABLE; a free connection is waited for 1 s at most.",
    )
    connect_timeout_seconds: float = Field(
        default=3.0, gt=0, le=60, description="Seconds to connect to PostgreSQL."
    )
    # PostgreSQL statement_timeout: bounds runaway queries.
    statement_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="PostgreSQL statement_timeout in seconds (ends runaway queries).",
    )
    # At least the concurrency one worker serves (overflow connections are closed again).
    pool_size: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Database connections per worker and engine (PostgreSQL: plus as many"
        " overflow connections).",
    )
    # How long an authenticated token stays cached in a worker. Revocation takes effect on
    # every worker within this bound (SPEC §2: 5 seconds).
    token_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=5,
        description="Seconds a verified token stays cached per worker (a revocation takes"
        " effect within this bound).",
    )
    log_level: str = Field(
        default="INFO",
        description="Log level of the service and the server.",
        json_schema_extra={"range": ", ".join(LOG_LEVELS) + " (any case)"},
    )

    # Admission and memory in one worker (SPEC §7; gql/admission.py, gql/documents.py).
    # Requests of one tenant running at once (0: no cap); more wait 1 s, then 429.
    tenant_concurrency: int = Field(
        default=8,
        ge=0,
        le=1000,
        description="Requests of one tenant running at once per worker (0: no cap); more"
        " wait 1 s, then 429 THROTTLED.",
    )
    # Share of a worker's CPU one tenant may spend parsing new (uncached) documents; 1: not
    # paced. A tenant's next new document waits t x (1 / share - 1) after a parse of t.
    parse_share: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="Share of a worker's CPU one tenant may spend parsing new documents:"
        " after a parse of t, its next new document waits t x (1/share - 1); 1: not paced.",
    )
    # Which documents a request may send (issue 10): "open" both ad-hoc queries and
    # registered (trusted) documents; "trusted-for-resellers" reseller tokens only
    # registered ones; "trusted" every token only registered ones.
    documents: DocumentsMode = Field(
        default="open",
        description="Which documents requests may send: open = ad-hoc queries and registered"
        " documents (documentId); trusted-for-resellers = reseller tokens only registered"
        " documents (else PERSISTED_DOCUMENT_REQUIRED); trusted = every token only"
        " registered documents.",
    )
    # Registered documents' queries run by their compiled plans (gql/plans.py).
    compiled_plans: bool = Field(
        default=True,
        description="1: a registered document's query runs by its execution plan, compiled"
        " at its first request per worker (same answers, less CPU); 0: by graphql-core, as"
        " ad-hoc queries do.",
    )
    # Parsed and validated documents kept per worker, in (estimated) bytes; 0: none.
    document_cache_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=0,
        le=4 * 1024**3,
        description="Parsed and validated documents kept per worker, in estimated bytes (0: none).",
    )
    # --- PostgreSQL roles (SPEC §7 "The database net covers writes too") ---------------
    # The table owner's URL, used only to apply migrations and to grant the role of
    # database_url what the service needs; unset: migrations run as database_url.
    migration_database_url: str | None = Field(
        default=None,
        description="The table owner's URL (the same database, another role): migrations run"
        " with it and grant the role of BILLCLASS_DATABASE_URL the service privileges;"
        " unset: migrations run with BILLCLASS_DATABASE_URL.",
        json_schema_extra={"range": "a URL of the same database"},
    )
    # Start even when database_url's role is a superuser, BYPASSRLS or a table owner (row-
    # level security void, or a role that could switch it off): warn loudly instead.
    allow_unsafe_role: bool = Field(
        default=False,
        description="1: start on PostgreSQL even as a superuser, BYPASSRLS role or table"
        " owner, with a loud warning (otherwise the service refuses to start).",
    )
    # Citus (distributed PostgreSQL, issue 13): the URLs point at the coordinator.
    citus: bool = Field(
        default=False,
        description="1: the database is a Citus cluster (the URLs name the coordinator):"
        " billclass migrate distributes the tables (catalogs and currencies as reference"
        " tables, tenant tables by tenant), and every transaction sends its settings and"
        " timeouts on to the workers. README 'Deployment: beyond one database server'.",
    )

    @field_validator("database_url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        value = _async_url(value)
        if value.startswith("sqlite") and value.split("///", 1)[-1] in ("", ":memory:", value):
            # Every pooled connection would open its own empty database.
            raise ValueError("must name a SQLite file (in-memory databases are not supported)")
        return value

    @field_validator("migration_database_url")
    @classmethod
    def _same_database(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Only the credentials may differ: migrating one database while serving another
        is a mistake better caught before either starts."""
        if value is None:
            return value
        value = _async_url(value)
        served = info.data.get("database_url")
        if served is None:
            return value

        def place(url: str) -> tuple[object, ...]:
            parsed = make_url(url)
            return (parsed.drivername, parsed.host, parsed.port, parsed.database)

        if place(value) != place(served):
            raise ValueError(
                "must name the same database as BILLCLASS_DATABASE_URL"
                " (only the user and password may differ)"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)} (any case), got {value!r}")
        return value.upper()

    @property
    def migration_url(self) -> str:
        """The URL migrations run with (SPEC §7)."""
        return self.migration_database_url or self.database_url

    # --- end of PostgreSQL roles ---------------------------------------------------------
    # Rate limits (SPEC §7): a leaky bucket per token and one per tenant, in points of
    # query cost; restore rates in points per second. 0 turns that bucket off.
    rate_token_bucket: int = Field(
        default=10_000,
        ge=0,
        description="Rate limit per token: bucket size in points of query cost (0: off).",
    )
    rate_token_restore: int = Field(
        default=1_000, ge=0, description="Rate limit per token: points restored per second."
    )
    rate_tenant_bucket: int = Field(
        default=20_000,
        ge=0,
        description="Rate limit per tenant (a reseller's tokens together; each administrator"
        " token alone): bucket size in points (0: off).",
    )
    rate_tenant_restore: int = Field(
        default=2_000, ge=0, description="Rate limit per tenant: points restored per second."
    )
    # Buckets shared by every worker and instance (redis://host:port/db); unset: each
    # worker process keeps its own. Unreachable Redis: requests pass unlimited (warning).
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db (or rediss://, unix://): rate-limit buckets shared"
        " by every worker and instance; unset: each worker keeps its own. Unreachable:"
        " requests pass unlimited, with a warning.",
        json_schema_extra={"range": "redis://, rediss:// or unix:// URL"},
    )
    redis_key_prefix: str = Field(
        default="billclass:rate:",
        min_length=1,
        max_length=100,
        description="Prefix of the bucket keys in Redis.",
    )
    # Bound on one Redis round trip: a dead or slow Redis never stalls requests longer.
    redis_timeout_seconds: float = Field(
        default=0.1, gt=0, le=5, description="Bound on one Redis round trip, in seconds."
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(REDIS_URL_PREFIXES):
            raise ValueError(
                f"must start with {', '.join(REDIS_URL_PREFIXES)}, got {masked(value)!r}"
            )
        return value

    # --- Change events (README "Change events") ----------------------------------------
    webhook_secret_key: str | None = Field(
        default=None,
        description="Key that encrypts the stored webhook signing secrets (AES-256-GCM);"
        " unset: they are stored unencrypted, with a warning at start-up. Every worker and"
        " instance needs the same key.",
        json_schema_extra={"range": "32 bytes in base64 (openssl rand -base64 32)"},
    )
    webhook_allow_insecure: bool = Field(
        default=False,
        description="1: webhook URLs may use http:// and reach loopback addresses (development"
        " and tests only; said at start-up). 0: https only, public addresses only.",
    )
    webhook_dispatch: bool = Field(
        default=True,
        description="1: every billclass serve worker runs a webhook dispatcher; 0: none (run"
        " billclass dispatch instead).",
    )
    webhook_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Seconds between a dispatcher's looks for new change events and due"
        " deliveries.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Seconds a webhook delivery may take (connecting, sending, the response"
        " status) before it counts as failed.",
    )
    webhook_concurrency: int = Field(
        default=4,
        ge=1,
        le=100,
        description="Deliveries in flight at once per subscription and dispatcher (a slow"
        " receiver holds at most this many).",
    )

    @field_validator("webhook_secret_key")
    @classmethod
    def _secret_key(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            key = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ValueError("must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)")
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
        description="OpenTelemetry's standard OTLP endpoint (the first of the two that is"
        " set): spans are exported there over OTLP/HTTP, unless BILLCLASS_OTEL=off.",
        json_schema_extra={"range": "an http:// or https:// URL"},
    )
    # "": by the endpoint above; "console": spans printed to stdout; "otlp": exported
    # (to http://localhost:4318 without an endpoint); "off": never.
    otel: Literal["", "off", "console", "otlp"] = Field(
        default="",
        validate_default=True,
        description="Tracing (needs billclass[otel]): empty = on when an OTLP endpoint is"
        " set; console = spans printed to stdout; otlp = exported (to"
        " http://localhost:4318 without an endpoint); off = never.",
    )

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
            f"{ENV_PREFIX}{'_'.join(str(p) for p in err['loc']).upper()}"
            f" {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


# --------------------------------------------------------------------------- documentation


@dataclass(frozen=True)
class Variable:
    """One environment variable, as the CLI help and the README show it."""

    name: str
    default: str
    range: str
    description: str


def _shown_default(value: object) -> str:
    if value is None:
        return "unset"
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _range(metadata: list[object], kind: object, extra: object) -> str:
    if isinstance(extra, dict) and "range" in extra:
        return str(extra["range"])
    low = high = ""
    for item in metadata:
        if isinstance(item, Ge):
            low = f"{item.ge} <= "
        elif isinstance(item, Gt):
            low = f"{item.gt} < "
        elif isinstance(item, Le):
            high = f" <= {item.le}"
        elif isinstance(item, Lt):
            high = f" < {item.lt}"
        elif isinstance(item, MinLen):
            low = f"{item.min_length} <= "
        elif isinstance(item, MaxLen):
            high = f" <= {item.max_length}"
    if kind is bool:
        return "0 or 1"
    if get_origin(kind) is Literal:
        return ", ".join(_shown_default(choice) for choice in get_args(kind))
    if low or high:
        what = "length" if kind is str else "value"
        return f"{low}{what}{high}"
    return ""


def _variable_name(field: str, alias: object) -> str:
    """``BILLCLASS_<FIELD>``, or the standard variables a field reads instead."""
    if isinstance(alias, AliasChoices):
        return " or ".join(str(choice) for choice in alias.choices)
    return f"{ENV_PREFIX}{field.upper()}"


def environment_variables() -> list[Variable]:
    """Every ``BILLCLASS_*`` variable, in the order of ``Settings``' fields."""
    return [
        Variable(
            name=_variable_name(name, field.validation_alias),
            default=_shown_default(field.default),
            range=_range(field.metadata, field.annotation, field.json_schema_extra),
            description=field.description or "",
        )
        for name, field in Settings.model_fields.items()
    ]


def markdown_table() -> str:
    """The README's configuration table."""
    lines = ["| variable | default | range | meaning |", "|---|---|---|---|"]
    for variable in environment_variables():
        lines.append(
            f"| `{variable.name}` | `{variable.default}` | {variable.range}"
            f" | {variable.description} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m db.settings: the README table
    print(markdown_table(), end="")
