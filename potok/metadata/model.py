"""The typed model of metadata objects, read from their (schema-valid) JSON documents.

The JSON document stays the stored truth; these frozen views give the runtime and the
compiler named attributes instead of dictionary lookups. Build them with :func:`read` after
:func:`potok.metadata.schema.check_document` found no problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from potok.metadata.types import FieldType, field_type

# System columns every stream table has; field keys may not take these names.
SYSTEM_COLUMNS = (
    "id",
    "reg_number",
    "reg_year",
    "author_id",
    "created_at",
    "updated_at",
    "version",
    "deleted",
    "deleted_at",
    "search_text",
)
RESERVED_KEYS = frozenset(
    {
        *SYSTEM_COLUMNS,
        "author",
        "created",
        "updated",
        "number",
        "doc",
        "document",
        "stream",
        "position",
        "row",
        "value",
        "today",
        "now",
        "true",
        "false",
        "null",
        "none",
    }
)


def label(labels: Mapping[str, str], language: str) -> str:
    return str(labels.get(language) or labels.get("en") or labels.get("ru") or "")


@dataclass(frozen=True)
class Field:
    key: str
    type: str
    labels: Mapping[str, str]
    spec: Mapping[str, Any]  # the whole field document, for type-specific properties

    @property
    def field_type(self) -> FieldType:
        return field_type(self.type)

    @property
    def storage(self) -> str:
        return self.field_type.storage

    def flag(self, name: str) -> bool:
        return bool(self.spec.get(name, False))

    @property
    def columns(self) -> tuple[Field, ...]:
        """The columns of a table field."""
        return tuple(_field(column) for column in self.spec.get("columns", ()))

    def label(self, language: str) -> str:
        return label(self.labels, language)


def _field(document: Mapping[str, Any]) -> Field:
    return Field(document["key"], document["type"], document["labels"], document)


@dataclass(frozen=True)
class Stream:
    key: str
    labels: Mapping[str, str]
    fields: tuple[Field, ...]
    document: Mapping[str, Any] = field(repr=False)

    def field(self, key: str) -> Field:
        for candidate in self.fields:
            if candidate.key == key:
                return candidate
        raise KeyError(key)

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    @property
    def numbering(self) -> Mapping[str, Any]:
        return self.document.get("numbering") or {"template": "{counter}", "reset": "never"}

    @property
    def title_field(self) -> str | None:
        explicit = self.document.get("title_field")
        if explicit:
            return str(explicit)
        for candidate in self.fields:
            if candidate.type in ("text", "registration_number"):
                return candidate.key
        return None

    def label(self, language: str) -> str:
        return label(self.labels, language)


@dataclass(frozen=True)
class Layout:
    key: str
    stream: str
    document: Mapping[str, Any] = field(repr=False)

    def placed_fields(self) -> Iterator[tuple[str, str]]:
        """(path, field key) for every field the layout places."""
        for t, tab in enumerate(self.document["tabs"]):
            for s, section in enumerate(tab["sections"]):
                for c, column in enumerate(section["columns"]):
                    for i, key in enumerate(column):
                        yield f"tabs[{t}].sections[{s}].columns[{c}][{i}]", key


@dataclass(frozen=True)
class Dictionary:
    key: str
    labels: Mapping[str, str]
    tree: bool
    document: Mapping[str, Any] = field(repr=False)


def read_stream(document: Mapping[str, Any]) -> Stream:
    return Stream(
        key=document["key"],
        labels=document["labels"],
        fields=tuple(_field(item) for item in document["fields"]),
        document=document,
    )


def read_layout(document: Mapping[str, Any]) -> Layout:
    return Layout(document["key"], document["stream"], document)


def read_dictionary(document: Mapping[str, Any]) -> Dictionary:
    return Dictionary(document["key"], document["labels"], bool(document.get("tree")), document)
