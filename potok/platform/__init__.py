"""What every other part of Potok may use.

Owns: settings access, the database engine and sessions, the system tables and their Alembic
migrations, accounts (users, roles, departments, deputies), login sessions, CSRF protection,
translations, outgoing mail, the scheduler, the audit log, the Jinja environment, static
files, the base templates and the administration screens.

May import: ``potok.settings``, ``potok.errors`` and third-party libraries — nothing else of
Potok. Everything above it (metadata, runtime, the UI packages) may import it.
"""
