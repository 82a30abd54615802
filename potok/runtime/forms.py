"""From an HTML form (or htmx request) to the raw values :func:`values.read` takes.

Names: a field's key for one value (repeated for several); ``<table>.<row>.<column>`` for
table rows (``<table>.<row>.id`` keeps a row's identity); a ``<key>.__present`` marker says a
table or multi-valued field was on the form, so leaving it empty means "no values" rather
than "not sent". A yes/no field sends a hidden ``false`` before its checkbox's ``true``; the
last value wins.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from potok.runtime.streams import StreamRuntime

PRESENT = "__present"
MAX_ROWS = 1000


def raw_values(runtime: StreamRuntime, form: FormData) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for item in runtime.stream.fields:
        key = item.key
        if item.storage == "child":
            if f"{key}.{PRESENT}" not in form:
                continue
            rows: dict[int, dict[str, Any]] = {}
            for name, value in form.multi_items():
                parts = name.split(".", 2)
                if len(parts) != 3 or parts[0] != key or not parts[1].isdigit():
                    continue
                index = int(parts[1])
                if index >= MAX_ROWS:
                    continue
                rows.setdefault(index, {})[parts[2]] = value if isinstance(value, str) else ""
            raw[key] = [rows[index] for index in sorted(rows)]
        elif item.field_type.kind == "multi":
            if f"{key}.{PRESENT}" in form or key in form:
                raw[key] = [str(value) for value in form.getlist(key) if str(value).strip()]
        elif key in form:
            values = [value for value in form.getlist(key) if isinstance(value, str)]
            raw[key] = values[-1] if values else None
    return raw
