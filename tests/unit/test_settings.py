"""Configuration (db/settings.py): every setting checked with one clear line, the usual
URL forms accepted, and never a password in a message."""

from __future__ import annotations

import logging

import pytest

from db.settings import (
    ConfigurationError,
    MaskingFormatter,
    Settings,
    environment_variables,
    load_settings,
    masked,
)

SECRET = "s3cret-Pa55word"


def _problem(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(f"BILLCLASS_{name.upper()}", value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert SECRET not in message
    return message


@pytest.mark.parametrize(
    ("given", "served"),
    [
        ("postgresql://u@db/billclass", "postgresql+asyncpg://u@db/billclass"),
        ("postgres://u:pw@db:5433/billclass", "postgresql+asyncpg://u:pw@db:5433/billclass"),
        ("postgresql+asyncpg://u@db/billclass", "postgresql+asyncpg://u@db/billclass"),
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
        ("sqlite+aiosqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
    ],
)
def test_the_usual_database_url_forms_map_to_the_async_drivers(given: str, served: str) -> None:
    settings = Settings(database_url=given, migration_database_url=given)
    assert settings.database_url == served
    assert settings.migration_database_url == served


def test_a_migration_url_in_the_short_form_names_the_same_database() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://service@db/billclass",
        migration_database_url="postgres://owner@db/billclass",
    )
    assert settings.migration_url == "postgresql+asyncpg://owner@db/billclass"


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://root:{SECRET}@db/billclass",
        f"postgresql+psycopg2://root:{SECRET}@db/billclass",
        f"postgresql://root:{SECRET}@db:notaport/billclass",
        f"root:{SECRET}@db/billclass",
    ],
    ids=["other-database", "sync-driver", "bad-port", "no-scheme"],
)
@pytest.mark.parametrize("variable", ["database_url", "migration_database_url"])
def test_a_bad_url_is_one_line_without_its_password(
    url: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = _problem(monkeypatch, **{variable: url})
    assert message.startswith(f"invalid configuration: BILLCLASS_{variable.upper()} must ")
    assert "Value error" not in message


def test_a_migration_url_of_another_database_is_refused_without_passwords(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = _problem(
        monkeypatch,
        database_url=f"postgresql://svc:{SECRET}@db/one",
        migration_database_url=f"postgresql://owner:{SECRET}@db/two",
    )
    assert "BILLCLASS_MIGRATION_DATABASE_URL must name the same database" in message


@pytest.mark.parametrize("level", ["debug", "Info", "WARNING", "error", "critical"])
def test_the_log_level_is_any_case_of_a_standard_level(level: str) -> None:
    assert Settings(log_level=level).log_level == level.upper()


@pytest.mark.parametrize("level", ["LOUD", "", "TRACE", "10"])
def test_another_log_level_is_one_clear_line(level: str, monkeypatch: pytest.MonkeyPatch) -> None:
    message = _problem(monkeypatch, log_level=level)
    assert message == (
        "invalid configuration: BILLCLASS_LOG_LEVEL must be one of DEBUG, INFO, WARNING,"
        f" ERROR, CRITICAL (any case), got {level!r}"
    )


@pytest.mark.parametrize(
    "url",
    [f"http://u:{SECRET}@cache:6379/0", f"cache:{SECRET}@6379"],
)
def test_a_redis_url_needs_a_redis_scheme(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    message = _problem(monkeypatch, redis_url=url)
    assert message.startswith("invalid configuration: BILLCLASS_REDIS_URL must start with redis://")


def test_redis_urls_are_accepted() -> None:
    for url in ("redis://127.0.0.1:6379/0", "rediss://u:p@cache/1", "unix:///run/redis.sock"):
        assert Settings(redis_url=url).redis_url == url


def test_numbers_out_of_range_are_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _problem(monkeypatch, pool_size="0", lock_timeout_seconds="lots")
    assert message.startswith("invalid configuration: ")
    assert "BILLCLASS_POOL_SIZE " in message and "BILLCLASS_LOCK_TIMEOUT_SECONDS " in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql+asyncpg://u:{SECRET}@h/db", "postgresql+asyncpg://u:***@h/db"),
        (f"postgresql://u:{SECRET}@h:x/db", "postgresql://u:***@h:x/db"),
        (f"redis://:{SECRET}@cache:6379/0", "redis://:***@cache:6379/0"),
        ("sqlite+aiosqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_masked_hides_the_password_of_any_url(url: str, shown: str) -> None:
    assert masked(url) == shown


def test_log_lines_never_show_a_password() -> None:
    formatter = MaskingFormatter("%(levelname)s %(message)s")
    url = f"postgresql+asyncpg://u:{SECRET}@h/db"
    record = logging.LogRecord("billclass", logging.ERROR, __file__, 1, "at %s", (url,), None)
    try:
        raise RuntimeError(f"cannot reach {url}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert SECRET not in line
    assert "postgresql+asyncpg://u:***@h/db" in line


def test_every_setting_is_described() -> None:
    variables = environment_variables()
    assert len(variables) == len(Settings.model_fields)
    for variable, (name, field) in zip(variables, Settings.model_fields.items(), strict=True):
        if field.validation_alias is None:
            assert variable.name == f"BILLCLASS_{name.upper()}"
        else:  # a standard variable (OpenTelemetry's), not ours
            assert variable.name.startswith("OTEL_"), variable.name
    for variable in variables:
        assert variable.description, variable.name
        assert variable.description.endswith("."), variable.name
