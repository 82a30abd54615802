"""Reports: definitions compiled to SQL, shown as HTML and exported to XLSX and CSV;
template documents; scheduled reports; Excel import.

May import: ``potok.runtime``, ``potok.metadata``, ``potok.platform``, ``potok.settings``,
``potok.errors``. Never imports the designer or the route editor.
"""
