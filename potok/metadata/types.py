"""Field types: a registry where each type knows its SQL column, how to read and check a
value, its form widget, how it is shown, its Excel cell, and how values convert from other
types. The built-in types register themselves exactly as a plugin's would
(:func:`register`, STYLE.md habit 8).

Values in Python: text types hold ``str``; integer and scale ``int``; decimal, money and
percent ``Decimal``; date ``date``; date-time naive-UTC ``datetime``; yes/no ``bool``; choice
the option's ``value`` string; dictionary, user, department and link the referenced ``int``
id; the multi-valued types a sorted ``list[int]``; table fields a list of row dicts.
Empty is always ``None`` (or ``[]`` for multi-valued types).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Dialect, Integer, Numeric, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

from potok.errors import N_
from potok.metadata import requisites


class FieldValueError(ValueError):
    """A value a field cannot take: ``message`` is an English message id with ``params``;
    ``texts`` ({"en": …, "ru": …}) is a message written in the metadata, shown instead."""

    def __init__(
        self, message: str, *, texts: Mapping[str, str] | None = None, **params: Any
    ) -> None:
        self.message = message
        self.params = params
        self.texts = dict(texts or {})
        super().__init__(message % params if params else message)


class ExactDecimal(TypeDecorator[Decimal]):
    """Decimal numbers without binary rounding on both databases: PostgreSQL's NUMERIC, and
    on SQLite (which has no decimal type) an integer count of 10**-scale units. Sums and
    comparisons in SQL stay exact; SQLAlchemy converts back through this type."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self._unit = Decimal(10) ** -scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(24, self.scale))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = Decimal(value).quantize(self._unit, rounding=ROUND_HALF_UP)
        if dialect.name == "sqlite":
            return int(number.scaleb(self.scale))
        return number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)).scaleb(-self.scale)).quantize(self._unit)
        return Decimal(value).quantize(self._unit)


MONEY_SCALE = 2
DECIMAL_SCALE = 6
MAX_NUMBER = Decimal(10) ** 12
MAX_INTEGER = 2**53
DEFAULT_TEXT_LENGTH = 1000
DEFAULT_LONG_TEXT_LENGTH = 100_000
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE_RE = re.compile(r"^\+?[0-9()\-\s.]{5,30}$")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
TRUE_WORDS = {"true", "yes", "1", "on", "да", "истина", "y", "д"}
FALSE_WORDS = {"false", "no", "0", "off", "нет", "ложь", "n", "н"}


