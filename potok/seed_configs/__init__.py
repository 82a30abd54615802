"""Configurations that ship with Potok, as configuration folders (data, not code):
``sales/`` is the default "Sales" configuration loaded on the first start.

May import: ``potok.metadata`` (to load a folder), ``potok.platform``, ``potok.settings``,
``potok.errors``. Never imports the runtime or the UI packages.
"""
