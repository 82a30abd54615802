"""Comments on cards: who may write and delete them, what is refused, and how they show."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from potok.runtime.tables import Comment
from tests.builders import Publisher
from tests.helpers import count, follow
from tests.runtime.test_links import HTMX, new, section, streams, with_role


@pytest.fixture
def configured(publisher: Publisher):
    publisher.publish(*streams())


@pytest.fixture
def work(admin, configured) -> int:
    return new(admin, "works", {"subject": "Repair"})


def test_a_reader_comments_and_the_card_shows_it_escaped_with_line_breaks(
    admin, as_user, db, clock, work
):
    viewer = with_role(as_user, db, clock, "viewer1", "viewer")
    response = viewer.submit(
        f"/s/works/{work}/comments", {"text": "  First line\r\n<b>bold?</b> & more  \n"}
    )
    page = follow(viewer, response)
    assert "Comment added." in page.text
    panel = section(page.text, "comments")
    assert "First line<br>&lt;b&gt;bold?&lt;/b&gt; &amp; more" in panel
    assert "<b>bold?" not in panel
    assert "Viewer1" in panel
    with db.session() as session:
        stored = session.scalar(select(Comment))
        assert stored.text == "First line\n<b>bold?</b> & more"
        assert stored.author_name == "Viewer1"


def test_comments_are_shown_newest_last(admin, clock, work):
    for text in ("one", "two", "three"):
        admin.submit(f"/s/works/{work}/comments", {"text": text})
        clock.advance(minutes=1)
    panel = section(admin.get(f"/s/works/{work}").text, "comments")
    assert panel.index("one") < panel.index("two") < panel.index("three")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "Write a comment first.", id="empty"),
        pytest.param(" \r\n\t ", "Write a comment first.", id="blank"),
        pytest.param("x" * 5001, "at most 5000 characters", id="too-long"),
    ],
)
def test_bad_comments_are_refused(admin, db, work, text, message):
    plain = admin.submit(f"/s/works/{work}/comments", {"text": text})
    assert plain.status_code == 400 and message in plain.text and "<html" in plain.text
    htmx = admin.submit(f"/s/works/{work}/comments", {"text": text}, headers=HTMX)
    assert htmx.status_code == 400 and message in htmx.text
    assert htmx.text.lstrip().startswith('<section class="panel comments-panel" id="comments"')
    assert count(db, Comment) == 0


def test_exactly_the_limit_is_accepted(admin, db, work):
    assert admin.submit(f"/s/works/{work}/comments", {"text": "y" * 5000}).status_code == 303
    assert count(db, Comment) == 1


def test_under_htmx_the_panel_comes_back(admin, work):
    response = admin.submit(f"/s/works/{work}/comments", {"text": "Quick note"}, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text and "Quick note" in response.text


def test_only_the_author_deletes_and_the_comment_is_kept_marked(admin, as_user, db, clock, work):
    viewer = with_role(as_user, db, clock, "viewer1", "viewer")
    viewer.submit(f"/s/works/{work}/comments", {"text": "Mine"})
    with db.session() as session:
        comment_id = session.scalar(select(Comment.id))
    delete_url = f"/s/works/{work}/comments/{comment_id}/delete"
    assert delete_url not in section(admin.get(f"/s/works/{work}").text, "comments")
    assert delete_url in section(viewer.get(f"/s/works/{work}").text, "comments")
    assert admin.submit(delete_url).status_code == 403
    other = new(admin, "works", {"subject": "Other"})
    assert viewer.submit(f"/s/works/{other}/comments/{comment_id}/delete").status_code == 404
    assert viewer.submit(f"/s/works/{work}/comments/999999/delete").status_code == 404
    gone = viewer.submit(delete_url, headers=HTMX)
    assert gone.status_code == 200 and "Mine" not in gone.text
    assert "No comments yet." in gone.text
    assert viewer.submit(delete_url).status_code == 404  # already deleted
    with db.session() as session:
        assert session.scalar(select(Comment.deleted).where(Comment.id == comment_id)) is True


def test_comments_on_documents_one_cannot_read_are_not_found(admin, as_user, db, clock, work):
    admin.submit(f"/s/works/{work}/comments", {"text": "Internal"})
    with db.session() as session:
        comment_id = session.scalar(select(Comment.id))
    manager = with_role(as_user, db, clock, "manager1", "manager")
    assert manager.submit(f"/s/works/{work}/comments", {"text": "Hi"}).status_code == 404
    assert manager.submit(f"/s/works/{work}/comments/{comment_id}/delete").status_code == 404
    assert manager.submit("/s/works/99999999999/comments", {"text": "Hi"}).status_code == 404
    assert manager.submit("/s/nowhere/1/comments", {"text": "Hi"}).status_code == 404
    assert count(db, Comment) == 1


def test_documents_in_the_trash_take_no_comments(admin, db, work):
    assert admin.submit(f"/s/works/{work}/delete").status_code == 303
    assert admin.submit(f"/s/works/{work}/comments", {"text": "Late"}).status_code == 404
    assert count(db, Comment) == 0
