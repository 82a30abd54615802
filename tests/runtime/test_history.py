"""The history screen (``/s/<stream>/<id>/history``): every kind of entry as a readable line
in English and Russian — fields registered and changed, links added and removed, sharing,
files attached, replaced and removed, the trash — with hidden fields left out and a linked
document that is gone or not the reader's shown as its number, never a link or a 500."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import select

from potok.runtime.tables import DocumentFile, DocumentLink, HistoryEntry
from tests.builders import Publisher, field, labels, stream
from tests.platform.test_i18n import to_russian
from tests.runtime.test_screens import role_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40

GRANTS = {
    "grants": [
        {"role": "manager", "read": "own", "edit": "own", "create": True},
        {"role": "viewer", "read": "all"},
    ],
    "fields": [{"role": "viewer", "field": "secret", "access": "hidden"}],
}


@pytest.fixture
def configured(publisher: Publisher) -> None:
    publisher.publish(
        stream(
            "clients",
            field("name", required=True, labels=labels("Name", "Наименование")),
            field("secret", labels=labels("Margin note", "Пометка о марже")),
            numbering={"template": "CL-{counter:4}"},
            labels=labels("Clients", "Клиенты"),
            access=GRANTS,
        ),
        stream(
            "works",
            field("subject", required=True, labels=labels("Subject", "Тема")),
            numbering={"template": "W-{counter}"},
            labels=labels("Works", "Работы"),
            access={"grants": GRANTS["grants"]},
        ),
    )


def new(client, stream_key: str, data: dict) -> int:
    response = client.submit(f"/s/{stream_key}/new", data)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def link(client, stream_key: str, doc_id: int, target: str, kind: str = "related") -> None:
    response = client.submit(
        f"/s/{stream_key}/{doc_id}/links/add",
        {"to": target, "kind": kind, "to_stream": target.split(":")[0]},
    )
    assert response.status_code == 303, response.text


def entries(page: str) -> list[tuple[str, str, str]]:
    """The history's entries, newest first: (action, the entry's text, its HTML)."""
    found = []
    for block in page.split('<li class="panel history-entry"')[1:]:
        block = block.split("</ol>", 1)[0]
        action = re.match(r' data-action="([a-z_]+)"', block).group(1)
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", block.split(">", 1)[1]))
        found.append((action, " ".join(text.split()), block))
    return found


EXPECTED = {
    "en": [
        ("restore", "Restored from the trash", []),
        ("delete", "Moved to the trash", []),
        ("file_remove", "File removed", ["File: scan.png"]),
        ("file_version", "New version of a file", ["File: scan.png (version 2)"]),
        ("file_add", "File attached", ["File: scan.png"]),
        ("unshare", "Sharing stopped", ["Person: Anna Petrova"]),
        ("share", "Shared", ["Person: Anna Petrova"]),
        ("unlink", "Link removed", ["Based on: W-1 (Works)"]),
        ("link", "Link added", ["Based on: W-1 (Works)"]),
        ("update", "Changed", ["Name: Romashka → Romashka Ltd"]),
        ("create", "Registered", ["Name: Romashka", "Margin note: thin"]),
    ],
    "ru": [
        ("restore", "Восстановлен из корзины", []),
        ("delete", "Перемещён в корзину", []),
        ("file_remove", "Файл удалён", ["Файл: scan.png"]),
        ("file_version", "Новая версия файла", ["Файл: scan.png (версия 2)"]),
        ("file_add", "Прикреплён файл", ["Файл: scan.png"]),
        ("unshare", "Доступ закрыт", ["Пользователь: Anna Petrova"]),
        ("share", "Открыт доступ", ["Пользователь: Anna Petrova"]),
        ("unlink", "Связь удалена", ["На основании: W-1 (Работы)"]),
        ("link", "Добавлена связь", ["На основании: W-1 (Работы)"]),
        ("update", "Изменён", ["Наименование: Romashka → Romashka Ltd"]),
        ("create", "Зарегистрирован", ["Наименование: Romashka", "Пометка о марже: thin"]),
    ],
}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_action_is_a_readable_line(admin, create_user, db, configured, language):
    anna = create_user("anna", full_name="Anna Petrova")
    doc = new(admin, "clients", {"name": "Romashka", "secret": "thin"})
    work = new(admin, "works", {"subject": "Audit"})
    edited = admin.submit(f"/s/clients/{doc}/edit", {"name": "Romashka Ltd", "_version": "1"})
    assert edited.status_code == 303, edited.text
    link(admin, "clients", doc, f"works:{work}", "based_on")
    with db.session() as session:
        link_id = session.scalar(select(DocumentLink.id))
    assert admin.submit(f"/s/clients/{doc}/links/{link_id}/delete").status_code == 303
    assert admin.submit(f"/s/clients/{doc}/shares", {"user": str(anna)}).status_code == 303
    assert admin.submit(f"/s/clients/{doc}/shares/{anna}/delete").status_code == 303
    for content in (PNG, PNG + b"2"):
        files = [("files", ("scan.png", content, "application/octet-stream"))]
        assert admin.submit(f"/s/clients/{doc}/files", files=files).status_code == 303
    with db.session() as session:
        file_id = session.scalar(select(DocumentFile.id).where(DocumentFile.current.is_(True)))
    assert admin.submit(f"/s/clients/{doc}/files/{file_id}/delete").status_code == 303
    assert admin.submit(f"/s/clients/{doc}/delete").status_code == 303
    assert admin.submit(f"/s/clients/{doc}/restore").status_code == 303

    if language == "ru":
        to_russian(admin)
    response = admin.get(f"/s/clients/{doc}/history")
    assert response.status_code == 200
    shown = entries(response.text)
    assert [action for action, _, _ in shown] == [action for action, _, _ in EXPECTED[language]]
    for (_, text, _), (action, title, lines) in zip(shown, EXPECTED[language], strict=True):
        assert text.startswith(f"{title} · "), (action, text)
        assert text.endswith(" ".join(lines)), (action, text)
    # The linked document is a link to its card while it may be opened.
    linked = {action: block for action, _, block in shown}
    assert f'href="/s/works/{work}"' in linked["link"]
    untranslated = ("Link added", "File attached", "Sharing stopped", "Person:", "File:")
    if language == "ru":
        assert not [word for word in untranslated if word in response.text]


def test_hidden_fields_stay_hidden(admin, as_user, create_user, db, clock, configured):
    doc = new(admin, "clients", {"name": "Romashka", "secret": "thin"})
    edited = admin.submit(
        f"/s/clients/{doc}/edit", {"name": "Romashka", "secret": "thick", "_version": "1"}
    )
    assert edited.status_code == 303, edited.text
    viewer = role_user(as_user, create_user, db, clock, "vera", "viewer")
    page = viewer.get(f"/s/clients/{doc}/history")
    assert page.status_code == 200
    shown = entries(page.text)
    assert [(action, text.split(" · ")[0]) for action, text, _ in shown] == [
        ("update", "Changed"),
        ("create", "Registered"),
    ]
    assert "Margin note" not in page.text and "thin" not in page.text and "thick" not in page.text
    assert "Name: Romashka" in shown[1][1]
    # The administrator sees the same entries with the field.
    seen_by_admin = entries(admin.get(f"/s/clients/{doc}/history").text)
    assert seen_by_admin[0][1].endswith("Margin note: thin → thick")


def test_a_linked_document_in_the_trash_is_a_plain_number(admin, configured):
    doc = new(admin, "clients", {"name": "Romashka"})
    work = new(admin, "works", {"subject": "Audit"})
    link(admin, "clients", doc, f"works:{work}", "reply_to")
    before = entries(admin.get(f"/s/clients/{doc}/history").text)
    assert f'href="/s/works/{work}"' in before[0][2]
    assert admin.submit(f"/s/works/{work}/delete").status_code == 303
    response = admin.get(f"/s/clients/{doc}/history")
    assert response.status_code == 200
    action, text, block = entries(response.text)[0]
    assert action == "link" and text.endswith("Reply to: W-1")
    assert f'href="/s/works/{work}"' not in block


def test_a_linked_document_the_reader_may_not_open_is_a_plain_number(
    admin, as_user, create_user, db, clock, configured
):
    manager = role_user(as_user, create_user, db, clock, "max", "manager")
    mine = new(manager, "clients", {"name": "Mine"})
    theirs = new(admin, "works", {"subject": "Secret audit"})
    link(admin, "works", theirs, f"clients:{mine}", "based_on")
    response = manager.get(f"/s/clients/{mine}/history")
    assert response.status_code == 200
    action, text, block = entries(response.text)[0]
    assert action == "link" and text.endswith("Basis for: W-1")
    assert "/s/works/" not in block and "Secret audit" not in response.text
    # The administrator, who may read it, gets the link.
    assert f'href="/s/works/{theirs}"' in admin.get(f"/s/clients/{mine}/history").text


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(
            {
                "link": {
                    "kind": "based_on",
                    "direction": "out",
                    "stream": "gone",
                    "id": 5,
                    "number": "G-5",
                }
            },
            id="gone-stream",
        ),
        pytest.param({"link": {"kind": "friend", "stream": "works", "id": 2**40}}, id="huge-id"),
        pytest.param({"link": {"kind": "related", "stream": "works", "id": "x"}}, id="bad-id"),
        pytest.param({"link": "nonsense"}, id="not-a-dict"),
        pytest.param({"file": None}, id="no-file"),
    ],
)
def test_odd_or_stale_entries_never_break_the_page(admin, db, clock, configured, changes):
    doc = new(admin, "clients", {"name": "Romashka"})
    action = "file_add" if "file" in changes else "link"
    with db.session(write=True) as session:
        session.add(
            HistoryEntry(
                stream="clients",
                doc_id=doc,
                at=clock(),
                user_id=None,
                user_name="gone",
                action=action,
                changes=changes,
            )
        )
    response = admin.get(f"/s/clients/{doc}/history")
    assert response.status_code == 200
    newest_action, text, block = entries(response.text)[0]
    assert newest_action == action and "href" not in block
    if "G-5" in str(changes):
        assert text.endswith("Based on: G-5")
