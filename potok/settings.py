"""Every ``POTOK_*`` setting, listed once with its default and help.

``SETTINGS`` is the registry; :class:`Settings` is the typed, immutable value built from it.
Nothing here reads the environment at import time: ``Settings.from_env()`` does, when the
CLI or a test asks. ``potok settings`` prints the registry with the values in effect.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from potok.errors import N_, SettingsError

LANGUAGES = ("en", "ru")


def _text(value: str) -> str:
    return value.strip()


def _optional_text(value: str) -> str | None:
    return value.strip() or None


def _path(value: str) -> Path:
    if not value.strip():
        raise ValueError("must not be empty")
    return Path(value.strip()).expanduser()


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"must be a whole number between {low} and {high}") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def _switch(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"on", "true", "yes", "1"}:
        return True
    if lowered in {"off", "false", "no", "0"}:
        return False
    raise ValueError("must be 'on' or 'off'")


def _language(value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in LANGUAGES:
        raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
    return lowered


def _database_url(value: str) -> str | None:
    url = value.strip()
    if not url:
        return None
    if not url.startswith(("sqlite", "postgresql")):
        raise ValueError("must start with sqlite:// or postgresql+psycopg://")
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; accept the plain libpq form and say which driver.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _smtp_url(value: str) -> str | None:
    url = value.strip()
    if not url:
        return None
    if not url.startswith(("smtp://", "smtps://", "smtp+starttls://")):
        raise ValueError(
            "must look like smtp://user:password@host:port (or smtps://, smtp+starttls://)"
        )
    return url


def _timezone(value: str) -> str:
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Europe/Moscow or UTC") from None
    return name


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return level


def _default_config(value: str) -> str:
    name = value.strip().lower()
    if not name or not name.replace("_", "").isalnum():
        raise ValueError("must be the name of a shipped configuration (sales) or none")
    return name


def _cookie_security(value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in {"auto", "on", "off"}:
        raise ValueError("must be auto, on or off")
    return lowered


@dataclass(frozen=True)
class Setting:
    """One ``POTOK_*`` environment variable: its default, its meaning and how to parse it."""

    name: str
    field: str
    default: str
    help: str
    parse: Callable[[str], Any]
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "POTOK_DATA_DIR",
        "data_dir",
        "./potok-data",
        "Folder for the embedded SQLite database, attachments and the generated secret key.",
        _path,
    ),
    Setting(
        "POTOK_DATABASE_URL",
        "database_url",
        "",
        "Database to use instead of the embedded SQLite file, e.g. "
        "postgresql+psycopg://potok@db-host/potok.",
        _database_url,
        secret=True,
    ),
    Setting(
        "POTOK_SECRET_KEY",
        "secret_key",
        "",
        "Key that signs cookies and tokens. When unset, one is generated once and kept in "
        "the data folder; set the same value on every host of a multi-host install.",
        _optional_text,
        secret=True,
    ),
    Setting(
        "POTOK_ADMIN_PASSWORD",
        "admin_password",
        "",
        "Password of the first administrator 'admin', used only when the database is created. "
        "When unset a random password is generated and printed once.",
        _optional_text,
        secret=True,
    ),
    Setting("POTOK_HOST", "host", "127.0.0.1", "Address 'potok serve' listens on.", _text),
    Setting("POTOK_PORT", "port", "8000", "Port 'potok serve' listens on.", _int_between(1, 65535)),
    Setting(
        "POTOK_LANGUAGE",
        "language",
        "en",
        "Default interface language (en or ru); each user can choose their own.",
        _language,
    ),
    Setting(
        "POTOK_TIMEZONE",
        "timezone",
        "UTC",
        "Time zone in which dates and times are shown and deadlines are counted.",
        _timezone,
    ),
    Setting(
        "POTOK_SMTP_URL",
        "smtp_url",
        "",
        "Outgoing mail server, e.g. smtp+starttls://user:password@mail.example.com:587. "
        "When unset, mail is kept in the outbox and not sent.",
        _smtp_url,
        secret=True,
    ),
    Setting(
        "POTOK_MAIL_FROM",
        "mail_from",
        "Potok <potok@localhost>",
        "Sender address of outgoing mail.",
        _text,
    ),
    Setting(
        "POTOK_SCHEDULER",
        "scheduler",
        "on",
        "Run the scheduler (reminders, deadlines, mail, clean-up) inside 'potok serve'. "
        "Turn it off on web hosts when a separate 'potok worker' runs it.",
        _switch,
    ),
    Setting(
        "POTOK_MAX_REQUEST_BYTES",
        "max_request_bytes",
        "26214400",
        "Largest request body accepted, in bytes (uploads included); larger ones get 413.",
        _int_between(1024, 10 * 1024**3),
    ),
    Setting(
        "POTOK_MAX_UPLOAD_BYTES",
        "max_upload_bytes",
        "20971520",
        "Largest file that may be attached to a document, in bytes. A request carries its "
        "files within POTOK_MAX_REQUEST_BYTES too, so keep this a little below that.",
        _int_between(1, 10 * 1024**3),
    ),
    Setting(
        "POTOK_SESSION_IDLE_MINUTES",
        "session_idle_minutes",
        "120",
        "A session unused for this many minutes ends; the user logs in again.",
        _int_between(1, 60 * 24 * 30),
    ),
    Setting(
        "POTOK_SESSION_MAX_HOURS",
        "session_max_hours",
        "12",
        "A session ends this many hours after login, however active.",
        _int_between(1, 24 * 90),
    ),
    Setting(
        "POTOK_SECURE_COOKIES",
        "secure_cookies",
        "auto",
        "Mark cookies Secure: on, off, or auto (when the request came over HTTPS).",
        _cookie_security,
    ),
    Setting(
        "POTOK_DEFAULT_CONFIG",
        "default_config",
        "sales",
        "Configuration loaded into a new database on its first start: sales, or none.",
        _default_config,
    ),
    Setting("POTOK_LOG_LEVEL", "log_level", "INFO", "Logging level of the server.", _log_level),
)

SECRET_SET = N_("(set)")
UNSET = N_("(unset)")

_BY_FIELD = {setting.field: setting for setting in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """The settings in effect. Build with :meth:`from_env` or :meth:`defaults`."""

    data_dir: Path
    database_url: str | None
    secret_key: str | None
    admin_password: str | None
    host: str
    port: int
    language: str
    timezone: str
    smtp_url: str | None
    mail_from: str
    scheduler: bool
    max_request_bytes: int
    max_upload_bytes: int
    session_idle_minutes: int
    session_max_hours: int
    secure_cookies: str
    default_config: str
    log_level: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every ``POTOK_*`` variable; a bad value raises :class:`SettingsError`."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.name, setting.default)
            try:
                values[setting.field] = setting.parse(raw)
            except ValueError as exc:
                shown = "***" if setting.secret else repr(raw)
                raise SettingsError(f"{setting.name} {exc} (got {shown})") from None
        values.update(overrides)
        return cls(**values)

    @classmethod
    def defaults(cls, **overrides: Any) -> Settings:
        return cls.from_env({}, **overrides)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "potok.sqlite3"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.sqlite_path.resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    def describe(self, environ: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        """Rows for ``potok settings``: name, value in effect (secrets masked), source, help."""
        environ = os.environ if environ is None else environ
        rows = []
        for setting in SETTINGS:
            value = getattr(self, setting.field)
            if setting.secret and value:
                shown = SECRET_SET
            elif value is None or value == "":
                shown = UNSET
            elif isinstance(value, bool):
                shown = "on" if value else "off"
            else:
                shown = str(value)
            rows.append(
                {
                    "name": setting.name,
                    "value": shown,
                    "source": "environment" if setting.name in environ else "default",
                    "help": setting.help,
                }
            )
        return rows


def setting_for(field: str) -> Setting:
    return _BY_FIELD[field]
