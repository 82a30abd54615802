"""Notifications and the controller's view: one notification per cause, written with the
transition (a double submit or a timer fired twice makes one, a refused decision none), the
bell's count, the list, marking read, someone else's notification; overdue tasks of the
people a controller or head of department controls, and no one else's."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from potok.errors import NotFound
from potok.platform.i18n import Catalogs
from potok.platform.models import Department, Notification
from potok.runtime import control, notifications
from potok.runtime.routing import tasks, timers
from potok.runtime.routing.errors import CommentRequired
from tests.conftest import Client
from tests.runtime.routing import test_inbox
from tests.runtime.routing.conftest import NOW, World, chain, edge, node, route
from tests.runtime.routing.test_inbox import Office, decide, doc, visa

office = test_inbox.office  # the inbox tests' company, with passwords, as a fixture


def notes(world: World, name: str) -> list[tuple[str, str]]:
    """(kind, English text) of a person's notifications, oldest first."""
    translator = Catalogs("en", "UTC").translator("en")
    with world.db.session() as session:
        found = session.scalars(
            select(Notification)
            .where(Notification.user_id == world.users[name])
            .order_by(Notification.id)
        ).all()
        return [(item.kind, notifications.text_of(item, translator)) for item in found]


def sweep(world: World, minutes: int) -> None:
    with world.db.session(write=True) as session:
        timers.sweep_timers(session, world.env, now=NOW + timedelta(minutes=minutes))


# Who is told what, once -------------------------------------------------------------------


def test_a_task_notifies_its_assignee_and_a_double_submit_tells_the_author_once(
    world: World,
) -> None:
    world.publish(chain("visa", node("visa", "approval", executors=[{"role": "legal"}])))
    instance = world.start("visa", world.document())
    assert notes(world, "legal") == [("task", "New task: Visa")]
    assert notes(world, "author") == []  # they started it themselves
    task = world.task(instance, "visa")
    world.decide(task, "legal", "approve")
    world.decide(task, "legal", "approve")  # a double click
    assert notes(world, "author") == [("finished", "The route visa of your document is completed")]
    assert notes(world, "legal") == [("task", "New task: Visa")]  # not of their own decision


def test_a_refused_decision_writes_no_notification(world: World) -> None:
    world.publish(chain("visa", node("visa", "approval", executors=[{"role": "legal"}])))
    instance = world.start("visa", world.document())
    with pytest.raises(CommentRequired):
        world.decide(world.task(instance, "visa"), "legal", "reject")
    assert notes(world, "author") == []


def test_a_deputy_and_the_absent_owner_are_both_told(world: World) -> None:
    world.deputy("legal", "manager", NOW.date() - timedelta(days=1), NOW.date() + timedelta(days=1))
    world.publish(chain("visa", node("visa", "approval", executors=[{"role": "legal"}])))
    world.start("visa", world.document())
    assert notes(world, "manager") == [("task", "New task: Visa, for Legal")]
    assert notes(world, "legal") == [("task", "New task: Visa")]


def test_return_for_revision_tells_the_author_and_resubmit_the_approver(world: World) -> None:
    world.publish(chain("visa", node("visa", "approval", executors=[{"role": "legal"}])))
    instance = world.start("visa", world.document())
    world.decide(world.task(instance, "visa"), "legal", "return_for_revision", "Fix the amount")
    assert notes(world, "author") == [
        ("revision", "Your document is returned to you for revision: Visa")
    ]
    world.decide(world.task(instance, "visa", "author"), "author", "resubmit")
    assert notes(world, "legal") == [("task", "New task: Visa"), ("task", "New task: Visa")]


def test_a_delegated_task_tells_the_colleague_and_comes_back_to_its_owner(world: World) -> None:
    world.publish(chain("visa", node("visa", "approval", executors=[{"role": "legal"}])))
    instance = world.start("visa", world.document())
    task = world.task(instance, "visa")
    with world.db.session(write=True) as session:
        child = tasks.delegate(
            session, world.env, task, world.actor("legal"), world.users["cfo"], now=NOW
        ).id
    assert notes(world, "cfo") == [("delegated", "A colleague delegated a task to you: Visa")]
    world.decide(child, "cfo", "complete")
    assert notes(world, "legal")[-1] == (
        "returned",
        "The delegated task is back with you to decide: Visa",
    )


def test_reminders_and_overdue_notices_once_each_to_assignee_and_controller(
    world: World,
) -> None:
    world.publish(
        chain(
            "visa",
            node(
                "visa",
                "approval",
                executors=[{"role": "legal"}],
                deadline={"working_hours": 4},
                reminders=[{"working_hours": 1}],
                controller={"user": "cfo"},
            ),
        )
    )
    world.start("visa", world.document())
    sweep(world, 200)
    sweep(world, 200)  # the same timer swept twice
    assert [kind for kind, _ in notes(world, "legal")] == ["task", "reminder"]
    assert notes(world, "legal")[1][1].startswith("Reminder: your task Visa is due 12/2/26")
    sweep(world, 300)
    sweep(world, 360)
    assert [kind for kind, _ in notes(world, "legal")] == ["task", "reminder", "overdue"]
    assert notes(world, "cfo") == [
        ("overdue", "Overdue: the task of Legal at step Visa was due 12/2/26, 2:00\u202fPM")
    ]


