"""Interprets published metadata into the screens employees work in.

Owns: documents (create, validate, number, link, history, attachments, permissions), card
rendering, lists and search, the route engine and tasks, the inbox, the calendar,
reminders, auto-import and auto-processing.

May import: ``potok.metadata``, ``potok.platform``, ``potok.settings``, ``potok.errors``.
Never imports the designer, the route editor or the report generator.
"""
