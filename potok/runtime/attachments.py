"""Files attached to documents: what may be attached, where the bytes live, versions and
removal — each change recorded in the document's history. Nothing here knows about HTTP;
checking that the user may read or edit the document is the caller's part.

*What may be attached* is decided by the contents, not by the name: the extension names a
kind of file (:data:`KINDS`), and the first bytes must be that kind's (detected with the
``filetype`` library; Office's old binary formats by their compound-file signature). Text
kinds have no signature: they must decode as UTF-8 and hold no control characters. Programs
are refused whatever they are called; extensions not in :data:`KINDS` are refused too.

*Storage*: the bytes go to ``<data_dir>/files/<xx>/<32 hex digits>`` under a random name
(never the user's), written to a temporary file and renamed into place, so a reader never
sees half a file. The database keeps the user's name, the checked type, size and SHA-256.

*Versions*: a file uploaded under the name of a current file of the same document (letter
case aside) becomes that file's next version; the older versions stay listed and
downloadable. Removing a file marks it and its versions deleted; the bytes are kept.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import secrets
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import filetype
from sqlalchemy import select
from sqlalchemy.orm import Session

from potok.errors import N_, BadRequest, NotFound, ValidationFailed
from potok.metadata.tables import Attachment
from potok.platform.audit import Actor
from potok.platform.i18n import ByteSize
from potok.platform.models import User
from potok.runtime.documents import record_history
from potok.runtime.streams import StreamRuntime
from potok.runtime.tables import DocumentFile
from potok.settings import Settings

CHUNK = 64 * 1024
HEAD = 8192  # what filetype looks at
MAX_NAME = 255
OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # the old binary Office formats
ZIP_OFFICE = "zip"  # an Office Open XML or OpenDocument file filetype could not name better
PROGRAMS = frozenset({"exe", "elf", "crx", "deb", "rpm", "wasm", "swf", "nes"})
TEXT_PLAIN = "text/plain; charset=utf-8"
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass(frozen=True)
class Kind:
    """A kind of file that may be attached: its type as stored and sent, and what the
    contents may be detected as (``text``: no signature, UTF-8 without control characters)."""

    content_type: str
    detected: frozenset[str] = frozenset()
    text: bool = False


def _binary(content_type: str, *detected: str) -> Kind:
    return Kind(content_type, frozenset(detected))


def _text(content_type: str) -> Kind:
    return Kind(content_type, text=True)


_OLE = ("ole", "doc", "xls", "ppt")
KINDS: dict[str, Kind] = {
    "pdf": _binary("application/pdf", "pdf"),
    "png": _binary("image/png", "png"),
    "jpg": _binary("image/jpeg", "jpg"),
    "jpeg": _binary("image/jpeg", "jpg"),
    "gif": _binary("image/gif", "gif"),
    "webp": _binary("image/webp", "webp"),
    "bmp": _binary("image/bmp", "bmp"),
    "tif": _binary("image/tiff", "tif"),
    "tiff": _binary("image/tiff", "tif"),
    "heic": _binary("image/heic", "heic"),
    "doc": _binary("application/msword", *_OLE),
    "xls": _binary("application/vnd.ms-excel", *_OLE),
    "ppt": _binary("application/vnd.ms-powerpoint", *_OLE),
    "msg": _binary("application/vnd.ms-outlook", *_OLE),
    "docx": _binary(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
        ZIP_OFFICE,
    ),
    "xlsx": _binary(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", ZIP_OFFICE
    ),
    "pptx": _binary(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pptx",
        ZIP_OFFICE,
    ),
    "odt": _binary("application/vnd.oasis.opendocument.text", "odt", ZIP_OFFICE),
    "ods": _binary("application/vnd.oasis.opendocument.spreadsheet", "ods", ZIP_OFFICE),
    "odp": _binary("application/vnd.oasis.opendocument.presentation", "odp", ZIP_OFFICE),
    "rtf": _binary("application/rtf", "rtf"),
    "zip": _binary("application/zip", "zip"),
    "7z": _binary("application/x-7z-compressed", "7z"),
    "rar": _binary("application/vnd.rar", "rar"),
    "mp3": _binary("audio/mpeg", "mp3"),
    "m4a": _binary("audio/mp4", "m4a"),
    "wav": _binary("audio/wav", "wav"),
    "mp4": _binary("video/mp4", "mp4", "m4v"),
    "mov": _binary("video/quicktime", "mov"),
    "txt": _text("text/plain"),
    "log": _text("text/plain"),
    "csv": _text("text/csv"),
    "tsv": _text("text/tab-separated-values"),
    "md": _text("text/markdown"),
    "json": _text("application/json"),
    "xml": _text("application/xml"),
}


class FileRefused(ValidationFailed):
    """One file that cannot be attached, and why (a message id with ``params``)."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message, params=params)