def test_a_route_needing_attention_tells_the_author(world: World) -> None:
    world.publish(chain("visa", node("visa", "approval", executors=[{"role": "nobody"}])))
    world.start("visa", world.document(), by="manager")
    assert notes(world, "author") == [
        ("needs_attention", "The route visa of your document stopped and needs attention")
    ]


def test_a_movement_rolled_back_leaves_no_notification_of_its_tasks(world: World) -> None:
    world.publish(
        route(
            "both",
            node("start", "start"),
            node("fork", "split"),
            node("visa", "approval", executors=[{"role": "legal"}]),
            node("check", "approval", executors=[{"role": "nobody"}]),
            node("meet", "join"),
            node("end", "end"),
            edges=[
                edge("start", "fork"),
                edge("fork", "visa"),
                edge("fork", "check"),
                edge("visa", "meet"),
                edge("check", "meet"),
                edge("meet", "end"),
            ],
        )
    )
    instance = world.start("both", world.document(), by="manager")
    assert world.instance(instance).status == "needs_attention"
    assert notes(world, "legal") == []
    assert [kind for kind, _ in notes(world, "author")] == ["needs_attention"]


def test_the_text_follows_the_readers_language(world: World) -> None:
    world.publish(chain("visa", node("visa", "approval", executors=[{"role": "legal"}])))
    world.start("visa", world.document())
    with world.db.session() as session:
        item = session.scalars(select(Notification)).one()
        item.params["step"]["ru"] = "Виза"
        russian = notifications.text_of(item, Catalogs("en", "UTC").translator("ru"))
    assert "Виза" in russian and "Visa" not in russian


# Count, pages, marking read ----------------------------------------------------------------


def test_count_pages_and_marking_read(world: World) -> None:
    user = world.users["legal"]
    with world.db.session(write=True) as session:
        for number in range(7):
            notifications.notify(
                session,
                user,
                "task",
                stream="contracts",
                doc_id=number + 1,
                text=notifications.NEW_TASK,
                params={"step": f"Step {number}"},
                now=NOW,
            )
    with world.db.session(write=True) as session:
        assert notifications.unread_count(session, user) == 7
        first = notifications.page(session, user, limit=3)
        second = notifications.page(session, user, before=first.next_before, limit=3)
        third = notifications.page(session, user, before=second.next_before, limit=3)
        ids = [item.id for item in first.items + second.items + third.items]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 7
        assert third.next_before is None
        notifications.mark_read(session, user, ids[0], now=NOW)
        notifications.mark_read(session, user, ids[0], now=NOW + timedelta(hours=1))
        assert notifications.unread_count(session, user) == 6
        with pytest.raises(NotFound):
            notifications.mark_read(session, world.users["cfo"], ids[1], now=NOW)
        assert notifications.mark_all_read(session, user, now=NOW) == 6
        assert notifications.unread_count(session, user) == 0
        assert session.get(Notification, ids[0]).read_at == NOW  # type: ignore[union-attr]


# Through the web --------------------------------------------------------------------------


def bell(page: str) -> str:
    found = re.search(r'class="topbar-bell[^"]*"[^>]*>.*?</a>', page, re.S)
    assert found is not None
    return found.group(0)


