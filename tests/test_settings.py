from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings


def test_defaults_without_environment() -> None:
    settings = load_settings({})
    assert settings.embedded and settings.database_url is None
    assert settings.blend_personal == 0.6 and settings.trainer_mode == "private"
    assert Path(settings.embedding_model_path, "config.json").exists()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://x", "postgresql:// URL"),
        ("CINESYNC_LOG_LEVEL", "LOUD", "one of DEBUG"),
        ("CINESYNC_BLEND_PERSONAL", "1.5", "between 0 and 1"),
        ("CINESYNC_TRAINER_MODE", "turbo", "private, global, none"),
        ("DEV_GUILD_ID", "abc", "guild id"),
        ("CINESYNC_DB_COMMAND_TIMEOUT", "-1", "positive"),
        ("CINESYNC_PG_SHARED_BUFFERS", "2GB; DROP TABLE x", "a size such as"),
        ("CINESYNC_PG_SHARED_BUFFERS", "lots", "a size such as"),
    ],
)
def test_bad_value_names_variable_and_expectation(variable: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({variable: value})
    assert info.value.variable == variable
    assert expected in str(info.value) and variable in str(info.value)


def test_values_are_parsed() -> None:
    settings = load_settings({
        "DATABASE_URL": "postgresql://u:p@h/db", "CINESYNC_SHARD_IDS": "0, 2", "CINESYNC_OWNER_IDS": "1,2",
        "CINESYNC_LOG_LEVEL": "debug", "CINESYNC_HOME": "/tmp/x", "CINESYNC_PG_SHARED_BUFFERS": "512MB",
    })
    assert settings.pg_shared_buffers == "512MB" and load_settings({}).pg_shared_buffers == "auto"
    assert not settings.embedded and settings.shard_ids == (0, 2) and settings.owner_ids == (1, 2)
    assert settings.log_level == "DEBUG" and settings.pgdata == Path("/tmp/x/pgdata")


def test_secrets_are_never_shown_back() -> None:
    """A malformed DATABASE_URL is reported without its password; reprs hold no token or DSN."""
    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as raised:
        load_settings({"DATABASE_URL": "mysql://admin:hunter2@db.example/cinesync"}, dotenv=False)
    assert "hunter2" not in str(raised.value) and "DATABASE_URL" in str(raised.value)
    settings = load_settings({"DATABASE_URL": "postgresql://admin:hunter2@db.example/cinesync",
                              "DISCORD_TOKEN": "MTAx.secret-token"}, dotenv=False)
    assert "hunter2" not in repr(settings) and "secret-token" not in repr(settings)
    assert settings.database_url and settings.discord_token  # still there for the code that needs them


async def test_database_repr_hides_the_dsn(db) -> None:  # type: ignore[no-untyped-def]
    assert db.dsn and db.dsn not in repr(db)


def test_an_empty_environment_gives_the_dataclass_defaults() -> None:
    """Each default is written once, in `Settings`; the environment reader takes it from there."""
    assert load_settings({}, dotenv=False) == Settings()
