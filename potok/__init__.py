"""Potok: an open-source low-code document management platform with CRM built in.

The package is split along the design card (docs/design.md): ``platform`` is what every
other part may use, ``metadata`` is the configuration model, ``runtime`` interprets it,
and ``designer``, ``routes_editor`` and ``report_generator`` are the browser tools built
on top. ``app.create_app(settings)`` assembles them; ``cli`` is the ``potok`` command.
"""

__version__ = "0.1.0.dev0"
