"""The browser form designer: streams, fields, card layouts and dictionaries.

May import: ``potok.runtime`` (its card renderer for the live preview), ``potok.metadata``,
``potok.platform``, ``potok.settings``, ``potok.errors``. Never imports the route editor or
the report generator.
"""
