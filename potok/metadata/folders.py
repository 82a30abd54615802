"""Configuration folders: one JSON file per metadata object, ``<kind>/<key>.json``.

A folder round-trips with the database: export writes stable, diff-friendly files (sorted
keys, two-space indent, UTF-8, a final newline), validate checks a folder without touching
the database, and import validates everything first and then applies all of it or nothing.
``potok/seed_configs/sales`` is such a folder. Its ``role/`` files hold the roles its grants
and routes name; they live in the platform's roles table (:mod:`potok.metadata.roles`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from potok.errors import N_
from potok.metadata.schema import KINDS, Problem, problem
from potok.metadata.validate import check_configuration, check_role_names

Key = tuple[str, str]
MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass
class Folder:
    documents: dict[Key, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_folder(path: Path) -> Folder:
    """Every object of a folder; a file that cannot be read becomes a problem, not a crash."""
    folder = Folder()
    if not path.is_dir():
        folder.problems.append(problem(str(path), N_("There is no folder here.")))
        return folder
    for file in sorted(path.rglob("*")):
        if file.is_dir():
            continue
        relative = file.relative_to(path).as_posix()
        if file.name.startswith(".") or file.name.lower() in ("readme.md", "readme.txt"):
            continue
        parts = relative.split("/")
        if len(parts) != 2 or parts[0] not in KINDS or not parts[1].endswith(".json"):
            folder.problems.append(
                problem(relative, N_("Expected <kind>/<key>.json with a known kind."))
            )
            continue
        if file.stat().st_size > MAX_FILE_BYTES:
            folder.problems.append(problem(relative, N_("The file is too large.")))
            continue
        try:
            document = json.loads(file.read_text(encoding="utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            folder.problems.append(
                problem(
                    relative, N_("The file is not valid JSON: %(error)s"), error=str(error)[:200]
                )
            )
            continue
        kind, key = parts[0], parts[1].removesuffix(".json")
        if not isinstance(document, dict):
            folder.problems.append(
                problem(relative, N_("A metadata object must be a JSON object."))
            )
            continue
        if document.get("kind") != kind:
            folder.problems.append(
                problem(
                    relative,
                    N_("The file is in folder %(kind)s but its kind is %(other)s."),
                    kind=kind,
                    other=str(document.get("kind"))[:40],
                )
            )
            continue
        folder.documents[(kind, key)] = document
    return folder


def validate_folder(path: Path) -> Folder:
    """Read and check a folder without any database: every problem, with file and path.
    The folder carries the roles it names (``role/<key>.json``); a grant or route executor
    naming another role is a problem."""
    folder = read_folder(path)
    folder.problems += check_configuration(folder.documents)
    folder.problems += check_role_names(folder.documents)
    return folder


def write_folder(path: Path, documents: Mapping[Key, Mapping[str, Any]]) -> list[Path]:
    """Write one file per object (replacing the folder's JSON files of known kinds)."""
    path.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        for old in (path / kind).glob("*.json") if (path / kind).is_dir() else ():
            old.unlink()
    written = []
    for (kind, key), document in sorted(documents.items()):
        target = path / kind / f"{key}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dumps(document), encoding="utf-8")
        written.append(target)
    return written
