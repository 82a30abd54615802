from pathlib import Path

import pytest

from potok.errors import SettingsError
from potok.settings import SETTINGS, Settings


def test_defaults_are_the_documented_ones():
    settings = Settings.from_env({})
    assert settings.data_dir == Path("potok-data")
    assert settings.database_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.language == "en"
    assert settings.scheduler is True
    assert settings.sqlalchemy_url.startswith("sqlite:///")
    assert settings.sqlalchemy_url.endswith("potok-data/potok.sqlite3")


def test_every_setting_is_a_field_and_has_help():
    fields = set(Settings.__dataclass_fields__)
    assert {setting.field for setting in SETTINGS} == fields
    for setting in SETTINGS:
        assert setting.name.startswith("POTOK_")
        assert len(setting.help) > 20, setting.name


def test_values_are_parsed_from_the_environment(tmp_path):
    settings = Settings.from_env(
        {
            "POTOK_DATA_DIR": str(tmp_path),
            "POTOK_PORT": "9000",
            "POTOK_LANGUAGE": "RU",
            "POTOK_SCHEDULER": "off",
            "POTOK_DATABASE_URL": "postgresql://potok@db/potok",
        }
    )
    assert settings.data_dir == tmp_path
    assert settings.port == 9000
    assert settings.language == "ru"
    assert settings.scheduler is False
    assert settings.database_url == "postgresql+psycopg://potok@db/potok"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("POTOK_PORT", "eighty", "POTOK_PORT must be a whole number"),
        ("POTOK_PORT", "70000", "POTOK_PORT must be between 1 and 65535"),
        ("POTOK_LANGUAGE", "de", "POTOK_LANGUAGE must be one of en, ru"),
        ("POTOK_SCHEDULER", "maybe", "POTOK_SCHEDULER must be 'on' or 'off'"),
        ("POTOK_DATABASE_URL", "mysql://x", "POTOK_DATABASE_URL must start with"),
        ("POTOK_SMTP_URL", "mail.example.com", "POTOK_SMTP_URL must look like"),
        ("POTOK_TIMEZONE", "Mars/Olympus", "POTOK_TIMEZONE must be an IANA time zone"),
        ("POTOK_DATA_DIR", "  ", "POTOK_DATA_DIR must not be empty"),
    ],
    ids=lambda value: str(value)[:20],
)
def test_bad_values_are_refused_with_the_variable_named(name, value, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value})


def test_a_bad_secret_is_not_echoed():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"POTOK_SMTP_URL": "hunter2-secret"})
    assert "hunter2" not in str(caught.value)


def test_describe_masks_secrets_and_names_the_source():
    environ = {"POTOK_SMTP_URL": "smtp://user:hunter2@mail:25", "POTOK_PORT": "8080"}
    rows = {row["name"]: row for row in Settings.from_env(environ).describe(environ)}
    assert rows["POTOK_SMTP_URL"]["value"] == "(set)"
    assert rows["POTOK_SMTP_URL"]["source"] == "environment"
    assert rows["POTOK_PORT"]["value"] == "8080"
    assert rows["POTOK_HOST"]["source"] == "default"
    assert rows["POTOK_SECRET_KEY"]["value"] == "(unset)"
    assert "hunter2" not in repr(rows)
