"""Files on cards (``/s/<stream>/<id>/files``): upload by form (several at once), content
checked against the name, versions, download and preview headers, removal, history — and
who may do what."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from potok.metadata.tables import Attachment
from potok.runtime import attachments
from potok.runtime.tables import DocumentFile, HistoryEntry
from tests.runtime.test_screens import card_id, configured, register, role_user  # noqa: F401

LIMIT = 4096
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
GIF = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 20
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120
TEXT = "Договор, итог: 100 ₽\n".encode()


def zipped(**members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name.replace("__", "/"), content)
    return buffer.getvalue()


DOCX = zipped(**{"[Content_Types].xml": "<Types/>", "word__document.xml": "<w:document/>"})


@pytest.fixture
def settings(settings):
    """Small files are enough: a low limit makes "too large" cheap to test."""
    return settings.replace(max_upload_bytes=LIMIT)


@pytest.fixture
def doc(admin, configured) -> int:  # noqa: F811 (the fixture imported above)
    return card_id(register(admin, {"name": "Romashka"}))


def upload(client, doc_id: int, *files: tuple[str, bytes], htmx: bool = False):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.submit(
        f"/s/clients/{doc_id}/files",
        files=[("files", (name, content, "application/octet-stream")) for name, content in files],
        headers=headers,
    )


def file_ids(html: str) -> dict[str, int]:
    """Current files shown in the panel: name -> id."""
    found = re.findall(
        r'<li class="file" id="file-(\d+)">\s*<div class="list-row">\s*<div>\s*'
        r'<a href="[^"]+" download>([^<]+)</a>',
        html,
    )
    return {name: int(file_id) for file_id, name in found}


def stored_files(settings) -> list[Path]:
    root = settings.data_dir / "files"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def count(db, model) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# Uploading -------------------------------------------------------------------------------


def test_uploading_several_files_lists_them_on_the_card(admin, doc, settings, db):
    response = upload(admin, doc, ("scan.png", PNG), ("Договор №1.pdf", PDF), ("notes.txt", TEXT))
    assert response.status_code == 303
    assert response.headers["location"] == f"/s/clients/{doc}#files"
    card = admin.get(response.headers["location"])
    assert "Files attached: 3." in card.text
    assert set(file_ids(card.text)) == {"scan.png", "Договор №1.pdf", "notes.txt"}
    assert "version 1" in card.text and "Boss" in card.text
    # Kept under random internal names in the data folder, whole.
    paths = stored_files(settings)
    assert len(paths) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", path.name) for path in paths)
    assert sorted(path.read_bytes() for path in paths) == sorted([PNG, PDF, TEXT])
    with db.session() as session:
        types = {row.name: row.content_type for row in session.scalars(select(Attachment))}
    assert types == {
        "scan.png": "image/png",
        "Договор №1.pdf": "application/pdf",
        "notes.txt": "text/plain",
    }


def test_htmx_upload_answers_with_the_panel_alone(admin, doc):
    response = upload(admin, doc, ("report.docx", DOCX), htmx=True)
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="files"' in response.text
    assert "report.docx" in file_ids(response.text)


def test_the_panel_page_works_without_javascript(admin, doc):
    upload(admin, doc, ("scan.png", PNG))
    page = admin.get(f"/s/clients/{doc}/files")
    assert page.status_code == 200 and "<html" in page.text and "scan.png" in page.text
    assert 'enctype="multipart/form-data"' in page.text and "multiple" in page.text
    assert "runtime/files." in page.text  # the drag-and-drop script is loaded


def test_a_file_with_the_same_name_becomes_its_next_version(admin, doc):
    upload(admin, doc, ("scan.png", PNG))
    upload(admin, doc, ("SCAN.png", PNG + b"v2"))
    card = admin.get(f"/s/clients/{doc}").text
    current = file_ids(card)
    assert list(current) == ["SCAN.png"]
    assert "version 2" in card and "Earlier versions (1)" in card
    old = re.search(r'href="(/s/clients/\d+/files/(\d+)/download)" download>version 1<', card)
    assert old is not None
    assert admin.get(old.group(1)).content == PNG
    newest = admin.get(f"/s/clients/{doc}/files/{current['SCAN.png']}/download")
    assert newest.content == PNG + b"v2"


# Refusals --------------------------------------------------------------------------------

REFUSED = [
    pytest.param("invoice.pdf", EXE, "is a program", id="exe-named-pdf"),
    pytest.param("photo.png", EXE, "is a program", id="exe-named-png"),
    pytest.param("invoice.pdf", DOCX, "are not those of a .pdf file", id="zip-named-pdf"),
    pytest.param("photo.png", PDF, "are not those of a .png file", id="pdf-named-png"),
    pytest.param("photo.jpg", TEXT, "are not those of a .jpg file", id="text-named-jpg"),
    pytest.param("notes.txt", PNG, "is not UTF-8 text", id="png-named-txt"),
    pytest.param("notes.csv", b"a,b\n\xff\xfe\n", "is not UTF-8 text", id="latin-csv"),
    pytest.param("setup.exe", b"hello", "files of type .exe cannot", id="exe-extension"),
    pytest.param("page.html", b"<script>alert(1)</script>", "files of type .html", id="html"),
    pytest.param("image.svg", b"<svg/>", "files of type .svg", id="svg"),
    pytest.param("README", b"text", "has no extension", id="no-extension"),
    pytest.param("empty.pdf", b"", "is empty", id="empty"),
    pytest.param("big.pdf", PDF + b"0" * LIMIT, "is larger than 4 KB", id="too-large"),
]


@pytest.mark.parametrize(("name", "content", "message"), REFUSED)
def test_refused_files_say_why_and_nothing_is_saved(
    admin, doc, settings, db, name, content, message
):
    response = upload(admin, doc, ("fine.png", PNG), (name, content))
    assert response.status_code == 400
    assert "Nothing was attached:" in response.text and message in response.text
    assert 'aria-invalid="true"' in response.text
    assert count(db, Attachment) == 0 and count(db, DocumentFile) == 0
    assert stored_files(settings) == []


def test_choosing_no_file_is_refused(admin, doc):
    response = admin.submit(
        f"/s/clients/{doc}/files", files=[("files", ("", b"", "application/octet-stream"))]
    )
    assert response.status_code == 400 and "Choose a file to attach first." in response.text


def test_text_that_starts_like_a_signature_is_still_text(admin, doc):
    # "ID3" opens MP3 files, but this is a CSV: it is checked as text.
    assert upload(admin, doc, ("tags.csv", b"ID3,name\n1,x\n")).status_code == 303


def test_the_limit_never_exceeds_the_request_limit(app, settings):
    from potok.app import services_of

    assert settings.max_upload_bytes <= services_of(app).settings.max_request_bytes
    assert attachments.check("a.txt", io.BytesIO(b"x" * 10), limit=10).size == 10
    with pytest.raises(attachments.FileRefused):
        attachments.check("a.txt", io.BytesIO(b"x" * 11), limit=10)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\fakepath\\report.pdf", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("a\x00b\tc.txt", "a b c.txt"),
        ("  spaced  name .pdf ", "spaced name .pdf"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_names_are_cleaned(raw, clean):
    assert attachments.clean_name(raw) == clean


# Download and preview --------------------------------------------------------------------


def test_download_is_an_attachment_with_nosniff(admin, doc):
    ids = file_ids(upload(admin, doc, ("Договор №1.pdf", PDF), htmx=True).text)
    response = admin.get(f"/s/clients/{doc}/files/{ids['Договор №1.pdf']}/download")
    assert response.status_code == 200 and response.content == PDF
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80%20%E2%84%961.pdf" in (
        disposition
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"] == "application/pdf"
    assert "sandbox" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("name", "content", "shown_as", "sandboxed"),
    [
        pytest.param("scan.png", PNG, "image/png", True, id="png"),
        pytest.param("anim.gif", GIF, "image/gif", True, id="gif"),
        pytest.param("scan.pdf", PDF, "application/pdf", False, id="pdf"),
        pytest.param("notes.md", b"# <b>Title</b>\n", "text/plain; charset=utf-8", True, id="md"),
        pytest.param("data.json", b'{"a": 1}', "text/plain; charset=utf-8", True, id="json"),
    ],
)
def test_preview_shows_safe_kinds_inline(admin, doc, name, content, shown_as, sandboxed):
    ids = file_ids(upload(admin, doc, (name, content), htmx=True).text)
    response = admin.get(f"/s/clients/{doc}/files/{ids[name]}/preview")
    assert response.status_code == 200 and response.content == content
    assert response.headers["content-type"] == shown_as
    assert response.headers["content-disposition"].startswith("inline;")
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert policy.startswith("sandbox") is sandboxed
    assert "default-src 'none'" in policy and "script-src" not in policy


def test_other_kinds_are_only_downloaded(admin, doc):
    panel = upload(admin, doc, ("report.docx", DOCX), htmx=True).text
    file_id = file_ids(panel)["report.docx"]
    assert "/preview" not in panel
    response = admin.get(f"/s/clients/{doc}/files/{file_id}/preview")
    assert response.status_code == 303
    assert response.headers["location"] == f"/s/clients/{doc}/files/{file_id}/download"


# Removing and history --------------------------------------------------------------------


def test_removing_a_file_hides_all_its_versions_and_keeps_the_bytes(admin, doc, settings):
    upload(admin, doc, ("scan.png", PNG))
    ids = file_ids(upload(admin, doc, ("scan.png", PNG + b"2"), htmx=True).text)
    removed = admin.submit(f"/s/clients/{doc}/files/{ids['scan.png']}/delete")
    assert removed.status_code == 303
    card = admin.get(removed.headers["location"]).text
    assert "File “scan.png” removed." in card and "No files yet." in card
    for file_id in (ids["scan.png"], ids["scan.png"] - 1):
        assert admin.get(f"/s/clients/{doc}/files/{file_id}/download").status_code == 404
    assert len(stored_files(settings)) == 2
    # The same name afterwards starts anew.
    assert "version 1" in upload(admin, doc, ("scan.png", PNG), htmx=True).text


def test_history_records_added_new_version_and_removed(admin, doc, db):
    upload(admin, doc, ("scan.png", PNG))
    ids = file_ids(upload(admin, doc, ("scan.png", PNG + b"2"), htmx=True).text)
    admin.submit(f"/s/clients/{doc}/files/{ids['scan.png']}/delete")
    with db.session() as session:
        entries = session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.doc_id == doc, HistoryEntry.action.like("file_%"))
            .order_by(HistoryEntry.id)
        ).all()
        seen = [(entry.action, entry.changes, entry.user_name) for entry in entries]
    assert seen == [
        ("file_add", {"file": {"name": "scan.png", "version": 1, "size": len(PNG)}}, "boss"),
        (
            "file_version",
            {"file": {"name": "scan.png", "version": 2, "size": len(PNG) + 1}},
            "boss",
        ),
        ("file_remove", {"file": {"name": "scan.png"}}, "boss"),
    ]
    assert admin.get(f"/s/clients/{doc}/history").status_code == 200


def test_a_refused_upload_leaves_no_history(admin, doc, db):
    upload(admin, doc, ("invoice.pdf", EXE))
    with db.session() as session:
        assert session.scalar(select(func.count()).where(HistoryEntry.action.like("file_%"))) == 0


# Who may do what -------------------------------------------------------------------------


def test_a_reader_downloads_but_does_not_upload_or_remove(
    admin, doc, as_user, create_user, db, clock
):
    ids = file_ids(upload(admin, doc, ("scan.png", PNG), htmx=True).text)
    viewer = role_user(as_user, create_user, db, clock, "vera", "viewer")
    card = viewer.get(f"/s/clients/{doc}").text
    panel = card.split('id="files"')[1].split("</section>")[0]
    assert "scan.png" in panel
    assert 'name="files"' not in panel and "/delete" not in panel
    assert viewer.get(f"/s/clients/{doc}/files/{ids['scan.png']}/download").content == PNG
    assert viewer.get(f"/s/clients/{doc}/files/{ids['scan.png']}/preview").status_code == 200
    assert upload(viewer, doc, ("more.png", PNG)).status_code == 403
    assert viewer.submit(f"/s/clients/{doc}/files/{ids['scan.png']}/delete").status_code == 403
    assert count(db, DocumentFile) == 1


def test_another_users_document_is_404_on_every_files_url(
    admin,
    configured,  # noqa: F811
    as_user,
    create_user,
    db,
    clock,
):
    olga = role_user(as_user, create_user, db, clock, "olga", "manager")
    mark = role_user(as_user, create_user, db, clock, "mark", "manager")
    theirs = card_id(register(olga, {"name": "Olga's client"}))
    mine = card_id(register(mark, {"name": "Mark's client"}))
    ids = file_ids(upload(olga, theirs, ("secret.pdf", PDF), htmx=True).text)
    file_id = ids["secret.pdf"]
    for response in (
        mark.get(f"/s/clients/{theirs}/files"),
        upload(mark, theirs, ("more.png", PNG)),
        mark.get(f"/s/clients/{theirs}/files/{file_id}/download"),
        mark.get(f"/s/clients/{theirs}/files/{file_id}/preview"),
        mark.submit(f"/s/clients/{theirs}/files/{file_id}/delete"),
        # Their file through my own document's URLs is no better.
        mark.get(f"/s/clients/{mine}/files/{file_id}/download"),
        mark.get(f"/s/clients/{mine}/files/{file_id}/preview"),
        mark.submit(f"/s/clients/{mine}/files/{file_id}/delete"),
    ):
        assert response.status_code == 404
        assert "secret" not in response.text and response.content != PDF
    assert count(db, DocumentFile) == 1


def test_files_of_a_trashed_document_are_404(admin, doc):
    ids = file_ids(upload(admin, doc, ("scan.png", PNG), htmx=True).text)
    admin.submit(f"/s/clients/{doc}/delete")
    assert admin.get(f"/s/clients/{doc}/files/{ids['scan.png']}/download").status_code == 404
    assert upload(admin, doc, ("more.png", PNG)).status_code == 404


def test_forged_file_ids_are_404(admin, doc):
    for file_id in (0, 999999, 2**31, 10**20):
        assert admin.get(f"/s/clients/{doc}/files/{file_id}/download").status_code == 404
        assert admin.submit(f"/s/clients/{doc}/files/{file_id}/delete").status_code == 404