class FilesRefused(BadRequest):
    """Files that cannot be attached; ``problems`` says why for each. Nothing was saved."""

    message = N_("Some files cannot be attached; nothing was saved.")

    def __init__(self, problems: Sequence[FileRefused]) -> None:
        self.problems = list(problems)
        super().__init__()


# Checking ----------------------------------------------------------------------------------


def clean_name(raw: str) -> str:
    """The name a file is listed and downloaded under: no folders, no control characters,
    Unicode composed, at most :data:`MAX_NAME` characters (the extension kept)."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(" " if unicodedata.category(char)[0] in "CZ" else char for char in name)
    name = re.sub(r" +", " ", name).strip(" .")
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        keep = MAX_NAME - len(extension) - 1
        name = f"{stem[:keep]}.{extension}" if dot and 0 < len(extension) < 16 else name[:MAX_NAME]
    return name


def extension_of(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def detect(head: bytes) -> str | None:
    """What the first bytes say the file is (an extension such as ``pdf``), or None."""
    found = filetype.guess_extension(head)
    if head.startswith(OLE_SIGNATURE) and found in (None, "doc", "xls", "ppt"):
        return "ole"
    return str(found) if found else None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Checked:
    """A file that may be attached, as the checks saw it."""

    name: str
    kind: Kind
    size: int
    sha256: str


def check(raw_name: str, source: BinaryIO, *, limit: int) -> Checked:
    """Read ``source`` through and decide whether it may be attached under ``raw_name``;
    raises :class:`FileRefused` saying why not. ``source`` is left at its end."""
    name = clean_name(raw_name)
    extension = extension_of(name)
    shown = name or "?"
    if not extension:
        raise FileRefused(N_("“%(name)s” has no extension such as .pdf or .docx."), name=shown)
    digest = hashlib.sha256()
    head = b""
    size = 0
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    is_text = True
    source.seek(0)
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise FileRefused(
                N_("“%(name)s” is larger than %(limit)s."), name=shown, limit=ByteSize(limit)
            )
        digest.update(chunk)
        if len(head) < HEAD:
            head += chunk[: HEAD - len(head)]
        if is_text:
            try:
                is_text = not _CONTROL.search(decoder.decode(chunk))
            except UnicodeDecodeError:
                is_text = False
    if size == 0:
        raise FileRefused(N_("“%(name)s” is empty."), name=shown)
    if is_text:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            is_text = False
    detected = detect(head)
    if detected in PROGRAMS and not is_text:
        raise FileRefused(N_("“%(name)s” is a program; programs cannot be attached."), name=shown)
    kind = KINDS.get(extension)
    if kind is None:
        raise FileRefused(
            N_("“%(name)s”: files of type .%(extension)s cannot be attached."),
            name=shown,
            extension=extension,
        )
    if kind.text:
        if not is_text:
            raise FileRefused(
                N_("“%(name)s” is not UTF-8 text, as a .%(extension)s file should be."),
                name=shown,
                extension=extension,
            )
    elif detected not in kind.detected:
        raise FileRefused(
            N_("The contents of “%(name)s” are not those of a .%(extension)s file."),
            name=shown,
            extension=extension,
        )
    return Checked(name, kind, size, digest.hexdigest())


# Storage -----------------------------------------------------------------------------------

_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}")


@dataclass(frozen=True)
class FileStore:
    """Attachment bytes under ``root``, each under a random internal name."""

    root: Path

    @classmethod
    def of(cls, settings: Settings) -> FileStore:
        return cls(settings.data_dir / "files")

    def put(self, source: BinaryIO) -> str:
        """Copy ``source`` (from its start) into the store; returns the new storage key."""
        name = secrets.token_hex(16)
        key = f"{name[:2]}/{name}"
        folder = self.root / name[:2]
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{name}.part"
        source.seek(0)
        try:
            with partial.open("xb") as target:
                shutil.copyfileobj(source, target, CHUNK)
                target.flush()
                os.fsync(target.fileno())
            os.replace(partial, folder / name)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return key

    def path(self, key: str) -> Path:
        """Where the file ``key`` lives; :class:`NotFound` for a malformed or missing key."""
        if not _KEY.fullmatch(key):
            raise NotFound()
        found = self.root / key
        if not found.is_file():
            raise NotFound()
        return found

    def discard(self, key: str) -> None:
        if _KEY.fullmatch(key):
            (self.root / key).unlink(missing_ok=True)


# Reading -----------------------------------------------------------------------------------


@dataclass
class FileVersion:
    """One version of an attached file, as the card lists it."""

    id: int
    name: str
    version: int
    size: int
    content_type: str
    author: str
    created_at: datetime
    current: bool

    @property
    def preview_type(self) -> str | None:
        return preview_type(self.content_type)


@dataclass
class AttachedFile:
    """A file of a document: its current version and the older ones, newest first."""

    current: FileVersion
    older: list[FileVersion] = field(default_factory=list)


def preview_type(content_type: str) -> str | None:
    """The type a file is shown inline as, or None when it is only downloaded: images a
    browser shows safely, PDF, and any text as plain text (never HTML or SVG)."""
    if content_type in INLINE_IMAGES or content_type == "application/pdf":
        return content_type
    text_types = {kind.content_type for kind in KINDS.values() if kind.text}
    if content_type in text_types:
        return TEXT_PLAIN
    return None


def _versions(session: Session, stream: str, doc_id: int) -> list[FileVersion]:
    rows = session.execute(
        select(DocumentFile, Attachment, User.full_name, User.username)
        .join(Attachment, Attachment.id == DocumentFile.attachment_id)
        .outerjoin(User, User.id == Attachment.author_id)
        .where(
            DocumentFile.stream == stream,
            DocumentFile.doc_id == doc_id,
            DocumentFile.deleted.is_(False),
        )
        .order_by(DocumentFile.version.desc(), DocumentFile.id.desc())
    ).all()
    return [
        FileVersion(
            id=entry.id,
            name=attachment.name,
            version=entry.version,
            size=attachment.size,
            content_type=attachment.content_type,
            author=full_name or username or "—",
            created_at=attachment.created_at,
            current=entry.current,
        )
        for entry, attachment, full_name, username in rows
    ]


def files_of(session: Session, stream: str, doc_id: int) -> list[AttachedFile]:
    """The document's files (not removed), by name, each with its older versions."""
    versions = _versions(session, stream, doc_id)
    groups: dict[str, AttachedFile] = {}
    for version in versions:
        if version.current:
            groups[version.name.casefold()] = AttachedFile(version)
    for version in versions:
        group = groups.get(version.name.casefold())
        if group is not None and not version.current:
            group.older.append(version)
    return sorted(groups.values(), key=lambda group: group.current.name.casefold())


