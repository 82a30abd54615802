"""Every field type: reading values, checking rules, storing them and converting them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from potok.metadata.dictionaries import items
from potok.metadata.types import REGISTRY, FieldValueError, field_type
from tests.builders import Publisher, dictionary, field, stream

CHOICE = {
    "options": [
        {"value": "new", "labels": {"en": "New", "ru": "Новый"}},
        {"value": "won", "labels": {"en": "Won", "ru": "Выигран"}},
    ]
}

# type, extra spec, raw input, stored value
GOOD: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("text", {}, "  Romashka  ", "Romashka"),
    ("long_text", {}, "line 1\nline 2", "line 1\nline 2"),
    ("integer", {}, "1 200", 1200),
    ("integer", {}, -7, -7),
    ("decimal", {"decimals": 3}, "12,3456", Decimal("12.346")),
    ("money", {}, "1 234 567,895", Decimal("1234567.90")),
    ("percent", {}, "20%", Decimal("20.000000")),
    ("date", {}, "31.03.2026", date(2026, 3, 31)),
    ("date", {}, "2026-03-31", date(2026, 3, 31)),
    ("datetime", {}, "2026-03-31 14:30", datetime(2026, 3, 31, 14, 30)),
    ("datetime", {}, "2026-03-31T14:30:00+03:00", datetime(2026, 3, 31, 11, 30)),
    ("boolean", {}, "да", True),
    ("boolean", {}, "off", False),
    ("choice", CHOICE, "won", "won"),
    ("choice", CHOICE, "Выигран", "won"),
    ("dictionary", {"dictionary": "groups"}, "3", 3),
    ("dictionary_multi", {"dictionary": "groups"}, ["3", "1", "3"], [1, 3]),
    ("link", {"stream": "clients"}, 17, 17),
    ("links", {"stream": "clients"}, "5,2", [2, 5]),
    ("user", {}, "1", 1),
    ("department", {}, "2", 2),
    ("email", {}, " Anna@Example.COM ", "anna@example.com"),
    ("phone", {}, "+7 (495) 123-45-67", "+7 (495) 123-45-67"),
    ("url", {}, "https://potok.example/clients", "https://potok.example/clients"),
    ("requisite", {"requisite": "inn"}, "7707 083 893", "7707083893"),
    ("scale", {"min": -5, "max": 5}, "-5", -5),
]

BAD: list[tuple[str, dict[str, Any], Any, str]] = [
    ("text", {"max_length": 3}, "abcd", "At most 3 characters."),
    ("text", {"min_length": 3}, "ab", "At least 3 characters."),
    (
        "text",
        {"pattern": {"regex": "[A-Z]{2}", "message": {"en": "Two capitals", "ru": "Две"}}},
        "ab",
        "The value does not have the expected form.",
    ),
    ("integer", {}, "1.5", "Enter a whole number."),
    ("integer", {}, "twelve", "Enter a number."),
    ("integer", {"min": 0}, "-1", "Must be at least 0."),
    ("decimal", {}, "NaN", "Enter a number."),
    ("decimal", {}, "1e40", "The number is too large."),
    ("money", {"max": 100}, "100.01", "Must be at most 100."),
    ("date", {}, "31.02.2026", "Enter a date like 2026-03-31 or 31.03.2026."),
    ("date", {}, "1700-01-01", "Enter a date between 1800 and 2200."),
    ("datetime", {}, "yesterday", "Enter a date and time like 2026-03-31 14:30."),
    ("boolean", {}, "perhaps", "Choose yes or no."),
    ("choice", CHOICE, "lost", "Choose one of the options."),
    ("dictionary", {"dictionary": "groups"}, "abc", "Choose a value from the list."),
    ("link", {"stream": "clients"}, "0", "Choose a value from the list."),
    ("email", {}, "anna@", "Enter an e-mail address like name@example.com."),
    (
        "phone",
        {},
        "call me",
        "Enter a phone number: digits, spaces, brackets, dashes and a leading +.",
    ),
    ("url", {}, "javascript:alert(1)", "Enter a web address starting with http:// or https://."),
    ("requisite", {"requisite": "inn"}, "7707083894", "INN"),
    ("scale", {"min": -5, "max": 5}, "6", "Must be at most 5."),
    ("text", {}, "a\x00b", "The text contains characters that are not allowed."),
]


def read(type_key: str, spec: dict[str, Any], raw: Any) -> Any:
    kind = field_type(type_key)
    value = kind.parse({"type": type_key, **spec}, raw)
    if value is not None and value != []:
        kind.check({"type": type_key, **spec}, value)
    return value


def test_every_type_in_the_issue_is_registered():
    expected = {
        "text",
        "long_text",
        "integer",
        "decimal",
        "money",
        "percent",
        "date",
        "datetime",
        "boolean",
        "choice",
        "dictionary",
        "dictionary_multi",
        "link",
        "links",
        "user",
        "department",
        "email",
        "phone",
        "url",
        "requisite",
        "scale",
        "files",
        "table",
        "computed",
        "registration_number",
    }
    assert set(REGISTRY.keys()) == expected
    for kind in REGISTRY:
        assert kind.label and kind.widget and kind.kind


@pytest.mark.parametrize(
    ("type_key", "spec", "raw", "expected"), GOOD, ids=[f"{t}:{r!r}"[:30] for t, _, r, _ in GOOD]
)
def test_good_values_are_read(type_key, spec, raw, expected):
    assert read(type_key, spec, raw) == expected


@pytest.mark.parametrize(
    ("type_key", "spec", "raw", "message"), BAD, ids=[f"{t}:{r!r}"[:30] for t, _, r, _ in BAD]
)
def test_bad_values_get_a_clear_message(type_key, spec, raw, message):
    with pytest.raises(FieldValueError) as caught:
        read(type_key, spec, raw)
    assert message in str(caught.value)


def test_a_pattern_message_comes_from_the_metadata_in_both_languages():
    spec = {"pattern": {"regex": "[A-Z]{2}", "message": {"en": "Two capitals", "ru": "Две"}}}
    with pytest.raises(FieldValueError) as caught:
        read("text", spec, "ab")
    assert caught.value.texts == {"en": "Two capitals", "ru": "Две"}


@pytest.mark.parametrize("type_key", sorted(REGISTRY.keys()))
def test_empty_input_is_empty(type_key):
    kind = field_type(type_key)
    spec = {"type": type_key, "result": "text", "options": CHOICE["options"]}
    if kind.storage in ("column",) or kind.kind == "multi":
        assert kind.parse(spec, "") in (None, [])
        assert kind.parse(spec, None) in (None, [])


@pytest.mark.parametrize(
    ("source", "target", "value", "expected"),
    [
        ("integer", "text", 5, "5"),
        ("text", "integer", " 12 ", 12),
        ("decimal", "money", Decimal("1.005"), Decimal("1.01")),
        ("date", "datetime", date(2026, 1, 2), datetime(2026, 1, 2)),
        ("datetime", "date", datetime(2026, 1, 2, 23, 0), date(2026, 1, 2)),
        ("boolean", "text", True, "true"),
        ("text", "email", "A@B.RU", "a@b.ru"),
        ("dictionary", "dictionary_multi", 4, [4]),
        ("dictionary_multi", "dictionary", [4], 4),
        ("links", "link", [], None),
    ],
)
def test_values_convert_between_types(source, target, value, expected):
    spec = {"type": target, "dictionary": "groups", "stream": "clients"}
    assert field_type(target).convert(field_type(source), spec, value) == expected


@pytest.mark.parametrize(
    ("source", "target", "value"),
    [
        ("text", "integer", "many"),
        ("dictionary_multi", "dictionary", [1, 2]),
        ("user", "dictionary", 3),
        ("decimal", "scale", Decimal("2.5")),
        ("text", "date", "someday"),
    ],
)
def test_values_that_do_not_convert_say_so(source, target, value):
    spec = {"type": target, "dictionary": "groups", "min": -5, "max": 5}
    with pytest.raises(FieldValueError):
        field_type(target).convert(field_type(source), spec, value)


def test_every_stored_type_round_trips_through_the_database(publisher: Publisher, db):
    """Store one value of each column type and read it back unchanged, on this database."""
    fields = [
        field(f"f_{index}", type_key, **spec)
        for index, (type_key, spec, _, _) in enumerate(GOOD)
        if field_type(type_key).storage == "column"
    ]
    fields.append(field("total", "computed", formula="f_4 * 2", result="decimal"))
    publisher.publish(
        dictionary("groups", "vip"), stream("clients", field("name")), stream("samples", *fields)
    )
    [client] = publisher.insert("s_clients", {"name": "Romashka"})
    values = {}
    for index, (type_key, _spec, _raw, expected) in enumerate(GOOD):
        if field_type(type_key).storage != "column":
            continue
        if type_key == "dictionary":
            with db.session() as session:
                expected = items(session, "groups")[0].id
        elif type_key == "link":
            expected = client
        elif type_key in ("user", "department"):
            expected = None  # no users or departments in this database
        values[f"f_{index}"] = expected
    values["total"] = Decimal("24.692000")
    publisher.insert("s_samples", values)
    row = publisher.rows("s_samples", *values)[0]
    assert dict(zip(values, row, strict=True)) == values