def test_the_bell_the_list_and_opening_a_notification(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    instance = office.route(doc(office, "Supply contract"))
    office.route(doc(office, "Lease of the warehouse"))
    legal = office.client("legal")
    home = legal.get("/").text
    assert "Notifications (2)" in bell(home) and ">2</span>" in bell(home)
    assert "Notifications (2)" not in home.split('id="main-nav"')[1].split("</nav>")[0]
    page = legal.get("/notifications").text
    assert page.count("notification-unread") == 2 and "New task: Visa" in page
    assert page.index("Lease of the warehouse") < page.index("Supply contract")  # newest first
    ids = [int(i) for i in re.findall(r'href="/notifications/(\d+)"', page)]
    task = office.world.task(instance, "visa")
    opened = legal.get(f"/notifications/{ids[1]}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/inbox/{task}"
    page = legal.get("/notifications").text
    assert page.count("notification-unread") == 1 and "Notifications (1)" in bell(page)
    assert office.client("cfo").get(f"/notifications/{ids[0]}").status_code == 404
    assert legal.get("/notifications").text.count("notification-unread") == 1
    assert legal.get("/notifications/99999999999").status_code == 404
    assert legal.get("/notifications/0").status_code == 404
    done = legal.submit("/notifications/read", {})
    assert done.status_code == 303
    page = legal.get("/notifications").text
    assert "notification-unread" not in page and "Notifications (" not in bell(page)
    assert "Mark all as read" not in page


def test_a_notification_of_a_task_no_longer_mine_opens_the_document(office: Office) -> None:
    visa(office, executors=[{"user": "legal"}], controller={"user": "cfo"})
    instance = office.route(doc(office))
    task = office.world.task(instance, "visa")
    assert decide(office.client("cfo"), task, "reassign", user=office.world.users["ceo"])
    legal = office.client("legal")
    first = re.findall(r'href="/notifications/(\d+)"', legal.get("/notifications").text)[0]
    opened = legal.get(f"/notifications/{first}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"].startswith("/s/contracts/")
    ceo_page = office.client("ceo").get("/notifications").text
    assert "A task is given to you: Visa" in ceo_page


def test_mark_all_read_needs_the_csrf_token_and_a_login(
    office: Office, make_client: Callable[[], Client]
) -> None:
    visa(office, executors=[{"role": "legal"}])
    office.route(doc(office))
    legal = office.client("legal")
    assert legal.post("/notifications/read").status_code == 403
    assert "Notifications (1)" in bell(legal.get("/").text)
    anonymous = make_client()
    assert anonymous.get("/notifications", follow_redirects=False).status_code in (302, 303)


def test_show_more_pages_the_list(office: Office) -> None:
    user = office.world.users["legal"]
    with office.world.db.session(write=True) as session:
        for number in range(notifications.PAGE_SIZE + 5):
            notifications.notify(
                session,
                user,
                "task",
                stream="contracts",
                doc_id=number + 1,
                text=notifications.NEW_TASK,
                params={"step": f"Step {number:02d}"},
                now=office.clock(),
            )
    legal = office.client("legal")
    page = legal.get("/notifications").text
    assert page.count('class="notification-row') == notifications.PAGE_SIZE
    more = re.search(r'href="(/notifications\?before=\d+)"', page)
    assert more is not None and "Step 34" in page and "Step 04" not in page
    rest = legal.get(more.group(1), headers={"HX-Request": "true"}).text
    assert (
        rest.count('class="notification-row') == 5 and "Step 04" in rest and "Step 05" not in rest
    )
    assert "<html" not in rest


# The controller's view ------------------------------------------------------------------------


def test_the_controller_view_lists_only_overdue_tasks_i_control(office: Office) -> None:
    office.world.department("Legal", "ceo", "legal")
    visa(office, executors=[{"user": "legal"}])
    late = office.world.task(office.route(doc(office, "Late contract")), "visa")
    fresh = office.world.task(office.route(doc(office, "Fresh contract")), "visa")
    office.deadline(late, hours=-50)
    office.deadline(fresh, hours=5)
    office.world.publish(
        chain(
            "check",
            node("check", "approval", executors=[{"user": "manager"}], controller={"user": "cfo"}),
        )
    )
    checked = office.world.task(office.route(doc(office, "Checked contract"), "check"), "check")
    office.deadline(checked, hours=-1)

    ceo = office.client("ceo")
    page = ceo.get("/inbox/control").text
    assert "Late contract" in page and "Fresh contract" not in page
    assert "Checked contract" not in page  # the manager is not in the CEO's department
    assert f'href="/inbox/{late}"' in page and "Legal" in page and "overdue by 2 days" in page
    assert "/inbox/control" in ceo.get("/inbox").text

    cfo_page = office.client("cfo").get("/inbox/control").text
    assert "Checked contract" in cfo_page and "Late contract" not in cfo_page

    secretary = office.client("secretary")
    assert "/inbox/control" not in secretary.get("/inbox").text
    assert "No overdue tasks" in secretary.get("/inbox/control").text
    assert "Late contract" not in office.client("legal").get("/inbox/control").text


def test_people_headed_follows_the_department_tree(world: World) -> None:
    world.user("boss")
    world.user("clerk")
    top = world.department("Top", "boss", "ceo")
    legal = world.department("Legal", "legal", "legal", "clerk")
    with world.db.session(write=True) as session:
        department = session.get(Department, legal)
        assert department is not None
        department.parent_id = top
    with world.db.session() as session:
        assert control.people_headed(session, world.users["boss"]) == {
            world.users["ceo"],
            world.users["legal"],  # the head of a department under theirs
        }
        assert control.people_headed(session, world.users["legal"]) == {world.users["clerk"]}
        assert control.people_headed(session, world.users["clerk"]) == set()
        assert control.controls_anything(session, world.users["boss"])
        assert not control.controls_anything(session, world.users["clerk"])


def test_the_controller_view_needs_a_login(
    office: Office, make_client: Callable[[], Client]
) -> None:
    response = make_client().get("/inbox/control", follow_redirects=False)
    assert response.status_code in (302, 303)