def find(session: Session, stream: str, doc_id: int, file_id: int) -> Attachment:
    """The stored file behind ``file_id`` of this document (any version, not removed)."""
    entry = session.get(DocumentFile, file_id)
    if entry is None or entry.deleted or (entry.stream, entry.doc_id) != (stream, doc_id):
        raise NotFound()
    attachment = session.get(Attachment, entry.attachment_id)
    if attachment is None:
        raise NotFound()
    return attachment


# Writing -----------------------------------------------------------------------------------


def _lock_document(session: Session, runtime: StreamRuntime, doc_id: int) -> None:
    """Serialise file changes of one document (version numbers are read, then written)."""
    table = runtime.compiled.table
    found = session.scalar(
        select(table.c.id).where(table.c.id == doc_id, table.c.deleted.is_(False)).with_for_update()
    )
    if found is None:
        raise NotFound()


def attach(
    session: Session,
    store: FileStore,
    runtime: StreamRuntime,
    doc_id: int,
    uploads: Sequence[tuple[str, BinaryIO]],
    *,
    limit: int,
    actor: Actor,
    now: datetime,
) -> list[DocumentFile]:
    """Check every upload (``(name, stream)`` pairs), then store them all and list them on
    the document — or, when any is refused, raise :class:`FilesRefused` having saved none."""
    if not uploads:
        raise FilesRefused([FileRefused(N_("Choose a file to attach first."))])
    checked, problems = [], []
    for raw_name, source in uploads:
        try:
            checked.append((check(raw_name, source, limit=limit), source))
        except FileRefused as problem:
            problems.append(problem)
    if problems:
        raise FilesRefused(problems)
    _lock_document(session, runtime, doc_id)
    current = {  # casefolded name -> (entry id, version)
        row.name.casefold(): (row.id, row.version)
        for row in _versions(session, runtime.key, doc_id)
        if row.current
    }
    stored: list[str] = []
    added: list[DocumentFile] = []
    try:
        for item, source in checked:
            key = store.put(source)
            stored.append(key)
            attachment = Attachment(
                name=item.name,
                content_type=item.kind.content_type,
                size=item.size,
                sha256=item.sha256,
                storage_key=key,
                author_id=actor.user_id,
                created_at=now,
            )
            session.add(attachment)
            session.flush()
            previous = current.get(item.name.casefold())
            version = 1
            if previous is not None:
                previous_id, previous_version = previous
                version = previous_version + 1
                old = session.get(DocumentFile, previous_id)
                if old is not None:
                    old.current = False
            entry = DocumentFile(
                stream=runtime.key,
                doc_id=doc_id,
                attachment_id=attachment.id,
                version=version,
                current=True,
                deleted=False,
            )
            session.add(entry)
            session.flush()
            current[item.name.casefold()] = (entry.id, version)
            added.append(entry)
            action = "file_add" if version == 1 else "file_version"
            details = {"name": item.name, "version": version, "size": item.size}
            record_history(session, runtime.key, doc_id, actor, now, action, {"file": details})
    except BaseException:
        for key in stored:
            store.discard(key)
        raise
    return added


def remove(
    session: Session,
    runtime: StreamRuntime,
    doc_id: int,
    file_id: int,
    *,
    actor: Actor,
    now: datetime,
) -> str:
    """Mark the file ``file_id`` (given by any of its versions) and all its versions
    removed; returns its name. The bytes stay in the store."""
    _lock_document(session, runtime, doc_id)
    name = find(session, runtime.key, doc_id, file_id).name
    removed = 0
    for version in _versions(session, runtime.key, doc_id):
        if version.name.casefold() == name.casefold():
            entry = session.get(DocumentFile, version.id)
            if entry is not None:
                entry.deleted = True
                entry.current = False
                removed += 1
    session.flush()
    record_history(
        session, runtime.key, doc_id, actor, now, "file_remove", {"file": {"name": name}}
    )
    return name
