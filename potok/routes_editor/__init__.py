"""The graphical route editor: canvas, outline view, graph validation, dry-run simulation.

May import: ``potok.runtime`` (the route engine, for dry runs), ``potok.metadata``,
``potok.platform``, ``potok.settings``, ``potok.errors``. Never imports the designer or the
report generator.
"""
