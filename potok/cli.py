"""The ``potok`` command.

    potok serve [--host H] [--port P] [--workers N] [--no-scheduler] [--demo]
    potok demo [--language en|ru]
    potok worker
    potok db upgrade | potok db current
    potok user create NAME [--full-name …] [--email …] [--role KEY …] [--password-stdin]
    potok user passwd NAME [--password-stdin]
    potok user list
    potok settings

Settings come from ``POTOK_*`` environment variables (``potok settings`` lists them);
options given here override them for this run.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from potok.errors import PotokError, SettingsError
from potok.platform.bootstrap import Bootstrap
from potok.settings import Settings

log = logging.getLogger("potok")


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet = max(logging.WARNING, logging.getLevelName(settings.log_level))
    for noisy in ("alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(quiet)


def _prepare(settings: Settings) -> Bootstrap:
    """Migrate, make sure there is an administrator, and on a new database load the
    default configuration (POTOK_DEFAULT_CONFIG)."""
    from potok.platform.bootstrap import initialise
    from potok.platform.clock import utcnow
    from potok.platform.db import Database, make_unpooled_engine
    from potok.seed_configs.loader import load_default

    boot = initialise(settings)
    database = Database(make_unpooled_engine(settings))
    try:
        with database.session(write=True) as session:
            loaded = load_default(session, settings.default_config, now=utcnow())
    finally:
        database.dispose()
    if loaded:
        print(f"Loaded the default configuration '{loaded}'.", flush=True)
    return boot


def _print_welcome(settings: Settings, url_host: str, port: int, boot: Bootstrap) -> None:
    where = "SQLite " + str(settings.sqlite_path) if settings.is_sqlite else "PostgreSQL"
    print(f"Potok is starting at http://{url_host}:{port}/  (database: {where})", flush=True)
    if boot.generated_password:
        print(
            f"  Log in as '{boot.admin_username}' with the password: {boot.generated_password}\n"
            "  It was generated just now and is shown only once; change it under 'My account'.",
            flush=True,
        )
    elif boot.new_database:
        print(
            f"  Log in as '{boot.admin_username}' with the password from POTOK_ADMIN_PASSWORD.",
            flush=True,
        )
    else:
        print(f"  Log in as '{boot.admin_username}' or another existing user.", flush=True)


def _demo(settings: Settings, language: str) -> None:
    """Create the demo company's people (once) and print them with their passwords."""
    from potok.platform.clock import utcnow
    from potok.platform.db import Database, make_unpooled_engine
    from potok.seed_configs import staff
    from potok.seed_configs.loader import load_default

    database = Database(make_unpooled_engine(settings))
    try:
        with database.session(write=True) as session:
            if load_default(session, "sales", now=utcnow()):
                print("Loaded the configuration 'sales' for the demo.", flush=True)
            made = staff.create_staff(session, language=language, now=utcnow())
    finally:
        database.dispose()
    if made.already:
        print(
            "The demo users already exist; nothing was created or changed "
            "(their passwords were shown when they were created).",
            flush=True,
        )
        return
    print("Demo users (the passwords are shown only this once):", flush=True)
    for username, password, full_name, roles in made.created:
        print(f"  {username:<12} {password:<18} {','.join(roles):<16} {full_name}", flush=True)
    principal, deputy, _, _ = staff.DEPUTY
    print(f"  {deputy} stands in for {principal} this week.", flush=True)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    boot = _prepare(settings)
    if boot.generated_password:
        print(f"Created user '{boot.admin_username}' with password: {boot.generated_password}")
    _demo(settings, args.language or settings.language)
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from potok.app import create_app

    host = args.host or settings.host
    port = args.port or settings.port
    settings = settings.replace(host=host, port=port)
    if args.no_scheduler:
        settings = settings.replace(scheduler=False)
    boot = _prepare(settings)
    if args.demo:
        _demo(settings, settings.language)
    _print_welcome(settings, "127.0.0.1" if host in ("0.0.0.0", "::") else host, port, boot)  # noqa: S104
    if args.workers <= 1:
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            proxy_headers=True,
            server_header=False,
        )
        return 0
    # Several web processes: each runs without the scheduler; one 'potok worker' runs it.
    environment = {
        **os.environ,
        "POTOK_DATA_DIR": str(settings.data_dir),
        "POTOK_SCHEDULER": "off",
    }
    os.environ.update(environment)
    worker = None
    if settings.scheduler:
        worker = subprocess.Popen([sys.executable, "-m", "potok", "worker"], env=environment)
    try:
        uvicorn.run(
            "potok.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            log_level=settings.log_level.lower(),
            proxy_headers=True,
            server_header=False,
        )
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    return 0


def cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    from potok.app import create_app, services_of
    from potok.platform.scheduler import Scheduler

    _prepare(settings)
    services = services_of(create_app(settings.replace(scheduler=False)))
    scheduler = Scheduler(services, services.jobs, blocking=True)
    print("Potok worker: running the scheduler. Stop with Ctrl+C.", flush=True)

    def stop(_signum: int, _frame: object) -> None:
        scheduler.shutdown()

    signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown()
    return 0


def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    from potok.platform import migrate
    from potok.platform.db import make_unpooled_engine

    if args.db_command == "upgrade":
        boot = _prepare(settings)
        engine = make_unpooled_engine(settings)
        print(f"Database is at revision {migrate.current_revision(engine)} (newest).")
        if boot.generated_password:
            print(f"Created user '{boot.admin_username}' with password: {boot.generated_password}")
        engine.dispose()
        return 0
    engine = make_unpooled_engine(settings)
    current = migrate.current_revision(engine)
    engine.dispose()
    head = migrate.head_revision()
    state = "up to date" if current == head else f"behind: run 'potok db upgrade' to reach {head}"
    print(f"Database revision: {current or 'none (empty database)'} — {state}.")
    return 0 if current == head else 1


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise SettingsError("the two passwords do not match")
    return first


def cmd_user(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from potok.platform import accounts
    from potok.platform.audit import Actor
    from potok.platform.bootstrap import initialise
    from potok.platform.clock import utcnow
    from potok.platform.db import Database, make_unpooled_engine
    from potok.platform.models import Role

    initialise(settings)
    database = Database(make_unpooled_engine(settings))
    actor = Actor(None, "cli")
    try:
        if args.user_command == "list":
            with database.session() as session:
                for user in accounts.list_users(session):
                    roles = ",".join(role.key for role in user.roles) or "-"
                    state = "active" if user.is_active else "disabled"
                    print(f"{user.username:<24} {state:<8} {roles:<24} {user.full_name}")
            return 0
        if args.user_command == "create":
            with database.session(write=True) as session:
                keys = set(args.role or [])
                chosen = list(session.scalars(select(Role).where(Role.key.in_(keys))))
                missing = keys - {role.key for role in chosen}
                if missing:
                    raise SettingsError(f"no such role: {', '.join(sorted(missing))}")
                values = accounts.UserInput(
                    username=args.username,
                    full_name=args.full_name or "",
                    email=args.email or "",
                    role_ids=tuple(str(role.id) for role in chosen),
                    is_active=True,
                    password=_read_password(args),
                )
                user = accounts.create_user(session, actor, values, now=utcnow())
                print(f"Created user '{user.username}'.")
            return 0
        with database.session(write=True) as session:
            accounts.set_password(session, actor, args.username, _read_password(args), now=utcnow())
            print(f"Password of '{args.username.lower()}' is changed.")
        return 0
    finally:
        database.dispose()


def _print_problems(problems: list[Any]) -> None:
    for item in problems:
        print(f"  {item}", file=sys.stderr)


def cmd_config(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from potok.metadata import folders, schema_changes, store
    from potok.platform.bootstrap import initialise
    from potok.platform.clock import utcnow
    from potok.platform.db import Database, make_unpooled_engine

    folder = Path(getattr(args, "folder", None) or ".")
    if args.config_command == "validate":
        found = folders.validate_folder(folder)
        if found.problems:
            print(f"{folder}: {len(found.problems)} problem(s):", file=sys.stderr)
            _print_problems(found.problems)
            return 1
        print(f"{folder}: {len(found.documents)} objects, no problems.")
        return 0
    initialise(settings)
    database = Database(make_unpooled_engine(settings))
    try:
        if args.config_command == "export":
            with database.session() as session:
                written = folders.write_folder(folder, store.export_documents(session))
            print(f"Wrote {len(written)} files to {folder}.")
            return 0
        if args.config_command == "import":
            found = folders.validate_folder(folder)
            if found.problems:
                print(
                    f"{folder}: nothing imported, {len(found.problems)} problem(s):",
                    file=sys.stderr,
                )
                _print_problems(found.problems)
                return 1
            with database.session(write=True) as session:
                plan = store.plan_publish(session, documents=found.documents)
                _print_plan(plan)
                if plan.unconvertible and not args.clear_unconvertible:
                    print(
                        "Nothing imported: some values would not convert; run again with "
                        "--clear-unconvertible to clear them.",
                        file=sys.stderr,
                    )
                    return 1
                store.publish(
                    session,
                    plan,
                    author="cli",
                    now=utcnow(),
                    clear_unconvertible=args.clear_unconvertible,
                    comment="imported",
                )
            print(f"Imported {len(plan.changed)} changed objects from {folder}.")
            return 0
        with database.session(write=True) as session:
            dropped = schema_changes.purge(session, args.stream, args.field)
        print("Dropped: " + (", ".join(dropped) or "nothing (no hidden fields)"))
        return 0
    finally:
        database.dispose()


def _print_plan(plan: Any) -> None:
    for key in plan.new_streams:
        print(f"  new stream {key}: create its tables")
    for stream, stream_plan in plan.streams.items():
        for step in stream_plan.steps:
            text = step.message % step.params if step.params else step.message
            print(f"  {stream}: {text}")
            if step.failures:
                print(
                    f"    {step.failures} value(s) would not convert, e.g. "
                    + "; ".join(f"#{row}: {old!r}" for row, old, _ in step.examples[:3])
                )
            if step.duplicates:
                print(
                    "    repeated values: "
                    + ", ".join(f"{value!r} x{count}" for value, count in step.duplicates)
                )


def cmd_settings(settings: Settings, _args: argparse.Namespace) -> int:
    for row in settings.describe():
        print(f"{row['name']} = {row['value']}   [{row['source']}]")
        print(f"    {row['help']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="potok", description="Potok document management.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the web server (and the scheduler)")
    serve.add_argument("--host", help="address to listen on (POTOK_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (POTOK_PORT, default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="web worker processes (default 1)")
    serve.add_argument("--no-scheduler", action="store_true", help="do not run the scheduler")
    serve.add_argument(
        "--demo", action="store_true", help="create the demo company's users first (once)"
    )
    serve.set_defaults(run=cmd_serve)

    demo = commands.add_parser(
        "demo", help="set up the data dir with the Sales configuration and demo users (once)"
    )
    demo.add_argument(
        "--language", choices=("en", "ru"), help="language of the demo names (POTOK_LANGUAGE)"
    )
    demo.set_defaults(run=cmd_demo)

    worker = commands.add_parser("worker", help="run only the scheduler (reminders, mail)")
    worker.set_defaults(run=cmd_worker)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply pending migrations (also done on start)")
    db_commands.add_parser("current", help="show the schema revision; exit 1 when behind")
    db.set_defaults(run=cmd_db)

    user = commands.add_parser("user", help="manage users")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    create = user_commands.add_parser("create", help="create a user")
    create.add_argument("username")
    create.add_argument("--full-name")
    create.add_argument("--email")
    create.add_argument("--role", action="append", help="role key; repeat for several")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    passwd = user_commands.add_parser("passwd", help="set a user's password")
    passwd.add_argument("username")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    user_commands.add_parser("list", help="list users")
    user.set_defaults(run=cmd_user)

    config = commands.add_parser("config", help="configuration folders (metadata)")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    for name, text in (
        ("export", "write the published configuration to a folder, one file per object"),
        ("validate", "check a folder without touching the database"),
        ("import", "validate a folder, then publish all of it or nothing"),
    ):
        action = config_commands.add_parser(name, help=text)
        action.add_argument("folder")
        if name == "import":
            action.add_argument(
                "--clear-unconvertible",
                action="store_true",
                help="clear values that do not convert to a field's new type",
            )
    purge = config_commands.add_parser("purge", help="drop the kept data of removed fields")
    purge.add_argument("stream")
    purge.add_argument("field", nargs="?")
    config.set_defaults(run=cmd_config)

    show = commands.add_parser("settings", help="show every POTOK_* setting and its value")
    show.set_defaults(run=cmd_settings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        _configure_logging(settings)
        return int(args.run(settings, args))
    except SettingsError as exc:
        print(f"potok: {exc}", file=sys.stderr)
        return 2
    except PotokError as exc:
        print(f"potok: {exc}", file=sys.stderr)
        for field, message in exc.field_errors.items():
            print(f"  {field}: {message}", file=sys.stderr)
        return 1