@dataclass(frozen=True)
class FieldType:
    """What a field type is. Subclasses override the hooks that differ."""

    key: str
    label: str
    kind: str  # the condition/formula kind: text, integer, decimal, date, datetime, boolean,
    #            choice, ref, multi, table, none
    storage: str = "column"  # column | multi (association table) | child (rows) | system
    widget: str = "text"
    refers_to: str | None = None  # "dictionary", "stream", "user", "department"
    indexable: bool = True
    searchable: bool = False
    excel_format: str | None = None
    in_tables: bool = True  # may be a column of a table field

    # SQL ---------------------------------------------------------------------------------
    def column_type(self, spec: Mapping[str, Any]) -> TypeEngine[Any]:
        return Text()

    def signature(self, spec: Mapping[str, Any]) -> str:
        """What must stay equal for a column to be reused as it is (else: a new column)."""
        return self.key

    # Values ------------------------------------------------------------------------------
    def parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        """A Python value from what a form or an API sent; None for empty."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return self._parse(spec, raw)

    def _parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        if not isinstance(raw, str | int | Decimal):
            raise FieldValueError(N_("Enter text."))
        return str(raw).strip()

    def check(self, spec: Mapping[str, Any], value: Any) -> None:
        """The rules of the field (length, range, pattern…) for a parsed, non-empty value."""

    def is_empty(self, value: Any) -> bool:
        return value is None or value == [] or value == ""

    def to_text(self, spec: Mapping[str, Any], value: Any) -> str:
        """Language-neutral text of a value: used for conversions and plain exports."""
        return "" if value is None else str(value)

    def excel(self, spec: Mapping[str, Any], value: Any) -> Any:
        return value

    def convert(self, source: FieldType, spec: Mapping[str, Any], value: Any) -> Any:
        """``value`` of a field of type ``source``, as a value of this type.

        Raises FieldValueError when it does not convert (the planner counts those)."""
        if value is None or value == []:
            return None
        if source.kind == "multi":
            if len(value) > 1:
                raise FieldValueError(N_("Several values cannot become one."))
            value = value[0]
            source = REGISTRY.get("integer")
        parsed = self.parse(spec, source.to_text({}, value))
        if parsed is not None:
            self.check(spec, parsed)
        return parsed


class TextType(FieldType):
    def _parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        text = super()._parse(spec, raw)
        if "\x00" in text:
            raise FieldValueError(N_("The text contains characters that are not allowed."))
        return text

    def check(self, spec: Mapping[str, Any], value: Any) -> None:
        default = DEFAULT_LONG_TEXT_LENGTH if self.key == "long_text" else DEFAULT_TEXT_LENGTH
        limit = int(spec.get("max_length", default))
        if len(value) > limit:
            raise FieldValueError(N_("At most %(limit)s characters."), limit=limit)
        if len(value) < int(spec.get("min_length", 0)):
            raise FieldValueError(N_("At least %(limit)s characters."), limit=spec["min_length"])
        pattern = spec.get("pattern")
        if pattern and not _pattern(pattern["regex"]).fullmatch(value):
            texts = {lang: text for lang, text in (pattern.get("message") or {}).items() if text}
            raise FieldValueError(N_("The value does not have the expected form."), texts=texts)


@dataclass(frozen=True)
class PatternType(TextType):
    """Text with a fixed form: e-mail, phone, URL."""

    regex: re.Pattern[str] | None = None
    error: str = ""

    def _parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        text = str(super()._parse(spec, raw))
        if self.key == "email":
            text = text.lower()
        if self.regex is not None and not self.regex.match(text):
            raise FieldValueError(self.error)
        return text


class RequisiteType(TextType):
    def _parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        text = re.sub(r"\s+", "", str(super()._parse(spec, raw)))
        problem = requisites.validate(str(spec.get("requisite", "inn")), text)
        if problem:
            raise FieldValueError(problem)
        return text


@lru_cache(maxsize=256)
def _pattern(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def _decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise FieldValueError(N_("Enter a number."))
    if isinstance(raw, float):
        raw = repr(raw)
    text = str(raw).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise FieldValueError(N_("Enter a number.")) from None
    if not number.is_finite():
        raise FieldValueError(N_("Enter a number."))
    return number


class NumberType(FieldType):
    def column_type(self, spec: Mapping[str, Any]) -> TypeEngine[Any]:
        if self.kind == "integer":
            return BigInteger() if self.key == "integer" else Integer()
        return ExactDecimal(MONEY_SCALE if self.key == "money" else DECIMAL_SCALE)

    def _parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        text = str(raw).strip()
        if self.key == "percent":
            text = text.removesuffix("%")
        number = _decimal(text if isinstance(raw, str) else raw)
        if self.kind == "integer":
            if number != number.to_integral_value():
                raise FieldValueError(N_("Enter a whole number."))
            if abs(number) > MAX_INTEGER:
                raise FieldValueError(N_("The number is too large."))
            return int(number)
        if abs(number) >= MAX_NUMBER:
            raise FieldValueError(N_("The number is too large."))
        places = MONEY_SCALE if self.key == "money" else int(spec.get("decimals", DECIMAL_SCALE))
        return number.quantize(Decimal(10) ** -places, rounding=ROUND_HALF_UP)

    def check(self, spec: Mapping[str, Any], value: Any) -> None:
        if "min" in spec and value < Decimal(str(spec["min"])):
            raise FieldValueError(N_("Must be at least %(limit)s."), limit=spec["min"])
        if "max" in spec and value > Decimal(str(spec["max"])):
            raise FieldValueError(N_("Must be at most %(limit)s."), limit=spec["max"])

    def to_text(self, spec: Mapping[str, Any], value: Any) -> str:
        return (
            ""
            if value is None
            else format(value, "f")
            if isinstance(value, Decimal)
            else str(value)
        )

    def excel(self, spec: Mapping[str, Any], value: Any) -> Any:
        if self.key == "percent" and value is not None:
            return value / 100
        return value


class DateType(FieldType):
    def column_type(self, spec: Mapping[str, Any]) -> TypeEngine[Any]:
        return Date()

    def _parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        text = str(raw).strip()
        for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y"):
            try:
                return datetime.strptime(
                    text[:10] if pattern == "%Y-%m-%d" else text, pattern
                ).date()
            except ValueError:
                continue
        raise FieldValueError(N_("Enter a date like 2026-03-31 or 31.03.2026."))

    def check(self, spec: Mapping[str, Any], value: Any) -> None:
        if not date(1800, 1, 1) <= value <= date(2200, 12, 31):
            raise FieldValueError(N_("Enter a date between 1800 and 2200."))

    def to_text(self, spec: Mapping[str, Any], value: Any) -> str:
        return "" if value is None else value.isoformat()


class DateTimeType(FieldType):
    def column_type(self, spec: Mapping[str, Any]) -> TypeEngine[Any]:
        return DateTime()

    def _parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        if isinstance(raw, datetime):
            return raw.replace(tzinfo=None)
        if isinstance(raw, date):
            return datetime(raw.year, raw.month, raw.day)
        text = str(raw).strip().replace(" ", "T", 1)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            for pattern in ("%d.%m.%YT%H:%M", "%d.%m.%YT%H:%M:%S", "%d.%m.%Y"):
                try:
                    return datetime.strptime(text, pattern)
                except ValueError:
                    continue
            raise FieldValueError(N_("Enter a date and time like 2026-03-31 14:30.")) from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment

    def check(self, spec: Mapping[str, Any], value: Any) -> None:
        if not datetime(1800, 1, 1) <= value <= datetime(2200, 12, 31, 23, 59, 59):
            raise FieldValueError(N_("Enter a date between 1800 and 2200."))

    def to_text(self, spec: Mapping[str, Any], value: Any) -> str:
        return "" if value is None else value.isoformat(timespec="seconds")


class BooleanType(FieldType):
    def column_type(self, spec: Mapping[str, Any]) -> TypeEngine[Any]:
        return Boolean()

    def parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise FieldValueError(N_("Choose yes or no."))

    def to_text(self, spec: Mapping[str, Any], value: Any) -> str:
        return "" if value is None else ("true" if value else "false")


class ChoiceType(FieldType):
    def _parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        text = str(raw).strip()
        for option in spec.get("options", []):
            labels = option.get("labels", {}).values()
            if text == option["value"] or text.lower() in {label.lower() for label in labels}:
                return option["value"]
        raise FieldValueError(N_("Choose one of the options."))


class RefType(FieldType):
    """One reference by id: a dictionary item, a user, a department, a linked document.
    Whether the id exists (and may be seen) is checked by the runtime, which knows."""

    def column_type(self, spec: Mapping[str, Any]) -> TypeEngine[Any]:
        return Integer()

    def signature(self, spec: Mapping[str, Any]) -> str:
        target = spec.get("dictionary") or spec.get("stream") or ""
        return f"{self.key}:{target}"

    def _parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        if isinstance(raw, bool):
            raise FieldValueError(N_("Choose a value from the list."))
        text = str(raw).strip()
        if not text.isdigit() or len(text) > 15 or int(text) == 0:
            raise FieldValueError(N_("Choose a value from the list."))
        return int(text)

    def convert(self, source: FieldType, spec: Mapping[str, Any], value: Any) -> Any:
        if value is None or value == []:
            return None
        if source.refers_to != self.refers_to:
            raise FieldValueError(N_("A value of another kind cannot be converted."))
        if isinstance(value, list):
            if len(value) > 1:
                raise FieldValueError(N_("Several values cannot become one."))
            return value[0]
        return value


class MultiRefType(RefType):
    def column_type(self, spec: Mapping[str, Any]) -> TypeEngine[Any]:
        return Integer()  # the type of the association table's value column

    def parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        if raw is None or raw == "":
            return []
        items = raw if isinstance(raw, list | tuple | set) else str(raw).split(",")
        if len(items) > 1000:
            raise FieldValueError(N_("Too many values."))
        return sorted({self._parse(spec, item) for item in items if str(item).strip()})

    def convert(self, source: FieldType, spec: Mapping[str, Any], value: Any) -> Any:
        if value is None or value == []:
            return []
        if source.refers_to != self.refers_to:
            raise FieldValueError(N_("A value of another kind cannot be converted."))
        return sorted(set(value)) if isinstance(value, list) else [value]

    def to_text(self, spec: Mapping[str, Any], value: Any) -> str:
        return ",".join(str(item) for item in value or [])

    def excel(self, spec: Mapping[str, Any], value: Any) -> Any:
        return self.to_text(spec, value)


class TableType(FieldType):
    def parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        if raw is None or raw == "":
            return []
        if not isinstance(raw, list) or len(raw) > 1000:
            raise FieldValueError(N_("The table's rows could not be read."))
        return raw

    def convert(self, source: FieldType, spec: Mapping[str, Any], value: Any) -> Any:
        raise FieldValueError(N_("A table cannot be converted to another type."))


class NoValueType(FieldType):
    """Types whose value is not typed in: files (attachments), registration number."""

    def parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        return raw

    def convert(self, source: FieldType, spec: Mapping[str, Any], value: Any) -> Any:
        raise FieldValueError(N_("This type cannot be converted."))


class ComputedType(FieldType):
    """Stored as a column of its result type (so lists and reports can sort and sum it);
    recalculated by the runtime on every save from its formula."""

    def result(self, spec: Mapping[str, Any]) -> FieldType:
        return REGISTRY.get(str(spec.get("result", "decimal")))

    def column_type(self, spec: Mapping[str, Any]) -> TypeEngine[Any]:
        return self.result(spec).column_type(spec)

    def signature(self, spec: Mapping[str, Any]) -> str:
        return "computed:" + self.result(spec).signature(spec)

    def parse(self, spec: Mapping[str, Any], raw: Any) -> Any:
        return self.result(spec).parse(spec, raw)

    def to_text(self, spec: Mapping[str, Any], value: Any) -> str:
        return self.result(spec).to_text(spec, value)


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, FieldType] = {}

    def register(self, field_type: FieldType) -> FieldType:
        if field_type.key in self._types:
            raise ValueError(f"field type {field_type.key!r} is registered twice")
        self._types[field_type.key] = field_type
        return field_type

    def get(self, key: str) -> FieldType:
        try:
            return self._types[key]
        except KeyError:
            raise LookupError(f"no field type {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._types

    def __iter__(self) -> Iterator[FieldType]:
        return iter(self._types.values())

    def keys(self) -> list[str]:
        return list(self._types)


REGISTRY = Registry()
register: Callable[[FieldType], FieldType] = REGISTRY.register

BUILT_IN: list[FieldType] = [
    TextType("text", N_("Short text"), "text", widget="text", searchable=True),
    TextType(
        "long_text", N_("Long text"), "text", widget="textarea", searchable=True, indexable=False
    ),
    NumberType("integer", N_("Integer"), "integer", widget="number", excel_format="0"),
    NumberType(
        "decimal", N_("Decimal number"), "decimal", widget="decimal", excel_format="#,##0.00####"
    ),
    NumberType("money", N_("Money"), "decimal", widget="money", excel_format="#,##0.00"),
    NumberType("percent", N_("Percent"), "decimal", widget="percent", excel_format="0.00%"),
    DateType("date", N_("Date"), "date", widget="date", excel_format="DD.MM.YYYY"),
    DateTimeType(
        "datetime",
        N_("Date and time"),
        "datetime",
        widget="datetime",
        excel_format="DD.MM.YYYY HH:MM",
    ),
    BooleanType("boolean", N_("Yes/no"), "boolean", widget="checkbox"),
    ChoiceType("choice", N_("Choice"), "choice", widget="select"),
    RefType(
        "dictionary", N_("Dictionary item"), "ref", widget="dictionary", refers_to="dictionary"
    ),
    MultiRefType(
        "dictionary_multi",
        N_("Dictionary items"),
        "multi",
        storage="multi",
        widget="dictionary_multi",
        refers_to="dictionary",
        in_tables=False,
    ),
    RefType("link", N_("Link to a document"), "ref", widget="link", refers_to="stream"),
    MultiRefType(
        "links",
        N_("Links to documents"),
        "multi",
        storage="multi",
        widget="links",
        refers_to="stream",
        in_tables=False,
    ),
    RefType("user", N_("User"), "ref", widget="user", refers_to="user"),
    RefType(
        "department",
        N_("Department"),
        "ref",
        widget="department",
        refers_to="department",
        in_tables=False,
    ),
    PatternType(
        "email",
        N_("E-mail"),
        "text",
        widget="email",
        searchable=True,
        regex=EMAIL_RE,
        error=N_("Enter an e-mail address like name@example.com."),
    ),
    PatternType(
        "phone",
        N_("Phone"),
        "text",
        widget="phone",
        searchable=True,
        regex=PHONE_RE,
        error=N_("Enter a phone number: digits, spaces, brackets, dashes and a leading +."),
    ),
    PatternType(
        "url",
        N_("Web address"),
        "text",
        widget="url",
        regex=URL_RE,
        error=N_("Enter a web address starting with http:// or https://."),
    ),
    RequisiteType(
        "requisite",
        N_("Requisite (INN, KPP, OGRN…)"),
        "text",
        widget="requisite",
        searchable=True,
        in_tables=False,
    ),
    NumberType("scale", N_("Scale"), "integer", widget="scale", excel_format="0"),
    NoValueType(
        "files",
        N_("Files"),
        "none",
        storage="multi",
        widget="files",
        refers_to="attachment",
        indexable=False,
        in_tables=False,
    ),
    TableType(
        "table",
        N_("Table"),
        "table",
        storage="child",
        widget="table",
        indexable=False,
        in_tables=False,
    ),
    ComputedType("computed", N_("Computed"), "computed", widget="computed"),
    NoValueType(
        "registration_number",
        N_("Registration number"),
        "text",
        storage="system",
        widget="regnumber",
        searchable=True,
        in_tables=False,
    ),
]
for _built_in in BUILT_IN:
    register(_built_in)


def field_type(key: str) -> FieldType:
    return REGISTRY.get(key)


@dataclass
class Conversion:
    """The outcome of converting stored values to a new type (for the planner's dry run)."""

    converted: list[tuple[Any, Any]] = field(default_factory=list)  # (row id, new value)
    failed: list[tuple[Any, Any, str]] = field(default_factory=list)  # (row id, old, message)


def convert_values(
    source: FieldType,
    source_spec: Mapping[str, Any],
    target: FieldType,
    target_spec: Mapping[str, Any],
    rows: Iterable[tuple[Any, Any]],
) -> Conversion:
    outcome = Conversion()
    for row_id, value in rows:
        try:
            outcome.converted.append((row_id, target.convert(source, target_spec, value)))
        except FieldValueError as error:
            outcome.failed.append((row_id, value, str(error)))
    return outcome
