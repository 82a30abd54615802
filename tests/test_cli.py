"""The ``potok`` command, including a real first and second start of ``potok serve``."""

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from potok import cli
from potok.settings import SETTINGS
from tests.helpers import free_port


@pytest.fixture
def env(empty_database, monkeypatch):
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    for name, value in empty_database.items():
        monkeypatch.setenv(name, value)
    return empty_database


def run(argv, capsys, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_settings_lists_every_setting(env, capsys):
    code, out, _ = run(["settings"], capsys)
    assert code == 0
    for setting in SETTINGS:
        assert setting.name in out
    assert "[environment]" in out  # POTOK_DATA_DIR comes from the environment


def test_a_bad_setting_stops_the_command_with_a_clear_message(env, capsys, monkeypatch):
    monkeypatch.setenv("POTOK_PORT", "http")
    code, _, err = run(["settings"], capsys)
    assert code == 2
    assert "POTOK_PORT must be a whole number" in err


def test_db_upgrade_creates_the_schema_and_current_reports_it(env, capsys):
    code, _, _ = run(["db", "current"], capsys)
    assert code == 1
    code, out, _ = run(["db", "upgrade"], capsys)
    assert code == 0
    assert "newest" in out
    assert "Created user 'admin' with password:" in out
    code, out, _ = run(["db", "current"], capsys)
    assert code == 0 and "up to date" in out
    code, out, _ = run(["db", "upgrade"], capsys)
    assert "Created user" not in out


def test_users_are_created_listed_and_given_passwords(env, capsys, monkeypatch):
    code, out, err = run(
        [
            "user",
            "create",
            "Olga",
            "--full-name",
            "Olga Ivanova",
            "--role",
            "admin",
            "--password-stdin",
        ],
        capsys,
        stdin="olga-password-1\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0, err
    assert "Created user 'olga'" in out
    code, out, _ = run(["user", "list"], capsys)
    assert re.search(r"olga\s+active\s+admin\s+Olga Ivanova", out)
    code, out, _ = run(
        ["user", "passwd", "olga", "--password-stdin"],
        capsys,
        stdin="new-password-2\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0 and "is changed" in out


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (
            ["user", "create", "ol ga", "--password-stdin"],
            "long-enough-1\n",
            "username: Use 2 to 64 lowercase Latin letters",
        ),
        (
            ["user", "create", "olga", "--password-stdin"],
            "short\n",
            "password: The password must be at least 8 characters long.",
        ),
        (
            ["user", "create", "olga", "--role", "ghost", "--password-stdin"],
            "long-enough-1\n",
            "no such role: ghost",
        ),
        (
            ["user", "passwd", "nobody", "--password-stdin"],
            "long-enough-1\n",
            "There is no user nobody",
        ),
    ],
    ids=["bad username", "short password", "unknown role", "unknown user"],
)
def test_bad_user_commands_fail_with_a_message(env, capsys, monkeypatch, argv, stdin, message):
    code, _, err = run(argv, capsys, stdin=stdin, monkeypatch=monkeypatch)
    assert code != 0
    assert message.lower() in err.lower()


# A real server process -----------------------------------------------------------------------


def start_server(environment: dict[str, str], port: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "potok", "serve", "--port", str(port)],
        env={**os.environ, **environment, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process, ""
        except httpx.TransportError:
            time.sleep(0.2)
        if process.poll() is not None:
            break
    output = stop_server(process)
    pytest.fail(f"potok serve did not come up:\n{output}")


def stop_server(process: subprocess.Popen) -> str:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output


def log_in(port: int, username: str, password: str) -> int:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
        page = browser.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        browser.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )
        return browser.get("/", follow_redirects=False).status_code


def test_first_start_creates_everything_and_a_second_start_changes_nothing(env, tmp_path):
    environment = {**env, "POTOK_SCHEDULER": "off"}
    port = free_port()
    process, _ = start_server(environment, port)
    assert log_in(port, "admin", "wrong-password") == 303
    output = stop_server(process)
    assert f"http://127.0.0.1:{port}/" in output
    assert "Loaded the default configuration 'sales'." in output
    password = re.search(r"with the password: (\S+)", output).group(1)

    process, _ = start_server(environment, port)
    assert log_in(port, "admin", password) == 200
    output = stop_server(process)
    assert "with the password" not in output
    assert "Loaded the default configuration" not in output
    assert "Log in as 'admin' or another existing user" in output
    if "POTOK_DATABASE_URL" not in env:
        assert (Path(env["POTOK_DATA_DIR"]) / "potok.sqlite3").exists()
        assert (Path(env["POTOK_DATA_DIR"]) / "secret_key").stat().st_mode & 0o077 == 0


def test_the_admin_password_comes_from_the_setting(env):
    port = free_port()
    environment = {**env, "POTOK_ADMIN_PASSWORD": "Chosen-Password-1", "POTOK_SCHEDULER": "off"}
    process, _ = start_server(environment, port)
    try:
        assert log_in(port, "admin", "Chosen-Password-1") == 200
    finally:
        output = stop_server(process)
    assert "password from POTOK_ADMIN_PASSWORD" in output
    assert "Chosen-Password-1" not in output


def test_a_too_short_admin_password_stops_the_first_start(env, capsys, monkeypatch):
    monkeypatch.setenv("POTOK_ADMIN_PASSWORD", "short")
    code, _, err = run(["db", "upgrade"], capsys)
    assert code == 2
    assert "POTOK_ADMIN_PASSWORD is not acceptable" in err


# Configuration folders -----------------------------------------------------------------------

SALES = Path(__file__).resolve().parents[1] / "potok" / "seed_configs" / "sales"


def test_config_validate_needs_no_database(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("POTOK_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    code, out, _ = run(["config", "validate", str(SALES)], capsys)
    assert code == 0
    assert "29 objects, no problems" in out


def test_config_validate_lists_every_problem(capsys, tmp_path):
    bad = tmp_path / "bad"
    (bad / "stream").mkdir(parents=True)
    (bad / "stream" / "works.json").write_text(
        '{"kind": "stream", "key": "works", "labels": {"en": "Works", "ru": "Работы"}, '
        '"fields": [{"key": "client", "type": "link", "stream": "clients", '
        '"labels": {"en": "Client", "ru": "Клиент"}}, {"key": "x"}]}'
    )
    (bad / "layout").mkdir()
    (bad / "layout" / "works.json").write_text("{not json")
    code, _, err = run(["config", "validate", str(bad)], capsys)
    assert code == 1
    assert "layout/works.json: The file is not valid JSON" in err
    assert "stream works › fields[1]: type is required." in err


def test_config_import_export_and_purge(env, capsys, tmp_path):
    code, out, err = run(["config", "import", str(SALES)], capsys)
    assert code == 0, err
    assert "new stream clients: create its tables" in out
    exported = tmp_path / "exported"
    code, out, _ = run(["config", "export", str(exported)], capsys)
    assert code == 0 and "Wrote 29 files" in out
    assert (exported / "stream" / "clients.json").read_text() == (
        SALES / "stream" / "clients.json"
    ).read_text()
    code, out, _ = run(["config", "purge", "clients"], capsys)
    assert code == 0 and "nothing (no hidden fields)" in out


def test_config_import_refuses_a_broken_folder_and_changes_nothing(env, capsys, tmp_path):
    broken = tmp_path / "broken"
    (broken / "layout").mkdir(parents=True)
    (broken / "layout" / "clients.json").write_text(
        '{"kind": "layout", "key": "clients", "stream": "clients", '
        '"labels": {"en": "Card", "ru": "Карточка"}, "tabs": []}'
    )
    code, _, err = run(["config", "import", str(broken)], capsys)
    assert code == 1
    assert "nothing imported" in err
    code, out, _ = run(["config", "export", str(tmp_path / "out")], capsys)
    assert "Wrote 0 files" in out


def test_the_default_configuration_can_be_chosen_or_left_out(env, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("POTOK_DEFAULT_CONFIG", "none")
    code, out, _ = run(["db", "upgrade"], capsys)
    assert code == 0 and "Loaded" not in out
    code, out, _ = run(["config", "export", str(tmp_path / "empty")], capsys)
    assert "Wrote 0 files" in out
    monkeypatch.setenv("POTOK_DEFAULT_CONFIG", "sales")
    code, out, _ = run(["db", "upgrade"], capsys)
    assert "Loaded the default configuration 'sales'." in out
    code, out, _ = run(["db", "upgrade"], capsys)
    assert "Loaded" not in out
    code, out, _ = run(["config", "export", str(tmp_path / "sales")], capsys)
    assert "Wrote 29 files" in out


def test_an_unknown_default_configuration_is_a_clear_error(env, capsys, monkeypatch):
    monkeypatch.setenv("POTOK_DEFAULT_CONFIG", "banking")
    code, _, err = run(["db", "upgrade"], capsys)
    assert code == 2
    assert "POTOK_DEFAULT_CONFIG: no configuration 'banking'" in err
